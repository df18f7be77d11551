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


def _count(obj: dict[str, Any], key: str, at: At) -> str | None:
    """An integer field as text (attributes are strings), None when absent."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise at.key(key).error(f"expected an integer, found {type(value).__name__}")
    return str(value)


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
                attributes=_attrs(
                    container_instances=_count(c, "registeredContainerInstancesCount", at),
                ),
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
                        execute_command="true" if s.get("enableExecuteCommand") is True else "false",
                        running=_count(s, "runningCount", at),
                        desired=_count(s, "desiredCount", at),
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


def _profile_roles(ctx: Ctx, name_or_arn: str | None) -> tuple[str, ...]:
    """The roles of an instance profile given by ARN or name (none when unknown)."""
    if not name_or_arn:
        return ()
    for arn, prof in ctx.instance_profiles.items():
        if name_or_arn in (arn, prof.name):
            return prof.role_arns
    return ()


def _launch_templates(ctx: Ctx) -> list[Resource]:
    out = []
    defaults: dict[str, tuple[dict[str, Any], At]] = {}
    for lt_id, at, resp in ctx.by_key("describe-launch-template-versions"):
        for vat, version in get_objects(resp, "LaunchTemplateVersions", at):
            defaults[lt_id] = (version, vat)
    for at, lt in ctx.objects("describe-launch-templates", "LaunchTemplates"):
        lt_id = get_str(lt, "LaunchTemplateId", at)
        profile: str | None = None
        if lt_id in defaults:
            version, vat = defaults[lt_id]
            data = get_opt_object(version, "LaunchTemplateData", vat) or {}
            prof = get_opt_object(data, "IamInstanceProfile", vat.key("LaunchTemplateData"))
            if prof is not None:
                pat = vat.key("LaunchTemplateData").key("IamInstanceProfile")
                profile = get_opt_str(prof, "Arn", pat) or get_opt_str(prof, "Name", pat)
        out.append(
            Resource(
                kind=L.EC2_LAUNCH_TEMPLATE,
                arn=f"arn:{_partition(ctx)}:ec2:{ctx.region}:{ctx.account_id}:launch-template/{lt_id}",
                region=ctx.region,
                name=get_str(lt, "LaunchTemplateName", at, default=lt_id),
                role_arns=_profile_roles(ctx, profile),
                attributes=_attrs(instance_profile=profile),
            )
        )
    return out


def _partition(ctx: Ctx) -> str:
    if ctx.region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if ctx.region.startswith("us-gov-") else "aws"


def _batch(ctx: Ctx) -> list[Resource]:
    out = []
    for at, ce in ctx.objects("describe-compute-environments", "computeEnvironments"):
        arn = get_str(ce, "computeEnvironmentArn", at)
        res = get_opt_object(ce, "computeResources", at)
        profile = get_opt_str(res, "instanceRole", at.key("computeResources")) if res is not None else None
        out.append(
            Resource(
                kind=L.BATCH_COMPUTE_ENVIRONMENT,
                arn=arn,
                region=ctx.region,
                name=get_str(ce, "computeEnvironmentName", at, default=arn.rsplit("/", 1)[-1]),
                role_arns=_profile_roles(ctx, profile),
                attributes=_attrs(
                    state=get_opt_str(ce, "state", at), service_role_arn=get_opt_str(ce, "serviceRole", at)
                ),
            )
        )
    for at, q in ctx.objects("describe-job-queues", "jobQueues"):
        arn = get_str(q, "jobQueueArn", at)
        out.append(
            Resource(
                kind=L.BATCH_JOB_QUEUE,
                arn=arn,
                region=ctx.region,
                name=get_str(q, "jobQueueName", at, default=arn.rsplit("/", 1)[-1]),
                attributes=_attrs(state=get_opt_str(q, "state", at), status=get_opt_str(q, "status", at)),
            )
        )
    for at, jd in ctx.objects("describe-job-definitions", "jobDefinitions"):
        arn = get_str(jd, "jobDefinitionArn", at)
        container = get_opt_object(jd, "containerProperties", at)
        cat = at.key("containerProperties")
        job_role = get_opt_str(container, "jobRoleArn", cat) if container is not None else None
        out.append(
            Resource(
                kind=L.BATCH_JOB_DEFINITION,
                arn=arn,
                region=ctx.region,
                name=get_str(jd, "jobDefinitionName", at, default=arn.rsplit("/", 1)[-1]),
                role_arns=(ctx.role_arn(job_role),) if job_role else (),
                attributes=_attrs(job_role_arn=ctx.role_arn(job_role) if job_role else None),
            )
        )
    return out


def _tag_match(filters: list[tuple[str, str, str]], tags: Mapping[str, str]) -> bool:
    # CodeDeploy's EC2 tag filters (any one matches): KEY_ONLY, VALUE_ONLY, KEY_AND_VALUE.
    # https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_EC2TagFilter.html
    for key, value, kind in filters:
        if kind == "KEY_ONLY" and key in tags:
            return True
        if kind == "VALUE_ONLY" and value in tags.values():
            return True
        if kind == "KEY_AND_VALUE" and tags.get(key) == value:
            return True
    return False


def _codedeploy(ctx: Ctx) -> list[Resource]:
    instances: list[tuple[dict[str, str], tuple[str, ...]]] = []
    for rat, res in ctx.objects("describe-instances", "Reservations"):
        for at, inst in get_objects(res, "Instances", rat):
            prof = get_opt_object(inst, "IamInstanceProfile", at)
            parn = None if prof is None else get_opt_str(prof, "Arn", at.key("IamInstanceProfile"))
            instances.append((get_tags(inst, at), _profile_roles(ctx, parn)))
    out = []
    for key, at, resp in ctx.by_key("get-deployment-group"):
        info = get_opt_object(resp, "deploymentGroupInfo", at)
        if info is None:
            raise at.error("missing deploymentGroupInfo")
        at = at.key("deploymentGroupInfo")
        app = get_str(info, "applicationName", at, default=key.split("/", 1)[0])
        group = get_str(info, "deploymentGroupName", at, default=key.split("/", 1)[-1])
        filters = [
            (
                get_str(f, "Key", w, default=""),
                get_str(f, "Value", w, default=""),
                get_str(f, "Type", w, default=""),
            )
            for w, f in get_objects(info, "ec2TagFilters", at)
        ]
        roles = tuple(dict.fromkeys(r for tags, rs in instances if _tag_match(filters, tags) for r in rs))
        asgs = [get_str(a, "name", w, default="") for w, a in get_objects(info, "autoScalingGroups", at)]
        out.append(
            Resource(
                kind=L.CODEDEPLOY_DEPLOYMENT_GROUP,
                arn=f"arn:{_partition(ctx)}:codedeploy:{ctx.region}:{ctx.account_id}:deploymentgroup:{app}/{group}",
                region=ctx.region,
                name=f"{app}/{group}",
                role_arns=roles,
                attributes=_attrs(
                    service_role_arn=get_opt_str(info, "serviceRoleArn", at),
                    auto_scaling_groups=",".join(a for a in asgs if a) or None,
                ),
            )
        )
    return out


def _apprunner(ctx: Ctx) -> list[Resource]:
    out = []
    for arn, at, resp in ctx.by_key("describe-service"):
        svc = get_opt_object(resp, "Service", at)
        if svc is None:
            raise at.error("missing Service")
        at = at.key("Service")
        conf = get_opt_object(svc, "InstanceConfiguration", at)
        cat = at.key("InstanceConfiguration")
        role = get_opt_str(conf, "InstanceRoleArn", cat) if conf is not None else None
        out.append(
            Resource(
                kind=L.APPRUNNER_SERVICE,
                arn=get_str(svc, "ServiceArn", at, default=arn),
                region=ctx.region,
                name=get_str(svc, "ServiceName", at, default=arn.rsplit("/", 2)[-2]),
                role_arns=(ctx.role_arn(role),) if role else (),
                attributes=_attrs(status=get_opt_str(svc, "Status", at)),
            )
        )
    return out


def _agentcore(ctx: Ctx) -> list[Resource]:
    out = []
    for rid, at, resp in ctx.by_key("get-agent-runtime"):
        # The SAR's runtime ARN is built from the runtime id (runtime/${RuntimeId}).
        runtime_id = get_str(resp, "agentRuntimeId", at, default=rid)
        arn = f"arn:{_partition(ctx)}:bedrock-agentcore:{ctx.region}:{ctx.account_id}:runtime/{runtime_id}"
        role = get_opt_str(resp, "roleArn", at)
        out.append(
            Resource(
                kind=L.AGENTCORE_RUNTIME,
                arn=arn,
                region=ctx.region,
                name=get_str(resp, "agentRuntimeName", at, default=rid),
                role_arns=(ctx.role_arn(role),) if role else (),
                attributes=_attrs(status=get_opt_str(resp, "status", at)),
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
    ((L.EC2_LAUNCH_TEMPLATE,), _launch_templates),
    ((L.BATCH_COMPUTE_ENVIRONMENT, L.BATCH_JOB_QUEUE, L.BATCH_JOB_DEFINITION), _batch),
    ((L.CODEDEPLOY_DEPLOYMENT_GROUP,), _codedeploy),
    ((L.APPRUNNER_SERVICE,), _apprunner),
    ((L.AGENTCORE_RUNTIME,), _agentcore),
)


def read_region(ctx: Ctx, ok_kinds: frozenset[str]) -> list[Resource]:
    """The resources of one region, of the kinds listed completely (a failed kind gives nothing)."""
    out: list[Resource] = []
    for kinds, reader in READERS:
        if ok_kinds.intersection(kinds):
            out.extend(r for r in reader(ctx) if r.kind in ok_kinds)
    return out
