"""What each AWS provider resource does to the account: add it, remove it, and the ARNs it touches.

One `Effect` per resource type (argument names from the AWS provider's documentation,
https://registry.terraform.io/providers/hashicorp/aws/latest/docs). `add` applies an instance's
values; `remove` undoes an instance's prior values. Entities (users, roles, groups, managed
policies, instance profiles, technique resources) are *upserted*: an update changes the entity
and keeps what other resources attached to it. Relations (inline policies, attachments,
memberships, keys) are removed with their old values and added with their new ones. Exclusive
resources (`aws_iam_policy_attachment`, `aws_iam_group_membership`, `*_exclusive`) set the whole
relation on `add`, and their destruction leaves the account as it is, as the provider documents.

Every effect returns the ARNs it changed, which is how an edge opened by the change is traced back
to the Terraform address that opened it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from deescalate.snapshot.terraform.context import Ctx
from deescalate.snapshot.terraform.plan import Instance
from deescalate.snapshot.terraform.principals import (
    add_data_policy,
    add_group,
    add_policy,
    add_profile,
    add_role,
    add_user,
    remove_group,
    remove_policy,
    remove_profile,
    remove_role,
    remove_user,
)
from deescalate.snapshot.terraform.relations import (
    _attachment_effect,
    _count_effect,
    _exclusive_attachments,
    _exclusive_inline,
    _inline_effect,
    _nothing,
    add_group_membership,
    add_policy_attachment,
    add_user_groups,
    remove_group_membership,
    remove_policy_attachment,
    remove_user_groups,
)
from deescalate.snapshot.terraform.resources import (
    add_lambda_permission,
    add_resource,
    note_launch_template,
    remove_lambda_permission,
    remove_resource,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Effect:
    add: Callable[[Ctx, Instance], set[str]]
    remove: Callable[[Ctx, Instance], set[str]]
    stage: int  # adds run by stage: entities 0, data 1, relations 2, exclusives 3, resources 4
    entity: bool = False  # an update keeps what other resources attached to it


def _effects() -> dict[str, Effect]:
    out: dict[str, Effect] = {
        "aws_iam_user": Effect(add=add_user, remove=remove_user, stage=0, entity=True),
        "aws_iam_role": Effect(add=add_role, remove=remove_role, stage=0, entity=True),
        "aws_iam_group": Effect(add=add_group, remove=remove_group, stage=0, entity=True),
        "aws_iam_policy": Effect(add=add_policy, remove=remove_policy, stage=0, entity=True),
        "aws_iam_instance_profile": Effect(add=add_profile, remove=remove_profile, stage=1, entity=True),
        "aws_iam_policy_attachment": Effect(
            add=add_policy_attachment, remove=remove_policy_attachment, stage=3
        ),
        "aws_iam_user_group_membership": Effect(add=add_user_groups, remove=remove_user_groups, stage=2),
        "aws_iam_group_membership": Effect(add=add_group_membership, remove=remove_group_membership, stage=3),
    }
    for kind in ("user", "role", "group"):
        add, remove = _inline_effect(kind)
        out[f"aws_iam_{kind}_policy"] = Effect(add=add, remove=remove, stage=2)
        add, remove = _attachment_effect(kind)
        out[f"aws_iam_{kind}_policy_attachment"] = Effect(add=add, remove=remove, stage=2)
        out[f"aws_iam_{kind}_policy_attachments_exclusive"] = Effect(
            add=_exclusive_attachments(kind), remove=_nothing, stage=3
        )
        plural = "policies"
        out[f"aws_iam_{kind}_{plural}_exclusive"] = Effect(
            add=_exclusive_inline(kind), remove=_nothing, stage=3
        )
    add, remove = _count_effect("access_key_count")
    out["aws_iam_access_key"] = Effect(add=add, remove=remove, stage=2)
    add, remove = _count_effect("has_login_profile")
    out["aws_iam_user_login_profile"] = Effect(add=add, remove=remove, stage=2)
    for rtype in (
        "aws_instance",
        "aws_lambda_function",
        "aws_glue_dev_endpoint",
        "aws_glue_job",
        "aws_sagemaker_notebook_instance",
        "aws_cloudformation_stack",
        "aws_codebuild_project",
        "aws_ecs_cluster",
    ):
        out[rtype] = Effect(add=add_resource, remove=remove_resource, stage=4, entity=True)
    out["aws_ecs_task_definition"] = Effect(add=add_resource, remove=remove_resource, stage=4, entity=True)
    out["aws_ecs_service"] = Effect(add=add_resource, remove=remove_resource, stage=5, entity=True)
    out["aws_launch_template"] = Effect(add=note_launch_template, remove=_nothing, stage=4)
    out["aws_lambda_permission"] = Effect(add=add_lambda_permission, remove=remove_lambda_permission, stage=6)
    return out


EFFECTS: Mapping[str, Effect] = MappingProxyType(_effects())
DATA_EFFECTS: Mapping[str, Effect] = MappingProxyType(
    {
        "aws_iam_policy": Effect(add=add_data_policy, remove=_nothing, stage=1),
    }
)
