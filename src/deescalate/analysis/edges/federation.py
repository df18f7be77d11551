"""X-Federation: rewrite a SAML identity provider, then sign in to every role that trusts it.

iam:UpdateSAMLProvider replaces the provider's metadata document, signing certificate included
(https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateSAMLProvider.html). The source can
then sign its own assertions and call sts:AssumeRoleWithSAML, a call that needs no AWS
credentials, on each role whose trust policy admits that provider for AssumeRoleWithSAML.
The assertion's contents are the source's to choose, so trust conditions on `saml:` keys do not
stop it; a condition on any other key makes the edge conditional, named.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#condition-keys-saml

Not modelled: iam:UpdateOpenIDConnectProviderThumbprint (the provider URL stays the same, and
AWS checks many IdPs against its own trusted CAs, so a new thumbprint alone gives no sign-in).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from deescalate.analysis.edges.base import Checker, EdgeContext, Principal
from deescalate.analysis.edges.trust import admits
from deescalate.arn import parse_arn
from deescalate.model import Edge, Effect, Grant, Role, Statement

_SAML = "sts:AssumeRoleWithSAML"


def _acts(st: Statement) -> bool:
    return admits(st.actions, st.not_actions, _SAML)


def saml_providers(role: Role) -> dict[str, tuple[str, ...]]:
    """SAML providers the role's trust admits for AssumeRoleWithSAML -> the conditions (not on
    `saml:` keys) that statement adds. A Deny without condition naming the provider (or every
    principal) removes it."""
    trust = role.trust_policy
    out: dict[str, tuple[str, ...]] = {}
    denied: set[str] = set()
    for st in trust.statements if trust is not None else ():
        if st.principal is None or not _acts(st):
            continue
        for ptype, value in st.principal.entries:
            if st.effect is Effect.DENY and not st.conditions:
                if ptype == "*" or (ptype == "Federated" and value == "*"):
                    return {}
                if ptype == "Federated":
                    denied.add(value)
            elif st.effect is Effect.ALLOW and ptype == "Federated" and ":saml-provider/" in value:
                others = tuple(
                    f"{c.operator} {c.key} {list(c.values)} in {role.name}'s trust policy"
                    for c in st.conditions
                    if not c.key.lower().startswith("saml:")
                )
                # Of several statements admitting the same provider, the least conditional counts.
                if value not in out or len(others) < len(out[value]):
                    out[value] = others
    return {p: c for p, c in out.items() if p not in denied}


def rewrite_provider(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    account = source.account_id
    for role in ctx.others(source, ctx.account_roles(account)):
        for provider, conditions in sorted(saml_providers(role).items()):
            parsed = parse_arn(provider)
            if parsed is None or parsed.account != account:
                continue
            name = parsed.name
            edge = ctx.edge(
                source=source.arn,
                target=role.arn,
                technique="X-Federation",
                candidates=[(Grant(action="iam:UpdateSAMLProvider", resource=provider),)],
                via=provider,
                unknown=conditions,
                description=f"replace the signing key of {name} and sign in as {role.name}",
            )
            if edge is not None:
                yield edge


CHECKERS: tuple[Checker, ...] = (
    Checker(
        technique="X-Federation",
        needs=(("iam:UpdateSAMLProvider",),),
        find=rewrite_provider,
    ),
)
