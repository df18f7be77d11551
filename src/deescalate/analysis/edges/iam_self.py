"""IAM techniques by which a principal rewrites its own permissions (edges to ADMIN).

Writing a policy of one's own (inline, attached, a group's, a new version of an attached customer
managed policy) gives whatever that policy says, so the edge needs no check of what the policies
contain — except that a permissions boundary that does not allow everything still caps the
result (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html):
such principals get no self-edge here (lifting the boundary is X-Boundary, in guards.py).
AttachXPolicy needs an admin-grade managed policy to exist: AdministratorAccess always does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from deescalate.analysis.admins import administrator_access, boundary_caps, policy_grants_admin
from deescalate.analysis.edges.base import Checker, EdgeContext, Principal, new_resource
from deescalate.analysis.edges.iam_others import assume_blocked
from deescalate.arn import account_of, partition_of
from deescalate.model import ADMIN, Edge, Grant, ManagedPolicy, User


def admin_policies(ctx: EdgeContext, account: str) -> list[str]:
    """Managed policies whose attachment makes the holder admin: AdministratorAccess plus any
    customer policy of the account that grants everything (a condition on iam:PolicyARN may allow
    only those)."""
    policies = ctx.snapshot.policies
    key = (id(policies), account)  # a what-if with changed policies gets its own answer
    hit = ctx.index.admin_policies.get(key)
    if hit is not None and hit[0] is policies:
        return hit[1]
    full = administrator_access(ctx.snapshot.partition)
    out = [full]
    for mp in policies.values():
        if (
            mp.arn != full
            and account_of(mp.arn) in (account, "aws")
            and (policy_grants_admin([mp.document]))
        ):
            out.append(mp.arn)
    result = sorted(set(out))
    ctx.index.admin_policies[key] = (policies, result)
    return result


def attach(action: str, target: str, policies: list[str]) -> list[tuple[Grant, ...]]:
    # The request names the policy: a condition on iam:PolicyARN may allow one and not another.
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#ck_PolicyARN
    return [(Grant(action=action, resource=target, context=(("iam:PolicyARN", (p,)),)),) for p in policies]


def _uncapped(ctx: EdgeContext, source: Principal) -> bool:
    return boundary_caps(ctx.snapshot, source) is None


def put_self(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    if not _uncapped(ctx, source):
        return
    technique, action = (
        ("iam-007", "iam:PutUserPolicy") if isinstance(source, User) else ("iam-005", "iam:PutRolePolicy")
    )
    edge = ctx.edge(
        source=source.arn,
        target=ADMIN,
        technique=technique,
        candidates=[(Grant(action=action, resource=source.arn),)],
        description=f"write an inline admin policy on itself ({action})",
    )
    if edge is not None:
        yield edge


def attach_self(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    if not _uncapped(ctx, source):
        return
    technique, action = (
        ("iam-008", "iam:AttachUserPolicy")
        if isinstance(source, User)
        else ("iam-009", "iam:AttachRolePolicy")
    )
    edge = ctx.edge(
        source=source.arn,
        target=ADMIN,
        technique=technique,
        candidates=attach(action, source.arn, admin_policies(ctx, source.account_id)),
        description=f"attach AdministratorAccess to itself ({action})",
    )
    if edge is not None:
        yield edge


def group_policy(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    if not isinstance(source, User) or not _uncapped(ctx, source):
        return
    policies = admin_policies(ctx, source.account_id)
    for garn in sorted(source.group_arns):
        put = ctx.edge(
            source=source.arn,
            target=ADMIN,
            technique="iam-011",
            candidates=[(Grant(action="iam:PutGroupPolicy", resource=garn),)],
            via=garn,
            description=f"write an inline admin policy on its group {garn.rsplit('/', 1)[-1]}",
        )
        if put is not None:
            yield put
        att = ctx.edge(
            source=source.arn,
            target=ADMIN,
            technique="iam-010",
            candidates=attach("iam:AttachGroupPolicy", garn, policies),
            via=garn,
            description=f"attach AdministratorAccess to its group {garn.rsplit('/', 1)[-1]}",
        )
        if att is not None:
            yield att


def own_managed_policies(ctx: EdgeContext, principal: Principal) -> list[ManagedPolicy]:
    """Customer managed policies attached to the principal or (for a user) to one of its groups."""
    arns = set(principal.managed_policy_arns)
    if isinstance(principal, User):
        for garn in principal.group_arns:
            group = ctx.snapshot.groups.get(garn)
            if group is not None:
                arns.update(group.managed_policy_arns)
    out = []
    for arn in sorted(arns):
        mp = ctx.snapshot.policies.get(arn)
        if mp is not None and not mp.aws_managed:
            out.append(mp)
    return out


def new_version(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    if not _uncapped(ctx, source):
        return
    for mp in own_managed_policies(ctx, source):
        # CreatePolicyVersion with SetAsDefault needs only iam:CreatePolicyVersion.
        # https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicyVersion.html
        edge = ctx.edge(
            source=source.arn,
            target=ADMIN,
            technique="iam-001",
            candidates=[(Grant(action="iam:CreatePolicyVersion", resource=mp.arn),)],
            via=mp.arn,
            description=f"write a new default version of {mp.name}, attached to itself",
        )
        if edge is not None:
            yield edge


def create_role(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    # A new role trusting the source directly needs no sts:AssumeRole grant in the same account.
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
    new_role = new_resource("iam:CreateRole", source.account_id, partition=partition_of(source.arn))
    if assume_blocked(ctx, source, new_role):
        return
    create = Grant(action="iam:CreateRole", resource=new_role)
    candidates = [
        (create, *alt)
        for alt in attach("iam:AttachRolePolicy", new_role, admin_policies(ctx, source.account_id))
    ]
    candidates.append((create, Grant(action="iam:PutRolePolicy", resource=new_role)))
    edge = ctx.edge(
        source=source.arn,
        target=ADMIN,
        technique="X-CreateRole+Attach",
        candidates=candidates,
        description="create a role that trusts itself, give it an admin policy, assume it",
    )
    if edge is not None:
        yield edge


def create_user(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    new_user = new_resource("iam:CreateUser", source.account_id, partition=partition_of(source.arn))
    create = Grant(action="iam:CreateUser", resource=new_user)
    creds = [
        Grant(action="iam:CreateAccessKey", resource=new_user),
        Grant(action="iam:CreateLoginProfile", resource=new_user),
    ]
    powers = [
        *attach("iam:AttachUserPolicy", new_user, admin_policies(ctx, source.account_id)),
        (Grant(action="iam:PutUserPolicy", resource=new_user),),
    ]
    candidates = [(create, cred, *power) for cred in creds for power in powers]
    edge = ctx.edge(
        source=source.arn,
        target=ADMIN,
        technique="X-CreateUser",
        candidates=candidates,
        description="create a user with credentials and an admin policy",
    )
    if edge is not None:
        yield edge


CHECKERS: tuple[Checker, ...] = (
    Checker(
        technique="iam-007",
        sources="user",
        needs=(("iam:PutUserPolicy",),),
        find=put_self,
    ),
    Checker(
        technique="iam-005",
        sources="role",
        needs=(("iam:PutRolePolicy",),),
        find=put_self,
    ),
    Checker(
        technique="iam-008",
        sources="user",
        needs=(("iam:AttachUserPolicy",),),
        find=attach_self,
    ),
    Checker(
        technique="iam-009",
        sources="role",
        needs=(("iam:AttachRolePolicy",),),
        find=attach_self,
    ),
    Checker(
        technique="iam-010",
        also=("iam-011",),
        sources="user",
        needs=(("iam:AttachGroupPolicy",), ("iam:PutGroupPolicy",)),
        find=group_policy,
    ),
    Checker(
        technique="iam-001",
        needs=(("iam:CreatePolicyVersion",),),
        find=new_version,
    ),
    Checker(
        technique="X-CreateRole+Attach",
        needs=(("iam:CreateRole", "iam:AttachRolePolicy"), ("iam:CreateRole", "iam:PutRolePolicy")),
        find=create_role,
    ),
    Checker(
        technique="X-CreateUser",
        needs=(("iam:CreateUser", "iam:AttachUserPolicy"), ("iam:CreateUser", "iam:PutUserPolicy")),
        find=create_user,
    ),
)

__all__ = ["CHECKERS", "admin_policies", "attach", "own_managed_policies"]
