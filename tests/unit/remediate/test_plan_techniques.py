"""Every IAM-Vulnerable technique fixture: plan → verify → zero edges left, and the plan is optimal
under the planner's objective (least disruption, then fewest denies), found here by brute force over
every subset of grants with its own verify loop.

The fixtures are the technique tests' own worlds (tests/techniques). For the `notaction-allow`
variant (an attacker allowed almost everything: 16-30 distinct grants, 7-14 denies) brute force is
out of reach; there the plan must verify, carry the solver's optimality proof, and be irredundant.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations

import pytest
from technique_cases import CASES, Case, fixture

from deescalate.analysis.analyze import analyze
from deescalate.model import Deny, Edge, Plan, Snapshot
from deescalate.remediate.plan import (
    build_plan,
    default_analyze,
    disruption,
    handoff_endpoints,
    is_cut,
    principal_plan,
)
from deescalate.remediate.verify import apply_to_snapshot


def own_edges(snap: Snapshot, arn: str) -> list[Edge]:
    return [e for f in analyze(snap).findings if f.principal == arn for e in f.edges]


Objective = tuple[int, int]  # (total disruption, number of denies)


def objective(keys: Iterable[tuple[str, str]], arn: str, ends: frozenset[str]) -> Objective:
    keys = set(keys)
    return (sum(disruption(k, principal=arn, endpoints=ends) for k in keys), len(keys))


def brute_best(edges: list[Edge], arn: str) -> list[tuple[str, str]]:
    universe = sorted({(g.action, g.resource) for e in edges for alt in e.alternatives for g in alt})
    ends = handoff_endpoints(edges)
    best: tuple[Objective, list[tuple[str, str]]] | None = None
    for size in range(len(universe) + 1):
        for combo in combinations(universe, size):
            if all(is_cut(e, combo) for e in edges):
                score = objective(combo, arn, ends)
                if best is None or score < best[0]:
                    best = (score, list(combo))
    if best is None:
        raise AssertionError("no hitting set")
    return best[1]


def known_best(snap: Snapshot, arn: str) -> tuple[Objective, frozenset[str]]:
    """Brute force, re-verified with the real analysis until no edge survives (max 6 rounds)."""
    edges = {e.id: e for e in own_edges(snap, arn)}
    for _ in range(6):
        chosen = brute_best(list(edges.values()), arn)
        denies = tuple(Deny(id=f"b{i}", principal=arn, action=a, resource=r, cuts=(), techniques=(), why="")
                       for i, (a, r) in enumerate(chosen))
        plan = Plan(account_id=snap.account_id, snapshot="", snapshot_time=None,
                    principals=(principal_plan(snap, arn, denies),))
        left = own_edges(apply_to_snapshot(snap, plan), arn)
        if not left:
            ends = handoff_endpoints(list(edges.values()))
            return objective(chosen, arn, ends), ends
        for e in left:  # only the grants not denied yet can cut what survived
            alts = tuple(tuple(g for g in alt if (g.action, g.resource) not in chosen) for alt in e.alternatives)
            old = edges.get(e.id)
            edges[e.id] = Edge(source=e.source, target=e.target, technique=e.technique, via=e.via,
                               alternatives=tuple(dict.fromkeys((old.alternatives if old else ()) + alts)))
    raise AssertionError("brute force did not converge")


def planned(snap: Snapshot, arn: str) -> tuple[Plan, int]:
    plan = build_plan(snap, analyze(snap), default_analyze())
    assert plan.verified, [(e.technique, e.target) for e in plan.remaining]
    assert not [f for f in analyze(apply_to_snapshot(snap, plan)).findings if f.principal == arn]
    pp = next(p for p in plan.principals if p.principal == arn)
    return plan, len(pp.denies)


@pytest.mark.parametrize("variant", ["plain", "split", "exact"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_plan_matches_the_brute_force_optimum(case: Case, variant: str) -> None:
    if variant == "exact" and not case.exact:
        pytest.skip("no narrower resource than * for this technique")
    snap, arn = fixture(case, variant)
    plan, _ = planned(snap, arn)
    best, ends = known_best(snap, arn)
    pp = next(p for p in plan.principals if p.principal == arn)
    assert objective([(d.action, d.resource) for d in pp.denies], arn, ends) == best


@pytest.mark.parametrize("case", CASES, ids=str)
def test_near_admin_attacker_plan_verifies_and_is_irredundant(case: Case) -> None:
    snap, arn = fixture(case, "notaction-allow")
    original = own_edges(snap, arn)
    plan, size = planned(snap, arn)
    pp = next(p for p in plan.principals if p.principal == arn)
    assert pp.minimal and size >= 5
    # Each deny is needed: without it an original edge is no longer cut (the planner's definition:
    # every alternative of every edge loses a grant), or the re-analysis finds an edge again (the
    # principal undoing the fix). Note the definition is the stricter one: a deny can be needed by
    # it although the re-analysis alone would not miss it (after switching its policy to an old
    # admin version the principal is still held back by the other denies).
    for drop in pp.denies:
        rest = tuple(d for d in pp.denies if d is not drop)
        keys = [(d.action, d.resource) for d in rest]
        fewer = Plan(account_id=snap.account_id, snapshot="", snapshot_time=None,
                     principals=(principal_plan(snap, arn, rest),))
        needed = not all(is_cut(e, keys) for e in original) or own_edges(apply_to_snapshot(snap, fewer), arn)
        assert needed, f"{drop.action} on {drop.resource} is redundant"
