"""Conditional wildcards: `Allow * on *` under a Condition, summarised once per policy.

A principal holding such a statement (e.g. `"Condition": {"Bool": {"aws:MultiFactorAuthPresent":
"true"}}`) is allowed everything whenever the condition holds, so it is a conditional edge away from
every principal of its account, and every holder of a shared one from every other. Listing those
edges costs the square of the holders. Instead (docs/analysis.md, "Conditional wildcards"):

- `strip(snapshot)` is the snapshot with those statements taken out of every identity policy
  (inline, customer managed — every version —, group) that holds one, and the set of principals
  that hold one. A managed policy some principal uses as its permissions boundary is left whole.
- A holder whose full policies give it an edge to ADMIN (it can make itself admin, conditionally
  or not) is *summarised*: its edges to ADMIN come from the full snapshot, every other edge and its
  what-ifs from the stripped one. Every edge of the stripped snapshot is an edge of the full one
  (taking an Allow away never allows more), and an unconditional decision never rests on a
  conditional statement, so every unconditional path survives; what is left out are the holder's
  conditional take-overs that only the wildcard allows, which reach nothing its edge to ADMIN does
  not already reach in one step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from types import MappingProxyType

from deescalate.model import (
    Effect,
    Group,
    ManagedPolicy,
    Policy,
    PolicyKind,
    Role,
    Snapshot,
    Statement,
    User,
)


def conditional_wildcard(st: Statement) -> bool:
    """An Allow of every action on every resource that holds only under a Condition."""
    return (
        st.effect is Effect.ALLOW
        and bool(st.conditions)
        and st.actions is not None
        and ("*" in st.actions or "*:*" in st.actions)
        and st.resources is not None
        and "*" in st.resources
    )


def _stripped(policy: Policy) -> Policy | None:
    """The policy without its conditional wildcards, or None when it has none."""
    kept = tuple(st for st in policy.statements if not conditional_wildcard(st))
    if len(kept) == len(policy.statements):
        return None
    return replace(policy, statements=kept)


def _inline(policies: tuple[Policy, ...]) -> tuple[Policy, ...] | None:
    out = [_stripped(p) or p for p in policies]
    return tuple(out) if any(a is not b for a, b in zip(out, policies, strict=True)) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Stripped:
    """The snapshot without conditional wildcards, and who held one."""

    snapshot: Snapshot
    holders: frozenset[str]


def _identity(snapshot: Snapshot, principal: User | Role) -> Iterator[Policy]:
    yield from principal.inline_policies
    arns = list(principal.managed_policy_arns)
    if isinstance(principal, User):
        for garn in principal.group_arns:
            group = snapshot.groups.get(garn)
            if group is not None:
                yield from group.inline_policies
                arns.extend(group.managed_policy_arns)
    for arn in arns:
        mp = snapshot.policies.get(arn)
        if mp is not None:
            yield mp.document


def strip(snapshot: Snapshot) -> Stripped | None:
    """The stripped snapshot, or None when no identity policy holds a conditional wildcard."""
    principals: list[User | Role] = [*snapshot.users.values(), *snapshot.roles.values()]
    boundaries = {p.boundary_arn for p in principals if p.boundary_arn}
    policies: dict[str, ManagedPolicy] = {}
    for arn, mp in snapshot.policies.items():
        if arn in boundaries:
            continue
        versions = {vid: _stripped(doc) for vid, doc in mp.versions.items()}
        if any(v is not None for v in versions.values()):
            policies[arn] = replace(
                mp, versions=MappingProxyType({vid: v or mp.versions[vid] for vid, v in versions.items()})
            )
    groups: dict[str, Group] = {}
    for arn, g in snapshot.groups.items():
        inline = _inline(g.inline_policies)
        if inline is not None:
            groups[arn] = replace(g, inline_policies=inline)
    users: dict[str, User] = {}
    for arn, u in snapshot.users.items():
        inline = _inline(u.inline_policies)
        if inline is not None:
            users[arn] = replace(u, inline_policies=inline)
    roles: dict[str, Role] = {}
    for arn, r in snapshot.roles.items():
        inline = _inline(r.inline_policies)
        if inline is not None:
            roles[arn] = replace(r, inline_policies=inline)
    if not (policies or groups or users or roles):
        return None
    holders = frozenset(
        p.arn
        for p in principals
        if any(
            conditional_wildcard(st)
            for pol in _identity(snapshot, p)
            if pol.ref.kind is not PolicyKind.MANAGED or pol.ref.arn not in boundaries
            for st in pol.statements
        )
    )
    changed = replace(
        snapshot,
        policies=MappingProxyType({**snapshot.policies, **policies}) if policies else snapshot.policies,
        groups=MappingProxyType({**snapshot.groups, **groups}) if groups else snapshot.groups,
        users=MappingProxyType({**snapshot.users, **users}) if users else snapshot.users,
        roles=MappingProxyType({**snapshot.roles, **roles}) if roles else snapshot.roles,
    )
    return Stripped(snapshot=changed, holders=holders)


__all__ = ["Stripped", "conditional_wildcard", "strip"]
