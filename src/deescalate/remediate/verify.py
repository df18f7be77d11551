"""Verify a plan: apply its denies to the snapshot in memory and run the whole analysis again.

The modified snapshot is what the account would look like after `apply`: each planned user or
role gains its `deescalate-deny` inline policy, or the customer managed policy and its attachment
when the plan placed the denies there. The analysis (`deescalate.analysis.analyze`, injected as a function
so there is no second copy of escalation logic) then reports what is still open. Every escalation
edge that still leaves a planned principal counts, including the ones that exist only *because*
of the deny policy: deleting, detaching or overwriting it, or changing the principal's boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import assert_never

from deescalate.arn import account_of
from deescalate.model import (
    Edge,
    ManagedPolicy,
    Plan,
    Policy,
    PolicyKind,
    PolicyPlacement,
    PolicyRef,
    Report,
    Role,
    Snapshot,
    User,
)
from deescalate.policy.parse import parse_policy
from deescalate.remediate.quotas import managed_policy_arn

AnalyzeFn = Callable[[Snapshot], Report]


def apply_to_snapshot(snapshot: Snapshot, plan: Plan) -> Snapshot:
    """The snapshot as it would be after applying the plan (only principals with active denies)."""
    users = dict(snapshot.users)
    roles = dict(snapshot.roles)
    policies = dict(snapshot.policies)
    for pp in plan.principals:
        if pp.placement is PolicyPlacement.NONE or not pp.document or pp.unfixable:
            continue
        principal: User | Role | None = users.get(pp.principal) or roles.get(pp.principal)
        if principal is None:
            continue
        where = f"plan for {pp.principal}"
        match pp.placement:
            case PolicyPlacement.INLINE:
                ref = PolicyRef(kind=PolicyKind.INLINE, name=pp.policy_name, attached_to=pp.principal)
                policy = parse_policy(pp.document, ref, where=where)
                kept = tuple(p for p in principal.inline_policies if p.ref.name != pp.policy_name)
                inline = (*kept, policy)
                principal = replace(principal, inline_policies=inline)
            case PolicyPlacement.MANAGED:
                arn = managed_policy_arn(account_of(pp.principal), pp.principal)  # in the principal's account
                ref = PolicyRef(kind=PolicyKind.MANAGED, name=pp.policy_name, arn=arn, version="v1")
                version: Policy = parse_policy(pp.document, ref, where=where)
                policies[arn] = ManagedPolicy(
                    arn=arn, name=pp.policy_name, default_version="v1", versions={"v1": version},
                    attachment_count=1,
                )
                if arn not in principal.managed_policy_arns:
                    principal = replace(principal, managed_policy_arns=(*principal.managed_policy_arns, arn))
            case _:
                assert_never(pp.placement)
        if isinstance(principal, User):
            users[principal.arn] = principal
        else:
            roles[principal.arn] = principal
    return replace(
        snapshot,
        users=MappingProxyType(users),
        roles=MappingProxyType(roles),
        policies=MappingProxyType(policies),
    )


def remaining_edges(
    snapshot: Snapshot, plan: Plan, analyze_fn: AnalyzeFn, *, planned: Set[str]
) -> tuple[Edge, ...]:
    """Escalation edges the analysis still finds for the planned principals once the plan is in."""
    return verify(snapshot, plan, analyze_fn, planned=planned).remaining


@dataclass(frozen=True, slots=True, kw_only=True)
class Verification:
    remaining: tuple[Edge, ...]  # escalation edges still leaving a planned principal
    open_paths: tuple[tuple[str, tuple[Edge, ...]], ...]  # (principal, path) through a remaining edge
    report: Report  # the re-analysis itself


def verify(snapshot: Snapshot, plan: Plan, analyze_fn: AnalyzeFn, *, planned: Set[str]) -> Verification:
    report = analyze_fn(apply_to_snapshot(snapshot, plan))
    out: dict[str, Edge] = {}
    for finding in report.findings:
        if finding.principal in planned:
            for edge in finding.edges:
                out.setdefault(edge.id, edge)
            # A planned principal still at risk only through others: the escalation edge ending each
            # of its paths is open (its source is planned next round, or reported).
            for path in finding.paths if not finding.edges else ():
                if path:
                    out.setdefault(path[-1].id, path[-1])
    remaining = tuple(sorted(out.values(), key=lambda e: e.id))
    ids = set(out)
    paths = tuple(
        (f.principal, path) for f in report.findings for path in f.paths if any(e.id in ids for e in path)
    )
    return Verification(remaining=remaining, open_paths=paths, report=report)
