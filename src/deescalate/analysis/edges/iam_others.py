"""IAM techniques by which a principal takes over another user or role of its account.

User credentials: a new access key (a user holds at most two:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html), a new console password
(CreateLoginProfile, only for a user without one) or a changed one (UpdateLoginProfile, only for a
user with one). What the snapshot does not know about the target (key count, password) makes the
edge conditional, named.

Role trust: UpdateAssumeRolePolicy lets the source rewrite a role's trust policy to admit itself.
Service-linked roles' trust policies cannot be edited, so they are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from deescalate.analysis.edges.base import Checker, EdgeContext, Principal, any_of
from deescalate.model import Edge, Grant, Outcome, PolicyKind, Reason, User

MAX_ACCESS_KEYS = 2


def _users(ctx: EdgeContext, source: Principal, *actions: str) -> Iterator[User]:
    """The other users of the source's account, none when its own policies deny one of `actions`
    on every one of them (a plan's deny on `user/*`: each request would be denied)."""
    users = ctx.account_users(source.account_id)
    if any(ctx.denied_on_all(source, a, users, "user") for a in actions):
        return
    yield from ctx.others(source, users)


def access_keys(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    can_delete = ctx.may(source.arn, "iam:DeleteAccessKey")
    for user in _users(ctx, source, "iam:CreateAccessKey"):  # iam-003 creates one too
        create = Grant(action="iam:CreateAccessKey", resource=user.arn)
        count = user.access_key_count
        if count is None or count < MAX_ACCESS_KEYS:
            unknown = (
                ()
                if count is not None
                else (f"{user.name}'s access key count is unknown (CreateAccessKey fails if it has two)",)
            )
            edge = ctx.edge(
                source=source.arn,
                target=user.arn,
                technique="iam-002",
                candidates=[(create,)],
                unknown=unknown,
                description=f"create an access key for {user.name}",
            )
        elif can_delete:
            edge = ctx.edge(
                source=source.arn,
                target=user.arn,
                technique="iam-003",
                candidates=[(create, Grant(action="iam:DeleteAccessKey", resource=user.arn))],
                description=f"delete one of {user.name}'s two access keys and create a new one",
            )
        else:
            edge = None
        if edge is not None:
            yield edge


# (technique, action, whether it needs the user to have a console password, what it does)
LOGIN_WAYS = (
    ("iam-004", "iam:CreateLoginProfile", False, "give {user} a console password"),
    ("iam-006", "iam:UpdateLoginProfile", True, "change {user}'s console password"),
)


def login_profiles(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    users = ctx.account_users(source.account_id)
    ways = [
        w for w in LOGIN_WAYS
        if ctx.may(source.arn, w[1]) and not ctx.denied_on_all(source, w[1], users, "user")
    ]
    if not ways:
        return
    for user in _users(ctx, source):
        has = user.has_login_profile
        unknown = () if has is not None else (f"whether {user.name} has a console password is unknown",)
        for technique, action, needs_password, what in ways:
            if has is (not needs_password):
                continue
            edge = ctx.edge(
                source=source.arn,
                target=user.arn,
                technique=technique,
                candidates=[(Grant(action=action, resource=user.arn),)],
                unknown=unknown,
                description=what.format(user=user.name),
            )
            if edge is not None:
                yield edge


def assume_blocked(ctx: EdgeContext, source: Principal, role: str) -> bool:
    """Whether AssumeRole of `role` stays denied whatever its trust policy says.

    The rewritten trust is not in the snapshot, but a Deny outside the trust policy (identity
    policy, boundary) or an SCP that refuses sts:AssumeRole still stops the source afterwards.
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    d = ctx.decide(source.arn, Grant(action="sts:AssumeRole", resource=role))
    if d.outcome is not Outcome.DENY:
        return False
    if d.reason in (Reason.SCP, Reason.RCP):
        return True
    return d.reason is Reason.EXPLICIT_DENY and any(
        m.policy.kind is not PolicyKind.TRUST for m in d.statements
    )


def trust_rewrite(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    roles = ctx.account_roles(source.account_id)
    if ctx.denied_on_all(source, "iam:UpdateAssumeRolePolicy", roles, "role"):
        return  # a plan's deny on `role/*`: each request would be denied
    for role in ctx.others(source, roles):
        if role.is_service_linked:
            continue
        if assume_blocked(ctx, source, role.arn):
            continue
        edge = ctx.edge(
            source=source.arn,
            target=role.arn,
            technique="iam-012",
            candidates=[(Grant(action="iam:UpdateAssumeRolePolicy", resource=role.arn),)],
            description=f"rewrite {role.name}'s trust policy to admit itself, then assume it",
        )
        if edge is not None:
            yield edge


CHECKERS: tuple[Checker, ...] = (
    Checker(
        technique="iam-002",
        also=("iam-003",),
        needs=(("iam:CreateAccessKey",),),
        find=access_keys,
    ),
    Checker(
        technique="iam-004",
        also=("iam-006",),
        needs=any_of(*(action for _, action, _, _ in LOGIN_WAYS)),
        find=login_profiles,
    ),
    Checker(
        technique="iam-012",
        needs=(("iam:UpdateAssumeRolePolicy",),),
        find=trust_rewrite,
    ),
)
