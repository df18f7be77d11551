"""cognitoidentity-001: make a role the identity pool's role, then get its credentials from the pool.

cognito-identity:SetIdentityPoolRoles (which needs iam:PassRole on each role it sets) names the
roles an identity pool hands out; Cognito then gets them by sts:AssumeRoleWithWebIdentity, so
they are roles whose trust admits the Federated principal cognito-identity.amazonaws.com, usually
for the pools named in a `cognito-identity.amazonaws.com:aud` condition.
https://docs.aws.amazon.com/cognito/latest/developerguide/role-trust-and-permissions.html
Whether a pool hands credentials to the source (unauthenticated identities allowed, or a login
the source controls) is pool configuration the snapshot does not hold: the edges are conditional,
saying so. With unauthenticated access on, anyone on the internet gets the role as well.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from deescalate.analysis.edges.base import Checker, EdgeContext, Principal, new_resource, pass_role
from deescalate.analysis.edges.trust import admits
from deescalate.arn import partition_of
from deescalate.model import Edge, Effect, Grant, Role, Statement

COGNITO = "cognito-identity.amazonaws.com"
_WEB = "sts:AssumeRoleWithWebIdentity"
_AUD = f"{COGNITO}:aud"


def _acts(st: Statement) -> bool:
    return admits(st.actions, st.not_actions, _WEB)


def identity_pools(role: Role) -> tuple[str, ...] | None:
    """The identity pool ids the role's trust admits Cognito for ("*" for any pool); None if it
    admits none (or a Deny without condition refuses Cognito)."""
    trust = role.trust_policy
    pools: list[str] = []
    admitted = False
    for st in trust.statements if trust is not None else ():
        if st.principal is None or not _acts(st):
            continue
        if not any(t == "Federated" and v == COGNITO for t, v in st.principal.entries):
            continue
        if st.effect is Effect.DENY:
            if not st.conditions:
                return None
            continue
        admitted = True
        aud = [c for c in st.conditions if c.key.lower() == _AUD and "String" in c.operator]
        for value in [v for c in aud for v in c.values] or ["*"]:
            if value not in pools:
                pools.append(value)
    return tuple(pools) if admitted else None


SET_ROLES = "cognito-identity:SetIdentityPoolRoles"


def _pool_resource(source: Principal, pool: str) -> str:
    # SetIdentityPoolRoles has no resource type in the SAR (AWS authorizes it against "*"), so
    # the request names "*" whatever the pool; an identity pool's ARN would be "identitypool/ID".
    # Identity pool ids are "REGION:UUID".
    region = pool.partition(":")[0] if pool != "*" else "*"
    return new_resource(
        SET_ROLES, source.account_id, region=region or "*", partition=partition_of(source.arn),
        names={"IdentityPoolId": pool},
    )


def set_pool_roles(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    account = source.account_id
    for role in ctx.others(source, ctx.account_roles(account)):
        pools = identity_pools(role)
        if not pools:
            continue
        pass_grant = pass_role(role.arn, COGNITO)
        named = "any identity pool" if pools == ("*",) else f"identity pool {', '.join(pools)}"
        edge = ctx.edge(
            source=source.arn,
            target=role.arn,
            technique="cognitoidentity-001",
            candidates=[
                (
                    pass_grant,
                    Grant(action=SET_ROLES, resource=_pool_resource(source, p)),
                )
                for p in pools
            ],
            unknown=(
                f"whether {named} hands credentials to the source (unauthenticated identities, or a login "
                "it controls) is unknown",
            ),
            description=f"make {role.name} the role of {named} and get its credentials there",
        )
        if edge is not None:
            yield edge


CHECKERS: tuple[Checker, ...] = (
    Checker(
        technique="cognitoidentity-001",
        needs=(("iam:PassRole", "cognito-identity:SetIdentityPoolRoles"),),
        find=set_pool_roles,
    ),
)
