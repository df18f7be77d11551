"""The exact hitting-set core: minimal against brute force, and every answer really hits."""

from __future__ import annotations

from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from deescalate.remediate.hitting import Key, components, minimum_hitting_set, reduce_sets

ELEMENTS: list[Key] = [(f"svc:Action{i % 4}", f"arn:res/{i}") for i in range(8)]


def brute_force(sets: list[frozenset[Key]], cost: dict[Key, int]) -> tuple[int, int]:
    """(size, cost) of the best hitting set by trying every subset, smallest first."""
    sets = [s for s in sets if s]
    universe = sorted({k for s in sets for k in s})
    for size in range(len(universe) + 1):
        costs = [
            sum(cost[k] for k in combo)
            for combo in combinations(universe, size)
            if all(s & set(combo) for s in sets)
        ]
        if costs:
            return size, min(costs)
    raise AssertionError("unreachable: the universe hits every set")


instances = st.lists(
    st.frozensets(st.sampled_from(ELEMENTS), min_size=1, max_size=4), min_size=0, max_size=7
)
cost_maps = st.lists(st.integers(min_value=0, max_value=8), min_size=len(ELEMENTS), max_size=len(ELEMENTS))


@settings(max_examples=300, deadline=None)
@given(instances, cost_maps)
def test_minimum_matches_brute_force(sets: list[frozenset[Key]], costs: list[int]) -> None:
    cost = dict(zip(ELEMENTS, costs, strict=True))
    sol = minimum_hitting_set(sets, cost.__getitem__)
    assert sol.optimal
    chosen = set(sol.chosen)
    assert all(s & chosen for s in sets), "every set must be hit"
    assert (len(sol.chosen), sol.cost) == brute_force(sets, cost)
    assert sol.cost == sum(cost[k] for k in sol.chosen)
    # nothing proposed that cuts nothing
    assert all(any(k in s for s in sets) for k in sol.chosen)


def test_empty_sets_are_counted_not_hit() -> None:
    a, b = ELEMENTS[0], ELEMENTS[1]
    sol = minimum_hitting_set([frozenset(), frozenset({a, b})], lambda k: 0)
    assert sol.unhittable == 1
    assert len(sol.chosen) == 1


def test_cost_breaks_ties_and_size_beats_cost() -> None:
    a, b, c = ELEMENTS[0], ELEMENTS[1], ELEMENTS[2]
    # {a} alone hits both sets but is expensive; {b, c} is cheaper but two denies: size wins.
    sol = minimum_hitting_set([frozenset({a, b}), frozenset({a, c})], {a: 8, b: 0, c: 0}.__getitem__)
    assert sol.chosen == (a,)
    # among single-element answers the cheaper one wins
    sol = minimum_hitting_set([frozenset({a, b})], {a: 5, b: 1}.__getitem__)
    assert sol.chosen == (b,)


def test_reduce_drops_supersets_and_components_split() -> None:
    a, b, c, d = ELEMENTS[:4]
    reduced = reduce_sets([frozenset({a}), frozenset({a, b}), frozenset({c, d}), frozenset({c, d})])
    assert reduced == [frozenset({a}), frozenset({c, d})]
    assert len(components(reduced)) == 2


def test_budget_exhaustion_is_reported() -> None:
    # Every pair of 7 keys: the answer needs 6 keys but disjoint pairs only bound it by 3, so one
    # search node cannot prove optimality; the greedy answer still hits everything.
    keys = [(f"a:X{i}", f"r{i}") for i in range(7)]
    sets = [frozenset(p) for p in combinations(keys, 2)]
    sol = minimum_hitting_set(sets, lambda k: 0, node_budget=1)
    assert not sol.optimal
    assert all(s & set(sol.chosen) for s in sets)
    full = minimum_hitting_set(sets, lambda k: 0)
    assert full.optimal and len(full.chosen) == 6


def test_a_component_needing_hundreds_of_keys_returns_without_exhausting_the_stack() -> None:
    from deescalate.remediate.hitting import MAX_SEARCH_DEPTH, minimum_hitting_set

    # A path of 1,000 edges: one connected component whose optimum needs 500 keys.
    keys = [("iam:CreateAccessKey", f"u{i:04d}") for i in range(1001)]
    sets = [frozenset({keys[i], keys[i + 1]}) for i in range(1000)]
    sol = minimum_hitting_set(sets, lambda k: 1)
    assert len(sol.chosen) > MAX_SEARCH_DEPTH
    assert all(s & set(sol.chosen) for s in sets)
