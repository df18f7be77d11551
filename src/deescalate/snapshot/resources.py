"""Regional responses -> `Resource` values (one reader per resource kind).

Each reader takes the kind's files of one region (parsed JSON, with their paths for error messages)
and returns the resources with the roles whose credentials they hold. Files absent for a kind the
manifest lists as collected mean "none of that kind".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from deescalate.arn import name_of
from deescalate.model import InstanceProfile, Policy, PolicyKind, PolicyRef, Resource
from deescalate.snapshot import layout as L
from deescalate.snapshot.iam import policy
from deescalate.snapshot.where import (
    At,
    as_object,
    get_objects,
    get_opt_object,
    get_opt_str,
    get_str,
    get_tags,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Ctx:
    """What a reader needs besides its files."""

    region: str
    account_id: str
    partition: str  # of the account's ARNs: aws, aws-us-gov, aws-cn, ...
    instance_profiles: Mapping[str, InstanceProfile]
    role_arn: Callable[[str], str]  # a role name or ARN -> the role's ARN
    files: Mapping[str, tuple[Any, At]]  # command -> (parsed JSON, position of its top level)

    def doc(self, command: str) -> tuple[dict[str, Any], At] | None:
        if command not in self.files:
            return None
        value, at = self.files[command]
        return as_object(value, at), at

    def objects(self, command: str, name: str) -> list[tuple[At, dict[str, Any]]]:
        """The objects of list `name` in `command`'s response; none when the file is absent."""
        got = self.doc(command)
        return [] if got is None else get_objects(got[0], name, got[1])

    def by_key(self, command: str) -> Iterator[tuple[str, At, dict[str, Any]]]:
        """A `{key: response}` file as (key, position, response object); nothing when absent."""
        got = self.doc(command)
        if got is None:
            return
        doc, top = got
        for key, raw in doc.items():
            at = top.key(key)
            yield key, at, as_object(raw, at)


def _attrs(**values: str | None) -> Mapping[str, str]:
    return MappingProxyType({k: v for k, v in values.items() if v})


def _ec2(ctx: Ctx) -> list[Resource]:
    out = []
    for rat, res in ctx.objects("describe-instances", "Reservations"):
        for at, inst in get_objects(res, "Instances", rat):
            iid = get_str(inst, "InstanceId", at)
            at = at.named(f"instance {iid}")
            prof = get_opt_object(inst, "IamInstanceProfile", at)
            prof_arn = None if prof is None else get_opt_str(prof, "Arn", at.key("IamInstanceProfile"))
            known = ctx.instance_profiles.get(prof_arn) if prof_arn else None
            roles = known.role_arns if known else ()
            state_obj = get_opt_object(inst, "State", at)
            state = None if state_obj is None else get_opt_str(state_obj, "Name", at.key("State"))
            tags = get_tags(inst, at)
            if state == "terminated":  # listed for a while after termination, but gone: no one can use it
                continue
            out.append(
                Resource(
                    kind=L.EC2_INSTANCE,
                    arn=f"arn:{ctx.partition}:ec2:{ctx.region}:{ctx.account_id}:instance/{iid}",
                    region=ctx.region,
                    name=iid,
                    role_arns=roles,
                    attributes=_attrs(instance_profile_arn=prof_arn, state=state, name_tag=tags.get("Name")),
                )
            )
    return out


def _lambda(ctx: Ctx) -> list[Resource]:
    got = ctx.doc("list-functions")
    if got is None:
        return []
    doc, top = got
    policies: dict[str, tuple[Any, At]] = {}
    pol = ctx.doc("get-policy")
    if pol is not None:
        pdoc, ptop = pol
        policies = {k: (v, ptop.key(k)) for k, v in pdoc.items()}
    out = []
    for at, fn in get_objects(doc, "Functions", top):
        name = get_str(fn, "FunctionName", at)
        at = at.named(f"function {name}")
        arn = get_str(fn, "FunctionArn", at)
        resource_policy: Policy | None = None
        if policies.get(name, (None, at))[0] is not None:
            raw, pat = policies[name]
            resp = as_object(raw, pat)
            ref = PolicyRef(kind=PolicyKind.RESOURCE, name=f"{name} function policy", attached_to=arn)
            resource_policy = policy(resp.get("Policy"), ref, pat.key("Policy"))
        role = get_opt_str(fn, "Role", at)
        out.append(
            Resource(
                kind=L.LAMBDA_FUNCTION,
                arn=arn,
                region=ctx.region,
                name=name,
                role_arns=(role,) if role else (),
                policy=resource_policy,
                attributes=_attrs(runtime=get_opt_str(fn, "Runtime", at)),
            )
        )
    return out


def _cloudformation(ctx: Ctx) -> list[Resource]:
    out = []
    for at, st in ctx.objects("describe-stacks", "Stacks"):
        name = get_str(st, "StackName", at)
        at = at.named(f"stack {name}")
        role = get_opt_str(st, "RoleARN", at)
        out.append(
            Resource(
                kind=L.CLOUDFORMATION_STACK,
                arn=get_str(st, "StackId", at),
                region=ctx.region,
                name=name,
                role_arns=(role,) if role else (),
                attributes=_attrs(status=get_opt_str(st, "StackStatus", at)),
            )
        )
    return out


def _codebuild(ctx: Ctx) -> list[Resource]:
    out = []
    for at, p in ctx.objects("batch-get-projects", "projects"):
        name = get_str(p, "name", at)
        at = at.named(f"project {name}")
        role = get_opt_str(p, "serviceRole", at)
        out.append(
            Resource(
                kind=L.CODEBUILD_PROJECT,
                arn=get_str(p, "arn", at),
                region=ctx.region,
                name=name,
                role_arns=(ctx.role_arn(role),) if role else (),
            )
        )
    return out


def _glue_dev_endpoints(ctx: Ctx) -> list[Resource]:
    out = []
    for at, ep in ctx.objects("get-dev-endpoints", "DevEndpoints"):
        name = get_str(ep, "EndpointName", at)
        role = get_opt_str(ep, "RoleArn", at.named(f"dev endpoint {name}"))
        out.append(
            Resource(
                kind=L.GLUE_DEV_ENDPOINT,
                arn=f"arn:{ctx.partition}:glue:{ctx.region}:{ctx.account_id}:devEndpoint/{name}",
                region=ctx.region,
                name=name,
                role_arns=(ctx.role_arn(role),) if role else (),
            )
        )
    return out


def _glue_jobs(ctx: Ctx) -> list[Resource]:
    out = []
    for at, job in ctx.objects("get-jobs", "Jobs"):
        name = get_str(job, "Name", at)
        role = get_opt_str(job, "Role", at.named(f"job {name}"))  # a role name or ARN
        out.append(
            Resource(
                kind=L.GLUE_JOB,
                arn=f"arn:{ctx.partition}:glue:{ctx.region}:{ctx.account_id}:job/{name}",
                region=ctx.region,
                name=name,
                role_arns=(ctx.role_arn(role),) if role else (),
            )
        )
    return out


def _sagemaker(ctx: Ctx) -> list[Resource]:
    out = []
    for name, at, nb in ctx.by_key("describe-notebook-instance"):
        role = get_opt_str(nb, "RoleArn", at)
        out.append(
            Resource(
                kind=L.SAGEMAKER_NOTEBOOK,
                arn=get_str(nb, "NotebookInstanceArn", at),
                region=ctx.region,
                name=name,
                role_arns=(role,) if role else (),
                attributes=_attrs(status=get_opt_str(nb, "NotebookInstanceStatus", at)),
            )
        )
    return out


def _ssm(ctx: Ctx) -> list[Resource]:
    out = []
    for at, info in ctx.objects("describe-instance-information", "InstanceInformationList"):
        iid = get_str(info, "InstanceId", at)
        role = get_opt_str(info, "IamRole", at)  # a role name (on-premises) or absent
        arn = (
            f"arn:{ctx.partition}:ec2:{ctx.region}:{ctx.account_id}:instance/{iid}"
            if iid.startswith("i-")
            else f"arn:{ctx.partition}:ssm:{ctx.region}:{ctx.account_id}:managed-instance/{iid}"
        )
        out.append(
            Resource(
                kind=L.SSM_MANAGED_INSTANCE,
                arn=arn,
                region=ctx.region,
                name=iid,
                role_arns=(ctx.role_arn(role),) if role else (),
                attributes=_attrs(
                    ping_status=get_opt_str(info, "PingStatus", at),
                    platform=get_opt_str(info, "PlatformType", at),
                ),
            )
        )
    return out


def _task_definitions(ctx: Ctx) -> dict[str, Resource]:
    out: dict[str, Resource] = {}
    for _, at, resp in ctx.by_key("describe-task-definition"):
        td = get_opt_object(resp, "taskDefinition", at)
        if td is None:
            raise at.error("missing taskDefinition")
        at = at.key("taskDefinition")
        arn = get_str(td, "taskDefinitionArn", at)
        roles = tuple(
            r for r in (get_opt_str(td, "taskRoleArn", at), get_opt_str(td, "executionRoleArn", at)) if r
        )
        out[arn] = Resource(
            kind=L.ECS_TASK_DEFINITION,
            arn=arn,
            region=ctx.region,
            name=get_str(td, "family", at, default=name_of(arn)),
            role_arns=tuple(dict.fromkeys(ctx.role_arn(r) for r in roles)),
            attributes=_attrs(
                task_role_arn=get_opt_str(td, "taskRoleArn", at),
                execution_role_arn=get_opt_str(td, "executionRoleArn", at),
            ),
        )
    return out


def _ecs(ctx: Ctx) -> list[Resource]:
    out: list[Resource] = []
    for at, c in ctx.objects("describe-clusters", "clusters"):
        arn = get_str(c, "clusterArn", at)
        out.append(
            Resource(
                kind=L.ECS_CLUSTER,
                arn=arn,
                region=ctx.region,
                name=get_str(c, "clusterName", at, default=name_of(arn)),
            )
        )
    tds = _task_definitions(ctx)
    for cluster, cat, listed in ctx.by_key("describe-services"):
        for at, s in get_objects(listed, "services", cat):
            arn = get_str(s, "serviceArn", at)
            td_arn = get_opt_str(s, "taskDefinition", at)
            # A service runs its task definition, so it holds that task definition's roles.
            roles = tds[td_arn].role_arns if td_arn in tds else ()
            out.append(
                Resource(
                    kind=L.ECS_SERVICE,
                    arn=arn,
                    region=ctx.region,
                    name=get_str(s, "serviceName", at, default=name_of(arn)),
                    role_arns=roles,
                    attributes=_attrs(
                        cluster_arn=cluster,
                        task_definition_arn=td_arn,
                        service_role_arn=get_opt_str(s, "roleArn", at),
                    ),
                )
            )
    out.extend(tds.values())
    return out


def _datapipeline(ctx: Ctx) -> list[Resource]:
    out = []
    for at, p in ctx.objects("describe-pipelines", "pipelineDescriptionList"):
        pid = get_str(p, "pipelineId", at)
        fields = {
            get_str(f, "key", w): get_opt_str(f, "stringValue", w) or ""
            for w, f in get_objects(p, "fields", at)
        }
        out.append(
            Resource(
                kind=L.DATAPIPELINE_PIPELINE,
                arn=f"arn:{ctx.partition}:datapipeline:{ctx.region}:{ctx.account_id}:pipeline/{pid}",
                region=ctx.region,
                name=get_str(p, "name", at, default=pid),
                attributes=_attrs(state=fields.get("@pipelineState"), creator=fields.get("@creatorUserArn")),
            )
        )
    return out


# Which reader builds which kinds. ECS reads three kinds at once; it runs once per region.
READERS: tuple[tuple[tuple[str, ...], Callable[[Ctx], list[Resource]]], ...] = (
    ((L.EC2_INSTANCE,), _ec2),
    ((L.LAMBDA_FUNCTION,), _lambda),
    ((L.CLOUDFORMATION_STACK,), _cloudformation),
    ((L.CODEBUILD_PROJECT,), _codebuild),
    ((L.GLUE_DEV_ENDPOINT,), _glue_dev_endpoints),
    ((L.GLUE_JOB,), _glue_jobs),
    ((L.SAGEMAKER_NOTEBOOK,), _sagemaker),
    ((L.SSM_MANAGED_INSTANCE,), _ssm),
    ((L.ECS_CLUSTER, L.ECS_SERVICE, L.ECS_TASK_DEFINITION), _ecs),
    ((L.DATAPIPELINE_PIPELINE,), _datapipeline),
)


def read_region(ctx: Ctx, ok_kinds: frozenset[str]) -> list[Resource]:
    """The resources of one region, of the kinds listed completely (a failed kind gives nothing)."""
    out: list[Resource] = []
    for kinds, reader in READERS:
        if ok_kinds.intersection(kinds):
            out.extend(r for r in reader(ctx) if r.kind in ok_kinds)
    return out
