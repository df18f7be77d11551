"""Who is an administrator: a deterministic test over a principal's own policies, with its reason.

The rule (docs/analysis.md explains it with examples):

A principal is an administrator when it is allowed every action on every resource, exactly as a
holder of AdministratorAccess in the same account is:

1. its identity policies (inline, attached managed — the default version —, and its groups'),
   taken together, allow every action on every resource without condition: the union of their
   unconditional Allow statements on Resource "*" (an `Action` list, or a `NotAction` list, which
   allows every action it does not name) covers every action of AWS's Service Authorization
   Reference (`deescalate.sar.all_actions()`). One `"Action": "*"` statement does it alone; so do
   `iam:*` in one policy and `"NotAction": "iam:*"` in another — a principal that holds both is
   admin, not a principal "at risk";
2. if it has a permissions boundary, the boundary covers every action the same way (the boundary
   caps identity policies: https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html);
3. no Deny statement without a Condition sits in any of those policies or the boundary (an
   explicit Deny always wins:
   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
   A Deny that has a Condition (MFA required, a source IP, a region) restricts *how* the admin
   works, not *what* it can do: it is tolerated and named in the reason.

SCPs and RCPs apply alike to every principal of an account, so they cut an administrator no more
than they cut AdministratorAccess itself: they are not part of the test. (An SCP that singles out
principals by aws:PrincipalArn is a known blind spot, documented.)

No sampling: the test reads statements, so the same snapshot always gives the same verdict.
Coverage is decided once per distinct list of policies (principals sharing groups and managed
policies share it) and once per distinct set of patterns, so 10,000 principals cost milliseconds.
`iam:*` alone does not cover everything; such a principal is a self-escalation finding, not an admin.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from deescalate import sar
from deescalate.model import Effect, Policy, Role, Snapshot, Statement, User
from deescalate.policy.match import ActionMatcher


def administrator_access(partition: str) -> str:
    """The ARN of AWS's AdministratorAccess managed policy in a partition (`aws`, `aws-us-gov`, ...)."""
    return f"arn:{partition}:iam::aws:policy/AdministratorAccess"


def identity_policies(snapshot: Snapshot, principal: User | Role) -> Iterator[Policy]:
    """Every identity policy that applies to the principal (the default version of managed ones)."""
    yield from principal.inline_policies
    for arn in principal.managed_policy_arns:
        mp = snapshot.policies.get(arn)
        if mp is not None:
            yield mp.document
    if isinstance(principal, User):
        for garn in principal.group_arns:
            group = snapshot.groups.get(garn)
            if group is None:
                continue
            yield from group.inline_policies
            for arn in group.managed_policy_arns:
                mp = snapshot.policies.get(arn)
                if mp is not None:
                    yield mp.document


def grants_everything(st: Statement) -> bool:
    """An Allow of every action on every resource, unconditionally (AdministratorAccess's statement)."""
    return (
        st.effect is Effect.ALLOW
        and not st.conditions
        and st.actions is not None
        and ("*" in st.actions or "*:*" in st.actions)
        and st.resources is not None
        and "*" in st.resources
    )


def full_policy(policies: list[Policy]) -> tuple[Policy, Statement] | None:
    for pol in policies:
        for st in pol.statements:
            if grants_everything(st):
                return pol, st
    return None


def _everywhere(st: Statement) -> bool:
    """An Allow on every resource without condition (its actions still to be looked at)."""
    return (
        st.effect is Effect.ALLOW
        and not st.conditions
        and st.principal is None
        and st.not_principal is None
        and st.resources is not None
        and "*" in st.resources
    )


@lru_cache(maxsize=1)
def _catalogue() -> tuple[tuple[str, str, str], ...]:
    """Every action of the Service Authorization Reference, lower-cased: (action, service, name)."""
    out = []
    for a in sar.all_actions():
        low = a.lower()
        svc, _, name = low.partition(":")
        out.append((low, svc, name))
    return tuple(out)


Needed = tuple[tuple[tuple[str, str, str], ...], frozenset[str]]


@lru_cache(maxsize=1024)
def _needed(not_actions: frozenset[tuple[str, ...]]) -> Needed:
    """The catalogue actions that every NotAction list names (so no NotAction statement allows
    them: an Action pattern must), and their services. All actions when there is no list."""
    nots = [ActionMatcher(n) for n in sorted(not_actions)]
    services: frozenset[str] | None = None  # only these services can have such actions
    for m in nots:
        if m.services is not None:
            services = m.services if services is None else services & m.services
    needed = tuple(
        (a, svc, name)
        for a, svc, name in _catalogue()
        if (services is None or svc in services) and all(m.matches(a, svc, name) for m in nots)
    )
    return needed, frozenset(svc for _, svc, _ in needed)


@lru_cache(maxsize=8192)
def covers_everything(actions: frozenset[str], not_actions: frozenset[tuple[str, ...]]) -> bool:
    """Do unconditional Allow statements on "*" — with these `Action` patterns and these `NotAction`
    lists — together allow every action of the Service Authorization Reference?

    An action is allowed when some Action pattern matches it, or some NotAction list does not.
    So only the actions that every NotAction list names (all of them when there is none) need an
    Action pattern. Cached by content: principals with the same statements share the answer; a
    principal that is not admin is usually told in one set comparison (a service it never names).
    """
    allow = ActionMatcher(tuple(sorted(actions)))
    if allow.everything:
        return True
    needed, services = _needed(not_actions)
    if allow.services is not None and not services <= allow.services:
        return False  # some needed action is of a service no Action pattern names
    return all(allow.matches(a, svc, name) for a, svc, name in needed)


class Verdict:
    """What the admin test needs to know of a list of policies, computed once per list."""

    __slots__ = ("cover", "hard", "policies", "soft")

    def __init__(self, policies: tuple[Policy, ...]) -> None:
        self.policies = policies  # kept: the cache is keyed by their ids
        hard, soft = denies(list(policies))
        self.hard = hard
        self.soft = soft
        self.cover = _cover(policies)


def _cover(policies: tuple[Policy, ...]) -> tuple[tuple[Policy, Statement], ...] | None:
    """The statements that together allow everything (one when a single statement does), or None."""
    allows = [(pol, st) for pol in policies for st in pol.statements if _everywhere(st)]
    if not allows:
        return None
    for pol, st in allows:
        if st.actions is not None and ("*" in st.actions or "*:*" in st.actions):
            return ((pol, st),)
    actions = frozenset(a for _, st in allows if st.actions is not None for a in st.actions)
    nots = frozenset(st.not_actions for _, st in allows if st.not_actions is not None)
    return tuple(allows) if covers_everything(actions, nots) else None


_VERDICTS: dict[tuple[int, ...], Verdict] = {}


def verdict(policies: tuple[Policy, ...]) -> Verdict:
    """The `Verdict` of a list of policies, shared by every principal with the same list."""
    key = tuple(map(id, policies))
    hit = _VERDICTS.get(key)
    if hit is not None and all(a is b for a, b in zip(hit.policies, policies, strict=True)):
        return hit
    if len(_VERDICTS) > 100_000:
        _VERDICTS.clear()
    hit = _VERDICTS[key] = Verdict(policies)
    return hit


def denies(policies: list[Policy]) -> tuple[list[tuple[Policy, Statement]], list[tuple[Policy, Statement]]]:
    """(unconditional Deny statements, conditional Deny statements) in the policies."""
    hard: list[tuple[Policy, Statement]] = []
    soft: list[tuple[Policy, Statement]] = []
    for pol in policies:
        for st in pol.statements:
            if st.effect is Effect.DENY:
                (soft if st.conditions else hard).append((pol, st))
    return hard, soft


def boundary_policy(snapshot: Snapshot, arn: str) -> Policy | None:
    mp = snapshot.policies.get(arn)
    return mp.document if mp is not None else None


def boundary_caps(snapshot: Snapshot, principal: User | Role) -> str | None:
    """Why the principal's boundary keeps it below admin whatever its identity policies say, or None.

    This is what decides whether changing one's own policies (PutUserPolicy on oneself, ...) leads
    to admin: a boundary that does not allow everything still caps the new policy.
    """
    if principal.boundary_arn is None:
        return None
    if principal.boundary_arn == administrator_access(principal.partition):
        return None
    doc = boundary_policy(snapshot, principal.boundary_arn)
    if doc is None:
        return f"its permissions boundary {principal.boundary_arn} is not in the snapshot"
    v = verdict((doc,))
    if v.cover is None:
        return f"its permissions boundary {principal.boundary_arn} does not allow every action"
    if v.hard:
        return f"its permissions boundary {principal.boundary_arn} has a Deny ({v.hard[0][1].label()})"
    return None


def admin_reason(snapshot: Snapshot, principal: User | Role) -> str | None:
    """The reason the principal is an administrator, or None when it is not."""
    v = verdict(tuple(identity_policies(snapshot, principal)))
    if v.cover is None or v.hard:
        return None
    soft = list(v.soft)
    if principal.boundary_arn is not None:
        if boundary_caps(snapshot, principal) is not None:
            return None
        doc = boundary_policy(snapshot, principal.boundary_arn)
        if doc is not None:
            soft.extend(verdict((doc,)).soft)
    if len(v.cover) == 1:
        pol, st = v.cover[0]
        reason = f'allows "*" on "*" without condition ({pol.ref.label()}, {st.label()}) and no Deny applies'
    else:
        parts = [f"{_actions_label(st)} ({pol.ref.label()}, {st.label()})" for pol, st in v.cover[:4]]
        more = f" and {len(v.cover) - 4} more" if len(v.cover) > 4 else ""
        reason = (
            "allows every action on \"*\" without condition through its statements together: "
            + "; ".join(parts) + more + "; and no Deny applies"
        )
    if principal.boundary_arn is not None:
        reason += f"; its boundary {principal.boundary_arn} allows everything too"
    if soft:
        names = ", ".join(f"{p.ref.label()} {s.label()}" for p, s in soft[:3])
        reason += f"; conditional Deny statements only restrict the context ({names})"
    return reason


def _actions_label(st: Statement) -> str:
    if st.not_actions is not None:
        listed = ", ".join(st.not_actions[:3]) + (", ..." if len(st.not_actions) > 3 else "")
        return f"every action but {listed}"
    acts = st.actions or ()
    return ", ".join(acts[:3]) + (f", ... ({len(acts)} patterns)" if len(acts) > 3 else "")


def policy_grants_admin(policies: list[Policy]) -> bool:
    """Whether these policies alone would make their holder admin (used for groups and new versions)."""
    v = verdict(tuple(policies))
    return v.cover is not None and not v.hard
