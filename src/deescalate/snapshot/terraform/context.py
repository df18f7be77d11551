"""What every effect shares: the context of one pass, doubts, and names and ARNs as AWS derives them.

`Ctx` carries the account being edited, the `World` that resolves values known after apply, and
what the pass learns on the way (notes for the report, `Doubt`s that make edges conditional).
`make_deriver` and `resource_arn` say how AWS names what a plan leaves unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from deescalate.snapshot.terraform.account import (
    Account,
)
from deescalate.snapshot.terraform.plan import UNKNOWN, Instance
from deescalate.snapshot.terraform.world import World

IAM_KINDS = {
    "aws_iam_user": "user",
    "aws_iam_role": "role",
    "aws_iam_group": "group",
    "aws_iam_policy": "policy",
    "aws_iam_instance_profile": "instance-profile",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Doubt:
    """Something a plan leaves open about one ARN: edges through it are conditional on `why`."""

    arn: str
    why: str
    techniques: tuple[str, ...] = ()  # empty: every edge that starts, ends or passes there


@dataclass(slots=True, kw_only=True)
class Ctx:
    acct: Account
    world: World
    region: str
    prior: bool = False  # reading prior state: computed attributes are facts AWS reported
    fill: bool = False  # filling a snapshot from prior state: never overwrite what the snapshot holds
    notes: list[str] = field(default_factory=list)
    doubts: list[Doubt] = field(default_factory=list)
    created: set[str] = field(default_factory=set)  # ARNs of principals created by this pass

    def value(self, inst: Instance, key: str) -> Any:
        return self.world.value(inst, key)

    def text(self, inst: Instance, key: str) -> str | None:
        """A string attribute: its value, None when null/empty, UNKNOWN (typed as str) is not returned."""
        v = self.value(inst, key)
        return v if isinstance(v, str) and v else None

    def unknown(self, inst: Instance, key: str) -> bool:
        return self.value(inst, key) is UNKNOWN

    def strings(self, inst: Instance, key: str) -> list[str] | None:
        """A list/set of strings; None when unknown."""
        v = self.value(inst, key)
        if v is UNKNOWN:
            return None
        if isinstance(v, list):
            return [x for x in v if isinstance(x, str)]
        return []

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def region_of(self, inst: Instance) -> str:
        r = inst.values.get("region")
        return r if isinstance(r, str) and r else self.region


# --------------------------------------------------------------------------- names and ARNs


def placeholder(inst: Instance) -> str:
    """The name standing for one AWS will pick at apply time."""
    return f"(known after apply: {inst.address})"


def entity_name(world: World, inst: Instance) -> tuple[str, bool]:
    """(the IAM name, whether it is known); a `name_prefix` or computed name is not."""
    v = world.value(inst, "name")
    if isinstance(v, str) and v:
        return v, True
    prefix = inst.values.get("name_prefix")
    if isinstance(prefix, str) and prefix:
        return f"{prefix}(known after apply: {inst.address})", False
    return placeholder(inst), False


def entity_path(inst: Instance) -> str:
    p = inst.values.get("path")
    return p if isinstance(p, str) and p.startswith("/") and p.endswith("/") else "/"


def make_deriver(acct: Account, default_region: str) -> Callable[[World, Instance, str], Any]:
    """How AWS derives the attributes a plan leaves unknown (the `World` follows references to them)."""

    def derive(world: World, inst: Instance, attr: str) -> Any:
        kind = IAM_KINDS.get(inst.type) if inst.mode == "managed" else None
        if kind is not None:
            name, _ = entity_name(world, inst)
            arn = inst.values.get("arn")
            if not (isinstance(arn, str) and arn.startswith("arn:")) or inst.is_unknown("arn"):
                arn = acct.iam_arn(kind, name, entity_path(inst))
            if attr == "arn" or (attr == "id" and kind == "policy"):
                return arn
            if attr in ("name", "id"):
                return name
            return None
        if inst.type == "aws_iam_policy" and inst.mode == "data" and attr == "arn":
            return None
        region = inst.values.get("region")
        region = region if isinstance(region, str) and region else default_region
        if attr in ("arn", "id") and inst.is_unknown(attr):
            return resource_arn(acct, inst, world, region)
        return None

    return derive


def resource_arn(acct: Account, inst: Instance, world: World, region: str) -> str | None:
    """The ARN AWS gives a technique resource, from its name (a placeholder where AWS picks an id)."""
    p, a = acct.partition, acct.account_id

    def name(key: str) -> str:
        v = world.value(inst, key)
        return v if isinstance(v, str) and v else placeholder(inst)

    def known(key: str) -> str | None:
        v = inst.get(key)
        return v if isinstance(v, str) and v.startswith("arn:") else None

    match inst.type:
        case "aws_instance":
            iid = inst.get("id")
            iid = iid if isinstance(iid, str) and iid else placeholder(inst)
            return f"arn:{p}:ec2:{region}:{a}:instance/{iid}"
        case "aws_lambda_function":
            return known("arn") or f"arn:{p}:lambda:{region}:{a}:function:{name('function_name')}"
        case "aws_glue_dev_endpoint":
            return f"arn:{p}:glue:{region}:{a}:devEndpoint/{name('name')}"
        case "aws_glue_job":
            return f"arn:{p}:glue:{region}:{a}:job/{name('name')}"
        case "aws_sagemaker_notebook_instance":
            # SageMaker ARNs carry the name in lower case.
            return known("arn") or f"arn:{p}:sagemaker:{region}:{a}:notebook-instance/{name('name').lower()}"
        case "aws_cloudformation_stack":
            sid = inst.get("id")
            if isinstance(sid, str) and sid.startswith("arn:"):
                return sid
            # The stack id ends in a UUID AWS picks at creation.
            return f"arn:{p}:cloudformation:{region}:{a}:stack/{name('name')}/(known after apply)"
        case "aws_codebuild_project":
            return known("arn") or f"arn:{p}:codebuild:{region}:{a}:project/{name('name')}"
        case "aws_ecs_cluster":
            return known("arn") or f"arn:{p}:ecs:{region}:{a}:cluster/{name('name')}"
        case "aws_ecs_task_definition":
            # A new revision's number is known only after apply.
            return (
                known("arn")
                or f"arn:{p}:ecs:{region}:{a}:task-definition/{name('family')}:(known after apply)"
            )
        case "aws_ecs_service":
            sid = inst.get("id")
            if isinstance(sid, str) and sid.startswith("arn:"):
                return sid
            cluster = world.value(inst, "cluster")
            cname = cluster.rsplit("/", 1)[-1] if isinstance(cluster, str) and cluster else "default"
            return f"arn:{p}:ecs:{region}:{a}:service/{cname}/{name('name')}"
    return None
