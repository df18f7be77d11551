"""sts-001: assume a role whose trust policy admits the source (same account or another one).

The evaluator decides each AssumeRole (trust policy + identity policy, cross-account rules:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
To avoid asking it about every (principal, role) pair, an index first reads each trust policy's
AWS principals: a role naming a principal ARN is asked only for that principal; one naming an
account (its id or root ARN) for that account's principals; one naming "*" (or using
NotPrincipal) for everybody.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence

from deescalate.analysis.edges.base import Checker, EdgeContext, Principal
from deescalate.model import Edge, Effect, Grant, Role

_ASSUME = "sts:assumerole"


def _admits_assume(actions: tuple[str, ...] | None, not_actions: tuple[str, ...] | None) -> bool:
    if actions is not None:
        return any(fnmatch.fnmatchcase(_ASSUME, a.lower()) for a in actions)
    return not any(fnmatch.fnmatchcase(_ASSUME, a.lower()) for a in not_actions or ())


class TrustIndex:
    """Which roles may admit which principals, read from trust policies' AWS principals."""

    __slots__ = ("_memo", "by_account", "by_arn", "by_role_name", "everyone")

    def __init__(self, roles: Sequence[Role]) -> None:
        self.by_arn: dict[str, set[str]] = {}
        self.by_account: dict[str, set[str]] = {}
        self.by_role_name: dict[tuple[str, str], set[str]] = {}  # (account, role name) from session ARNs
        self.everyone: set[str] = set()
        self._memo: dict[str, list[str]] = {}
        for role in roles:
            trust = role.trust_policy
            if trust is None:
                continue
            for st in trust.statements:
                if st.effect is not Effect.ALLOW or not _admits_assume(st.actions, st.not_actions):
                    continue
                if st.not_principal is not None:
                    self.everyone.add(role.arn)
                    continue
                for ptype, value in st.principal.entries if st.principal else ():
                    self._add(role.arn, ptype, value)

    def _add(self, role: str, ptype: str, value: str) -> None:
        if ptype == "*" or (ptype == "AWS" and value == "*"):
            self.everyone.add(role)
        elif ptype != "AWS":
            return
        elif value.isdigit():
            self.by_account.setdefault(value, set()).add(role)
        elif value.endswith(":root"):
            self.by_account.setdefault(value.split(":")[4], set()).add(role)
        elif ":assumed-role/" in value:
            # arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION names sessions of the role NAME.
            account = value.split(":")[4]
            name = value.split(":assumed-role/", 1)[1].split("/", 1)[0]
            self.by_role_name.setdefault((account, name), set()).add(role)
        else:
            self.by_arn.setdefault(value, set()).add(role)

    def candidates(self, source: Principal) -> list[str]:
        hit = self._memo.get(source.arn)
        if hit is None:
            hit = self._memo[source.arn] = self._candidates(source)
        return hit

    def _candidates(self, source: Principal) -> list[str]:
        out = set(self.everyone)
        out |= self.by_arn.get(source.arn, set())
        out |= self.by_account.get(source.account_id, set())
        if isinstance(source, Role):
            out |= self.by_role_name.get((source.account_id, source.name), set())
        out.discard(source.arn)
        return sorted(out)


def _index(ctx: EdgeContext) -> TrustIndex:
    idx = ctx.index.trust
    if idx is None:
        idx = TrustIndex(list(ctx.snapshot.roles.values()))
        ctx.index.trust = idx
    return idx


def assume(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    for role_arn in _index(ctx).candidates(source):
        if not ctx.wants(source.arn, role_arn):
            continue
        role = ctx.snapshot.roles[role_arn]
        edge = ctx.edge(
            source=source.arn,
            target=role_arn,
            technique="sts-001",
            candidates=[(Grant(action="sts:AssumeRole", resource=role_arn),)],
            description=f"assume {role.name}",
        )
        if edge is not None:
            yield edge


# No prefilter: a trust policy that names the source's ARN grants AssumeRole in the same account
# without any identity policy, so may_allow would wrongly rule it out.
CHECKERS: tuple[Checker, ...] = (
    Checker(technique="sts-001", title="AssumeRole on a role that trusts it", needs=((),), find=assume),
)
