"""The resources escalation techniques go through, with the roles whose credentials they hold.

EC2 instances (through their instance profile), Lambda functions, Glue dev endpoints and jobs,
SageMaker notebooks, CloudFormation stacks, CodeBuild projects, ECS clusters, task definitions and
services (a service holds its task definition's roles). Launch templates are noted, not modelled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from deescalate.model import (
    PolicyKind,
    PolicyRef,
    Resource,
)
from deescalate.snapshot import layout as L
from deescalate.snapshot.terraform.account import document
from deescalate.snapshot.terraform.context import Ctx, Doubt, placeholder, resource_arn
from deescalate.snapshot.terraform.plan import UNKNOWN, Instance

# --------------------------------------------------------------------------- technique resources


def _role_of(ctx: Ctx, inst: Instance, key: str) -> tuple[str, ...]:
    v = ctx.value(inst, key)
    if v is UNKNOWN:
        ctx.note(f"{inst.address}: its {key} is known only after apply; the role it holds is not analysed")
        return ()
    if not isinstance(v, str) or not v:
        return ()
    if v.startswith("arn:"):
        return (v,)
    arn = ctx.acct.role_arn(v)
    return (arn,) if arn else (ctx.acct.iam_arn("role", v),)


def _attrs(**values: Any) -> Mapping[str, str]:
    return MappingProxyType({k: v for k, v in values.items() if isinstance(v, str) and v})


def _resource(ctx: Ctx, inst: Instance) -> Resource | None:
    region = ctx.region_of(inst)
    arn = resource_arn(ctx.acct, inst, ctx.world, region)
    if arn is None:
        return None

    def name(key: str) -> str:
        v = ctx.value(inst, key)
        return v if isinstance(v, str) and v else placeholder(inst)

    match inst.type:
        case "aws_instance":
            prof = ctx.value(inst, "iam_instance_profile")
            roles: tuple[str, ...] = ()
            parn: str | None = None
            if prof is UNKNOWN:
                ctx.note(f"{inst.address}: its instance profile is known only after apply; not analysed")
            elif isinstance(prof, str) and prof:
                parn = ctx.acct.profile_arn(prof)
                if parn is None:
                    ctx.note(
                        f"{inst.address}: instance profile {prof} is in neither the plan nor the snapshot"
                    )
                else:
                    roles = ctx.acct.profiles[parn].role_arns
            ctx.doubts.append(
                Doubt(
                    arn=arn,
                    techniques=("ec2-003",),
                    why=f"whether {inst.address} accepts EC2 Instance Connect (its AMI, "
                    "network and security groups) is a runtime fact a plan does not show",
                )
            )
            return Resource(
                kind=L.EC2_INSTANCE,
                arn=arn,
                region=region,
                name=inst.address,
                role_arns=roles,
                attributes=_attrs(instance_profile_arn=parn, state="running"),
            )
        case "aws_lambda_function":
            return Resource(
                kind=L.LAMBDA_FUNCTION,
                arn=arn,
                region=region,
                name=name("function_name"),
                role_arns=_role_of(ctx, inst, "role"),
                attributes=_attrs(runtime=inst.values.get("runtime")),
            )
        case "aws_glue_dev_endpoint":
            return Resource(
                kind=L.GLUE_DEV_ENDPOINT,
                arn=arn,
                region=region,
                name=name("name"),
                role_arns=_role_of(ctx, inst, "role_arn"),
            )
        case "aws_glue_job":
            return Resource(
                kind=L.GLUE_JOB,
                arn=arn,
                region=region,
                name=name("name"),
                role_arns=_role_of(ctx, inst, "role_arn"),
            )
        case "aws_sagemaker_notebook_instance":
            return Resource(
                kind=L.SAGEMAKER_NOTEBOOK,
                arn=arn,
                region=region,
                name=name("name"),
                role_arns=_role_of(ctx, inst, "role_arn"),
                attributes=_attrs(status="InService"),
            )
        case "aws_cloudformation_stack":
            return Resource(
                kind=L.CLOUDFORMATION_STACK,
                arn=arn,
                region=region,
                name=name("name"),
                role_arns=_role_of(ctx, inst, "iam_role_arn"),
            )
        case "aws_codebuild_project":
            return Resource(
                kind=L.CODEBUILD_PROJECT,
                arn=arn,
                region=region,
                name=name("name"),
                role_arns=_role_of(ctx, inst, "service_role"),
            )
        case "aws_ecs_cluster":
            return Resource(kind=L.ECS_CLUSTER, arn=arn, region=region, name=name("name"))
        case "aws_ecs_task_definition":
            task = _role_of(ctx, inst, "task_role_arn")
            execution = _role_of(ctx, inst, "execution_role_arn")
            return Resource(
                kind=L.ECS_TASK_DEFINITION,
                arn=arn,
                region=region,
                name=name("family"),
                role_arns=tuple(dict.fromkeys([*task, *execution])),
                attributes=_attrs(
                    task_role_arn=task[0] if task else None,
                    execution_role_arn=execution[0] if execution else None,
                ),
            )
        case "aws_ecs_service":
            td = ctx.value(inst, "task_definition")
            td_res = _task_definition(ctx, td) if isinstance(td, str) else None
            cluster = ctx.value(inst, "cluster")
            service_role = _role_of(ctx, inst, "iam_role")
            return Resource(
                kind=L.ECS_SERVICE,
                arn=arn,
                region=region,
                name=name("name"),
                role_arns=td_res.role_arns if td_res else (),
                attributes=_attrs(
                    cluster_arn=cluster if isinstance(cluster, str) else None,
                    task_definition_arn=td_res.arn if td_res else None,
                    service_role_arn=service_role[0] if service_role else None,
                ),
            )
    return None


def _task_definition(ctx: Ctx, ref: str) -> Resource | None:
    """A task definition named by ARN, `family:revision` or `family` (the latest ACTIVE revision)."""
    tds = [r for r in ctx.acct.resources.values() if r.kind == L.ECS_TASK_DEFINITION]
    for r in tds:
        if r.arn == ref:
            return r
    family = ref.rsplit("/", 1)[-1].split(":", 1)[0]
    by_family = [r for r in tds if r.name == family]
    return by_family[-1] if by_family else None


def add_resource(ctx: Ctx, inst: Instance) -> set[str]:
    res = _resource(ctx, inst)
    if res is None:
        return set()
    old = ctx.acct.resources.get(res.arn)
    if ctx.fill and old is not None:
        return set()
    if old is not None and old.policy is not None and res.policy is None:
        res = replace(res, policy=old.policy)  # an update keeps the permissions other resources added
    ctx.acct.resources[res.arn] = res
    if res.region not in ctx.acct.regions:
        ctx.acct.regions.append(res.region)
    return {res.arn}


def remove_resource(ctx: Ctx, inst: Instance) -> set[str]:
    arn = resource_arn(ctx.acct, inst, ctx.world, ctx.region_of(inst))
    if arn is None or ctx.acct.resources.pop(arn, None) is None:
        return set()
    return {arn}


def note_launch_template(ctx: Ctx, inst: Instance) -> set[str]:
    ctx.note(
        f"{inst.address}: launch templates are not modelled (the analysis has no technique through an "
        "existing launch template, so its instance profile is not analysed)"
    )
    return set()


# --------------------------------------------------------------------------- Lambda permissions


def _function(ctx: Ctx, inst: Instance) -> Resource | None:
    name = ctx.value(inst, "function_name")
    if not isinstance(name, str) or not name:
        ctx.note(f"{inst.address}: the function it applies to is known only after apply; not analysed")
        return None
    for res in ctx.acct.resources.values():
        if res.kind == L.LAMBDA_FUNCTION and name in (res.arn, res.name):
            return res
    ctx.note(f"{inst.address}: function {name} is in neither the plan nor the snapshot")
    return None


def _statements(res: Resource) -> list[dict[str, Any]]:
    if res.policy is None:
        return []
    doc = res.policy.document_json()
    st = doc.get("Statement", []) if isinstance(doc, dict) else []
    return [x for x in (st if isinstance(st, list) else [st]) if isinstance(x, dict)]


def _with_statements(ctx: Ctx, res: Resource, statements: list[dict[str, Any]], where: str) -> None:
    policy = None
    if statements:
        ref = PolicyRef(kind=PolicyKind.RESOURCE, name=f"{res.name} function policy", attached_to=res.arn)
        policy = document(json.dumps({"Version": "2012-10-17", "Statement": statements}), ref, where)
    ctx.acct.resources[res.arn] = replace(res, policy=policy)


def add_lambda_permission(ctx: Ctx, inst: Instance) -> set[str]:
    """`aws_lambda_permission`: one statement of the function's resource-based policy (AddPermission).

    https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html: the principal is a service,
    an account id, or an ARN; SourceArn and SourceAccount become conditions.
    """
    res = _function(ctx, inst)
    if res is None or (ctx.fill and res.policy is not None):
        return set()
    sid = ctx.value(inst, "statement_id")
    action = ctx.value(inst, "action")
    principal = ctx.value(inst, "principal")
    if not isinstance(action, str) or not isinstance(principal, str) or not principal:
        ctx.note(f"{inst.address}: its action or principal is known only after apply; not analysed")
        return set()
    if principal.isdigit():
        who: dict[str, str] = {"AWS": f"arn:{ctx.acct.partition}:iam::{principal}:root"}
    elif principal.startswith("arn:") or principal == "*":
        who = {"AWS": principal}
    else:
        who = {"Service": principal}
    statement: dict[str, Any] = {
        "Sid": sid if isinstance(sid, str) and sid else inst.address,
        "Effect": "Allow",
        "Principal": who,
        "Action": action,
        "Resource": res.arn,
    }
    condition: dict[str, dict[str, str]] = {}
    source_arn = ctx.value(inst, "source_arn")
    if isinstance(source_arn, str) and source_arn:
        condition["ArnLike"] = {"AWS:SourceArn": source_arn}
    source_account = ctx.value(inst, "source_account")
    if isinstance(source_account, str) and source_account:
        condition["StringEquals"] = {"AWS:SourceAccount": source_account}
    if source_arn is UNKNOWN or source_account is UNKNOWN:
        condition.setdefault("StringEquals", {})["terraform:KnownAfterApply"] = f"{inst.address}.source_arn"
    if condition:
        statement["Condition"] = condition
    kept = [s for s in _statements(res) if s.get("Sid") != statement["Sid"]]
    _with_statements(ctx, res, [*kept, statement], f"{inst.address}")
    return {res.arn}


def remove_lambda_permission(ctx: Ctx, inst: Instance) -> set[str]:
    res = _function(ctx, inst)
    sid = ctx.value(inst, "statement_id")
    if res is None or not isinstance(sid, str):
        return set()
    _with_statements(ctx, res, [s for s in _statements(res) if s.get("Sid") != sid], inst.address)
    return {res.arn}
