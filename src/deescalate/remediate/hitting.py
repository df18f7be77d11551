"""Exact minimum-cost hitting set: the combinatorial core of the deny planner.

Cutting a principal's escalation edges means denying at least one grant of every alternative of
every edge. Each alternative is a set of grant keys; a plan is a set of keys that *hits* every such
set. The objective is lexicographic, over the chosen keys K:

    (sum of disruption(k), |K|, sum of cost(k))

then, among exact equals, the first in a fixed order so that the same input always gives the same
plan. `disruption` defaults to 0, which gives the plain objective "fewest keys, then the least
total cost". The planner passes the disruption of a deny (what the principal loses that does not
lead to admin).

Minimum hitting set is NP-hard in general, but one principal's instance is small (tens of sets,
tens of keys), and it falls apart into independent components, so an exact branch and bound is
fast. The search is complete: every hitting set contains an element of any unhit set, so branching
on the elements of the smallest unhit set (forbidding the elements already tried in earlier
branches) visits every minimal solution once. A node budget guards against pathological inputs;
when it runs out the best solution found so far is returned with `optimal=False`.
"""

from __future__ import annotations

import heapq
import sys
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain

Key = tuple[str, ...]  # (action, resource[, principal that is denied it]) of a grant
DEFAULT_NODE_BUDGET = 200_000
# A component whose best known solution needs more keys than this is not searched (the search is
# one recursion level per key): the greedy solution stands, proven optimal only when the root's
# lower bound already meets it. Such components are an iam:*-like principal's thousands of
# independent take-overs, whose greedy answer the quota widening then folds into patterns anyway.
MAX_SEARCH_DEPTH = 400
# reduce_sets' order: an unsigned machine type of at least 32 bits, its bytes made big-endian.
_RANK_TYPE = next(t for t in "ILQ" if array(t).itemsize >= 4)
_SWAP = sys.byteorder == "little"


@dataclass(frozen=True, slots=True, kw_only=True)
class HittingSolution:
    chosen: tuple[Key, ...]  # sorted
    cost: int
    optimal: bool  # False only when the node budget ran out
    disruption: int = 0
    unhittable: int = 0  # number of empty input sets (nothing can hit them)
    nodes: int = 0  # search nodes visited, for measurement


def reduce_sets(sets: Iterable[frozenset[Key]]) -> list[frozenset[Key]]:
    """Drop duplicates, empty sets and supersets: hitting a subset hits every superset of it."""
    distinct = {s for s in sets if s}
    # Ordered by (size, sorted keys), the keys compared by their rank: the same order as comparing
    # the keys themselves (long tuples of ARNs), at a fraction of the cost.
    rank = {k: i for i, k in enumerate(sorted(frozenset().union(*distinct)))}
    by_rank = rank.__getitem__

    def order(s: frozenset[Key]) -> tuple[int, bytes]:
        # The sorted ranks as fixed-width big-endian bytes: compared by memcmp, in the same order
        # as the lists of ranks (and so as the sorted keys), at a fraction of the cost.
        ranks = array(_RANK_TYPE, sorted(map(by_rank, s)))
        if _SWAP:
            ranks.byteswap()
        return len(s), ranks.tobytes()

    unique = sorted(distinct, key=order)
    # Each kept set is filed under its rarest key (fewest sets hold it; ties by key). A kept subset
    # t of s has its rarest key in s, so only the sets filed under s's keys need checking; filing
    # under every key made a key shared by tens of thousands of sets (composed edges through one
    # helper) cost a check against each of them, for every set: quadratic.
    frequency = Counter(chain.from_iterable(unique))
    # (frequency, rank) as one number: rank < len(rank), so the order is the same.
    rarity = {k: frequency[k] * len(rank) + r for k, r in rank.items()}.__getitem__
    kept: list[frozenset[Key]] = []
    filed: dict[Key, list[frozenset[Key]]] = {}  # rarest key -> kept sets filed under it
    for s in unique:
        if not any(t <= s for k in s for t in filed.get(k, ())):
            filed.setdefault(min(s, key=rarity), []).append(s)
            kept.append(s)
    return kept


def components(sets: Sequence[frozenset[Key]]) -> list[list[frozenset[Key]]]:
    """Group sets that share elements (transitively); components can be solved independently."""
    parent: dict[Key, Key] = {}

    def find(x: Key) -> Key:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    # A root is always the least key of its tree (the larger root goes under the smaller), so the
    # roots, and the groups, do not depend on the order keys are joined in.
    for s in sets:
        items = iter(s)
        first = next(items)
        parent.setdefault(first, first)
        for k in items:
            parent.setdefault(k, k)
            ra, rb = find(first), find(k)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    groups: dict[Key, list[frozenset[Key]]] = {}
    for s in sets:
        groups.setdefault(find(next(iter(s))), []).append(s)
    return [groups[r] for r in sorted(groups)]


def kernelize(
    sets: list[frozenset[Key]],
    cost: Callable[[Key], int],
    *,
    disruption: Callable[[Key], int] | None = None,
) -> tuple[list[Key], list[frozenset[Key]]]:
    """Shrink the instance without losing an optimum; returns (keys every optimum may take, the rest).

    Two classic reductions, repeated until neither applies:
    * a set with one key forces that key (and every set it hits is done);
    * a key `a` is dominated by `b` when every set holding `a` also holds `b` and `b` costs no more:
      in any solution `a` can be swapped for `b` (or dropped, if `b` is in it) at no loss in size or
      cost, so `a` is removed. On an exact tie (same sets, same cost) the larger key goes. With a
      disruption, `b` must disrupt less, or as much and cost no more.
    An iam:* principal's thousands of edges (a pair of grants per user or role it can take over)
    collapse to a handful of real choices this way.
    """
    costs = {k: cost(k) for k in frozenset().union(*sets)}
    harm = {k: (disruption(k) if disruption else 0) for k in costs}
    forced: list[Key] = []
    current = list(sets)
    while True:
        singles = sorted({next(iter(s)) for s in current if len(s) == 1})
        if singles:
            forced.extend(singles)
            hit = set(singles)
            current = [s for s in current if hit.isdisjoint(s)]
            continue
        occurs: dict[Key, set[int]] = {}
        for i, s in enumerate(current):
            for k in s:
                occurs.setdefault(k, set()).add(i)
        removed: set[Key] = set()
        for a in sorted(occurs, key=lambda k: (-harm[k], -costs[k], k)):
            mine = occurs[a]
            holders = iter(mine)
            partners = current[next(holders)].intersection(*(current[i] for i in holders)) - {a} - removed
            for b in sorted(partners):
                if harm[b] < harm[a]:
                    removed.add(a)
                    break
                if harm[b] > harm[a]:
                    continue
                if costs[b] < costs[a] or (costs[b] == costs[a] and (occurs[b] > mine or b < a)):
                    removed.add(a)
                    break
        if not removed:
            return forced, current
        current = reduce_sets(frozenset(s - removed) for s in current)


def minimum_hitting_set(
    sets: Iterable[frozenset[Key]],
    cost: Callable[[Key], int],
    *,
    disruption: Callable[[Key], int] | None = None,
    node_budget: int = DEFAULT_NODE_BUDGET,
) -> HittingSolution:
    """The keys hitting every non-empty set that minimise the objective in the module docstring.

    Costs and disruptions must be non-negative; the objective is additive, so components are
    searched independently.
    """
    materialised = list(sets)
    unhittable = sum(1 for s in materialised if not s)
    forced, kernel = kernelize(reduce_sets(materialised), cost, disruption=disruption)
    chosen: list[Key] = list(forced)
    optimal = True
    nodes = 0
    for comp in components(kernel):
        search = _Search(comp, cost, disruption=disruption, node_budget=max(1, node_budget - nodes))
        best, complete = search.run()
        nodes += search.nodes
        chosen.extend(best)
        optimal = optimal and complete
    return HittingSolution(
        chosen=tuple(sorted(chosen)),
        cost=sum(cost(k) for k in chosen),
        disruption=sum(disruption(k) for k in chosen) if disruption else 0,
        optimal=optimal,
        unhittable=unhittable,
        nodes=nodes,
    )


Score = tuple[int, int, int]  # (disruption, keys, cost)


class _Search:
    """Branch and bound over one component, minimising the lexicographic objective."""

    def __init__(
        self,
        sets: list[frozenset[Key]],
        cost: Callable[[Key], int],
        *,
        disruption: Callable[[Key], int] | None,
        node_budget: int,
    ) -> None:
        self.sets = sets
        keys = {k for s in sets for k in s}
        self.costs = {k: cost(k) for k in keys}
        self.harm = {k: (disruption(k) if disruption else 0) for k in keys}
        if any(c < 0 for c in self.costs.values()) or any(c < 0 for c in self.harm.values()):
            raise ValueError("hitting-set costs and disruptions must be non-negative")
        self.node_budget = node_budget
        self.nodes = 0
        self.exhausted = False
        greedy = self._greedy()
        self.best: list[Key] = greedy
        self.best_score = self._score(greedy)

    def _score(self, chosen: list[Key]) -> Score:
        return (sum(self.harm[k] for k in chosen), len(chosen), sum(self.costs[k] for k in chosen))

    def _order(self, s: frozenset[Key]) -> list[Key]:
        return sorted(s, key=lambda k: (self.harm[k], self.costs[k], k))

    def _greedy(self) -> list[Key]:
        # The least disruptive key hitting the most unhit sets, cheapest first on ties: a first bound.
        # A key's count of unhit sets only falls, so its priority only worsens: a heap whose stale
        # entries are re-pushed when popped yields exactly the minimum of a full recount each step.
        holding: dict[Key, list[int]] = {}
        for i, s in enumerate(self.sets):
            for k in s:
                holding.setdefault(k, []).append(i)
        counts = {k: len(ids) for k, ids in holding.items()}
        hit = [False] * len(self.sets)
        heap = [(self.harm[k], -n, self.costs[k], k) for k, n in counts.items()]
        heapq.heapify(heap)
        picked: list[Key] = []
        left = len(self.sets)
        while left:
            harm, neg, cost, k = heapq.heappop(heap)
            if -neg != counts[k]:
                if counts[k]:
                    heapq.heappush(heap, (harm, -counts[k], cost, k))
                continue
            picked.append(k)
            for i in holding[k]:
                if not hit[i]:
                    hit[i] = True
                    left -= 1
                    for other in self.sets[i]:
                        counts[other] -= 1
        return picked

    def _lower_bound(
        self, chosen: list[Key], unhit: list[frozenset[Key]], forbidden: frozenset[Key]
    ) -> Score | None:
        # Pairwise-disjoint unhit sets each need their own key: each criterion of a completion is at
        # least what is chosen plus, per packed set, its cheapest allowed key. Every component of
        # the bound is a lower bound, so the tuple is a lexicographic lower bound too.
        packed = 0
        used: set[Key] = set()
        extra_harm = extra_cost = 0
        for s in sorted(unhit, key=len):
            allowed = s - forbidden
            if not allowed:
                return None  # infeasible in this branch
            if used.isdisjoint(s):
                packed += 1
                used |= s
                extra_harm += min(self.harm[k] for k in allowed)
                extra_cost += min(self.costs[k] for k in allowed)
        base = self._score(chosen)
        return (base[0] + extra_harm, base[1] + packed, base[2] + extra_cost)

    def run(self) -> tuple[list[Key], bool]:
        if len(self.best) > MAX_SEARCH_DEPTH:
            bound = self._lower_bound([], list(self.sets), frozenset())
            return sorted(self.best), bound is not None and bound >= self.best_score
        self._visit([], list(self.sets), frozenset())
        return sorted(self.best), not self.exhausted

    def _visit(self, chosen: list[Key], unhit: list[frozenset[Key]], forbidden: frozenset[Key]) -> None:
        if self.exhausted:
            return
        self.nodes += 1
        if self.nodes > self.node_budget or len(chosen) > MAX_SEARCH_DEPTH:
            self.exhausted = True
            return
        if not unhit:
            score = self._score(chosen)
            if score < self.best_score:
                self.best, self.best_score = list(chosen), score
            return
        bound = self._lower_bound(chosen, unhit, forbidden)
        if bound is None or bound >= self.best_score:
            return
        pivot = min(unhit, key=lambda s: (len(s - forbidden), sorted(s)))
        tried: set[Key] = set()
        for k in self._order(pivot - forbidden):
            rest = [s for s in unhit if k not in s]
            self._visit([*chosen, k], rest, forbidden | tried)
            tried.add(k)
