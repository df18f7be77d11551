"""Reading roles' trust policies: which services and which principals a role admits.

`trusts_service` answers "can this AWS service assume the role" (what PassRole techniques hand
over); `TrustIndex` answers "which roles might admit this principal" (sts-001's candidates), so the
evaluator is asked only about plausible (principal, role) pairs. Both read the Principal element
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html) and
match actions with the evaluator's matcher (policy/match.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from deescalate.arn import parse_arn
from deescalate.model import Effect, Role, User
from deescalate.policy.match import ResourceMatcher, actions_match

_ASSUME = "sts:AssumeRole"


def admits(actions: tuple[str, ...] | None, not_actions: tuple[str, ...] | None, action: str) -> bool:
    """Whether a statement's Action (or NotAction) covers `action`."""
    if actions is not None:
        return actions_match(actions, action)
    return not actions_match(not_actions or (), action)


def trusts_service(role: Role, service: str) -> bool:
    """Whether the role's trust policy lets `service` assume it (an Allow of sts:AssumeRole to it).

    A service principal cannot carry a session of ours, so conditions such as aws:SourceAccount
    do not stop the attacker who creates the resource in this account: they are not checked.
    An explicit Deny naming the service (or every principal) for sts:AssumeRole does stop it.
    """
    trust = role.trust_policy
    if trust is None:
        return False
    allowed = False
    for st in trust.statements:
        if not admits(st.actions, st.not_actions, _ASSUME) or st.principal is None:
            continue
        names = any(
            (t == "Service" and v == service) or (t == "*" and v == "*") for t, v in st.principal.entries
        )
        if not names:
            continue
        if st.effect is Effect.DENY and not st.conditions:
            return False
        if st.effect is Effect.ALLOW:
            allowed = True
    return allowed


class TrustIndex:
    """Which roles may admit which principals, read from trust policies' AWS principals.

    A role naming a principal ARN is a candidate only for that principal; one naming an account
    (its id or root ARN) for that account's principals; one naming "*" (or using NotPrincipal)
    for everybody.
    """

    __slots__ = ("_memo", "_named", "_on", "_shared", "by_account", "by_arn", "by_role_name", "everyone")

    def __init__(self, roles: Sequence[Role]) -> None:
        self.by_arn: dict[str, set[str]] = {}
        self.by_account: dict[str, set[str]] = {}
        self.by_role_name: dict[tuple[str, str], set[str]] = {}  # (account, role name) from session ARNs
        self.everyone: set[str] = set()
        self._memo: dict[str, tuple[str, ...]] = {}
        self._shared: dict[str, tuple[str, ...]] = {}
        self._named: tuple[str, ...] | None = None
        # (account or, for a source some trust policy names, its ARN; the matchers' ids) ->
        # (the matchers, the candidates, the same as a set): `allowed`
        self._on: dict[tuple[str, tuple[int, ...]], tuple[object, tuple[str, ...], frozenset[str]]] = {}
        for role in roles:
            trust = role.trust_policy
            if trust is None:
                continue
            for st in trust.statements:
                if st.effect is not Effect.ALLOW or not admits(st.actions, st.not_actions, _ASSUME):
                    continue
                if st.not_principal is not None:
                    self.everyone.add(role.arn)
                    continue
                for ptype, value in st.principal.entries if st.principal else ():
                    self._add(role.arn, ptype, value)

    def _add(self, role: str, ptype: str, value: str) -> None:
        if ptype == "*" or (ptype == "AWS" and value == "*"):
            self.everyone.add(role)
            return
        if ptype != "AWS":
            return
        if value.isdigit():
            self.by_account.setdefault(value, set()).add(role)
            return
        arn = parse_arn(value)
        if arn is not None and arn.resource == "root":
            self.by_account.setdefault(arn.account, set()).add(role)
        elif arn is not None and arn.service == "sts" and arn.resource_type == "assumed-role":
            # arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION names sessions of the role NAME.
            name = arn.resource_id.split("/", 1)[0]
            self.by_role_name.setdefault((arn.account, name), set()).add(role)
        else:
            self.by_arn.setdefault(value, set()).add(role)

    def candidates(self, source: User | Role) -> Sequence[str]:
        """The roles whose trust policy may admit `source`, sorted by ARN; the source itself may be
        among them (callers skip it). Sources no trust policy names specifically share one tuple
        per account (an account whose roles all trust its root: one list, not one per source)."""
        specific = self._specific(source)
        if not specific:
            hit = self._shared.get(source.account_id)
            if hit is None:
                hit = self._shared[source.account_id] = tuple(
                    sorted(self.everyone | self.by_account.get(source.account_id, set()))
                )
            return hit
        memo = self._memo.get(source.arn)
        if memo is None:
            memo = self._memo[source.arn] = tuple(
                sorted(self.everyone | self.by_account.get(source.account_id, set()) | specific)
            )
        return memo

    def named(self, source: User | Role) -> Sequence[str]:
        """The candidates whose trust policy names `source` itself (its ARN, its role's sessions) or
        every principal, sorted by ARN: the only roles a principal whose identity policies allow no
        sts:AssumeRole can assume. A trust policy naming an account (its id or root ARN) delegates to
        that account's identity policies, which must then allow the call, in the same account as
        across accounts (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts)."""
        specific = self._specific(source)
        if not specific:
            if self._named is None:
                self._named = tuple(sorted(self.everyone))
            return self._named
        return tuple(sorted(self.everyone | specific))

    def allowed(
        self, source: User | Role, on: tuple[ResourceMatcher, ...]
    ) -> tuple[tuple[str, ...], frozenset[str]]:
        """The candidates `source` may assume when its identity policies allow sts:AssumeRole only
        on resources `on` matches (Authorizer.may_allow_on), sorted by ARN, and as a set: those
        naming it (`named`), and those trusting its account whose ARN one of `on` matches."""
        ids = tuple(id(m) for m in on)
        key = (source.account_id, ids)
        shared = self._on.get(key)
        if shared is None:
            mine = set(self.everyone)
            mine.update(
                r for r in self.by_account.get(source.account_id, ())
                if any(m.matches_literal(r) for m in on)
            )
            ordered = tuple(sorted(mine))
            # `on` is kept with it: the ids stay those of these matchers while the entry lives.
            shared = self._on[key] = (on, ordered, frozenset(ordered))
        specific = self._specific(source)
        if not specific:
            return shared[1], shared[2]
        hit = self._on.get((source.arn, ids))
        if hit is None:
            ordered = tuple(sorted(shared[2] | specific))
            hit = self._on[(source.arn, ids)] = (on, ordered, frozenset(ordered))
        return hit[1], hit[2]

    def admits_named(self, source: User | Role, role: str) -> bool:
        """Whether `role` is among `named(source)`."""
        return role in self.everyone or role in self._specific(source)

    def admits(self, source: User | Role, role: str) -> bool:
        """Whether `role` is among `candidates(source)`."""
        return (
            role in self.everyone
            or role in self.by_account.get(source.account_id, ())
            or role in self._specific(source)
        )

    def _specific(self, source: User | Role) -> set[str]:
        named = self.by_arn.get(source.arn, set())
        # The evaluator also matches a Principal entry equal to the principal's unique ID
        # (AIDA..., AROA...): such a role names the source as much as one naming its ARN.
        unique = source.user_id if isinstance(source, User) else source.role_id
        if unique and unique in self.by_arn:
            named = named | self.by_arn[unique]
        if isinstance(source, Role):
            by_name = self.by_role_name.get((source.account_id, source.name))
            if by_name:
                return named | by_name
        return named
