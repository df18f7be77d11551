"""Put another role on an instance the source can already get a shell on.

X-AssocInstanceProfile:
With iam:PassRole and ec2:AssociateIamInstanceProfile (instance without a profile) or
ec2:ReplaceIamInstanceProfileAssociation (instance with one), the source swaps in the instance
profile of any role that trusts EC2, then reads that role's credentials from the instance's
metadata service through a shell it can open: EC2 Instance Connect, or SSM on an instance SSM
manages. https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/attach-replace-ec2-instance-profile.html

X-AddRoleToInstanceProfile: the same shell, with the role put into the instance profile the
instance already has (iam:AddRoleToInstanceProfile, after RemoveRoleFromInstanceProfile if the
profile holds a role).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from deescalate.analysis.edges.base import (
    Alternative,
    Checker,
    EdgeContext,
    Principal,
    pass_role,
    run_shell_script,
)
from deescalate.analysis.edges.ec2 import EC2, INSTANCE, instance_roles
from deescalate.model import Edge, Grant, Resource, Role

MANAGED = "ssm:managed-instance"
ASSOCIATE = "ec2:AssociateIamInstanceProfile"
REPLACE = "ec2:ReplaceIamInstanceProfileAssociation"
SWAP = "X-AssocInstanceProfile"


def _shells(res: Resource, ssm_managed: bool) -> list[tuple[Grant, ...]]:
    out: list[tuple[Grant, ...]] = [
        (Grant(action="ec2-instance-connect:SendSSHPublicKey", resource=res.arn),)
    ]
    if ssm_managed:
        document = run_shell_script(res)
        out.append((Grant(action="ssm:StartSession", resource=res.arn),))
        out.append(
            (
                Grant(action="ssm:SendCommand", resource=res.arn),
                Grant(action="ssm:SendCommand", resource=document),
            )
        )
    return out


def _profile_edges(
    ctx: EdgeContext,
    source: Principal,
    *,
    technique: str,
    roles: Sequence[Role],
    changes: Callable[[Resource], tuple[Grant, ...] | None],
    description: str,
) -> Iterator[Edge]:
    """Edges source -> each of `roles`, put behind an instance the source can open a shell on.

    `changes(instance)`: the grants that put a passed role behind that instance (None: no way).
    """
    account = source.account_id
    managed = {r.arn for r in ctx.resources(MANAGED, account)}
    ways: list[tuple[Grant, ...]] = []
    for inst in ctx.resources(INSTANCE, account):
        change = changes(inst)
        if change is not None:
            ways.extend((*change, *shell) for shell in _shells(inst, inst.arn in managed))
    if not ways:
        return
    for role in ctx.others(source, roles):
        pass_grant = pass_role(role.arn, EC2)
        candidates: list[Alternative] = [(pass_grant, *way) for way in ways]
        edge = ctx.edge(
            source=source.arn,
            target=role.arn,
            technique=technique,
            candidates=candidates,
            description=description.format(role=role.name),
        )
        if edge is not None:
            yield edge


def swap_profile(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    def change(inst: Resource) -> tuple[Grant, ...]:
        has_profile = bool(inst.role_arns or inst.attributes.get("instance_profile_arn"))
        return (Grant(action=REPLACE if has_profile else ASSOCIATE, resource=inst.arn),)

    yield from _profile_edges(
        ctx,
        source,
        technique=SWAP,
        roles=instance_roles(ctx, source.account_id),
        changes=change,
        description="swap {role}'s instance profile onto an instance it can open a shell on",
    )


def add_to_profile(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    """X-AddRoleToInstanceProfile: put the role into the instance profile an instance already has.

    A profile holds one role, so an occupied one is emptied first (RemoveRoleFromInstanceProfile);
    AddRoleToInstanceProfile needs iam:PassRole on the role.
    https://docs.aws.amazon.com/IAM/latest/APIReference/API_AddRoleToInstanceProfile.html
    Any role trusting EC2 will do: it needs no instance profile of its own.
    """
    profiles = ctx.snapshot.instance_profiles

    def change(inst: Resource) -> tuple[Grant, ...] | None:
        parn = inst.attributes.get("instance_profile_arn")
        if parn is None:
            return None
        profile = profiles.get(parn)
        held = profile.role_arns if profile is not None else inst.role_arns
        empty = (Grant(action="iam:RemoveRoleFromInstanceProfile", resource=parn),) if held else ()
        return (*empty, Grant(action="iam:AddRoleToInstanceProfile", resource=parn))

    yield from _profile_edges(
        ctx,
        source,
        technique="X-AddRoleToInstanceProfile",
        roles=ctx.roles_trusting(EC2, source.account_id),
        changes=change,
        description="put {role} into the instance profile of an instance it can open a shell on",
    )


SHELL_ACTIONS = ("ec2-instance-connect:SendSSHPublicKey", "ssm:StartSession", "ssm:SendCommand")
CHECKERS: tuple[Checker, ...] = (
    Checker(
        technique=SWAP,
        needs=tuple(
            ("iam:PassRole", swap, shell) for swap in (ASSOCIATE, REPLACE) for shell in SHELL_ACTIONS
        ),
        find=swap_profile,
        kinds=(INSTANCE,),
    ),
    Checker(
        technique="X-AddRoleToInstanceProfile",
        needs=tuple(("iam:PassRole", "iam:AddRoleToInstanceProfile", shell) for shell in SHELL_ACTIONS),
        find=add_to_profile,
        kinds=(INSTANCE,),
    ),
)
