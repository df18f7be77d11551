"""Admins, targets and reachability: from the edges to the findings.

Nodes are principal ARNs plus ADMIN (the pseudo-node self-escalation edges point at). Sinks are
the admins (admins.py decides who), the principals matching a `--target` pattern, and ADMIN.
A finding is a non-admin principal from which some sink other than itself is reachable through
any number of edges. For each sink it reaches, the finding holds one shortest path — preferring a
path of unconditional edges when one exists —, and all its escalation edges (edges leaving it
that end on a sink). It is conditional when every path depends on a conditional edge.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence

from deescalate.analysis.admins import admin_reason
from deescalate.model import ADMIN, AdminVerdict, Edge, Finding, Snapshot
from deescalate.policy.match import resource_matches


def admin_verdicts(snapshot: Snapshot, targets: Sequence[str] = ()) -> tuple[AdminVerdict, ...]:
    """Every admin with the reason, then every --target match that is not admin (target_only)."""
    out: list[AdminVerdict] = []
    for arn in sorted(snapshot.principal_arns()):
        principal = snapshot.users.get(arn) or snapshot.roles.get(arn)
        if principal is None:
            continue
        reason = admin_reason(snapshot, principal)
        if reason is not None:
            out.append(AdminVerdict(arn=arn, reason=reason))
            continue
        for pattern in targets:
            # `*` and `?` only, case-sensitive like ARNs themselves.
            if resource_matches(pattern, arn):
                out.append(AdminVerdict(arn=arn, reason=f"matches --target {pattern}", target_only=True))
                break
    return tuple(out)


def _first_edges(
    adjacency: Mapping[str, Sequence[Edge]], *, unconditional: bool
) -> dict[str, dict[str, Edge]]:
    """node -> target -> the first of node's edges to target (in `adjacency`'s order, which
    sorts by target first), unconditional ones only if asked."""
    out: dict[str, dict[str, Edge]] = {}
    for node, edges in adjacency.items():
        first: dict[str, Edge] = {}
        for e in edges:
            if not (unconditional and e.conditional):
                first.setdefault(e.target, e)
        if first:
            out[node] = first
    return out


def _bfs(start: str, first: Mapping[str, Mapping[str, Edge]], targets: frozenset[str]) -> dict[str, Edge]:
    """Parent edge of every node reachable from `start` (shortest in number of edges).

    The breadth-first search over adjacency lists sorted by target: each node's new targets
    (a set difference, not a loop over every edge: dense accounts give a node thousands of edges
    to targets already seen) are taken in target order, each through its first edge. `targets`
    is every node some edge of `first` goes to: once all of them are seen, nothing is left to
    find (dense accounts reach them all within the first nodes of the queue)."""
    parent: dict[str, Edge] = {}
    seen = {start}
    everything = len(targets) + (start not in targets)
    queue = deque([start])
    while queue and len(seen) < everything:
        node = queue.popleft()
        out = first.get(node)
        if out is None:
            continue
        fresh = out.keys() - seen
        if not fresh:
            continue
        for target in sorted(fresh):
            seen.add(target)
            parent[target] = out[target]
            queue.append(target)
    return parent


def _path(start: str, end: str, parent: Mapping[str, Edge]) -> tuple[Edge, ...]:
    path: list[Edge] = []
    node = end
    while node != start:
        edge = parent[node]
        path.append(edge)
        node = edge.source
    return tuple(reversed(path))


def can_reach(sinks: set[str], edges: Iterable[Edge]) -> set[str]:
    """Every node from which a sink is reachable (reverse breadth-first search from the sinks)."""
    reverse: dict[str, list[str]] = {}
    for e in edges:
        reverse.setdefault(e.target, []).append(e.source)
    seen = set(sinks)
    queue = deque(sinks)
    while queue:
        node = queue.popleft()
        for src in reverse.get(node, ()):
            if src not in seen:
                seen.add(src)
                queue.append(src)
    return seen


def findings(
    principals: Iterable[str], edges: Sequence[Edge], verdicts: Sequence[AdminVerdict]
) -> tuple[Finding, ...]:
    admins = {v.arn for v in verdicts if not v.target_only}
    sinks = {v.arn for v in verdicts} | {ADMIN}
    adjacency: dict[str, list[Edge]] = {}
    for e in edges:
        adjacency.setdefault(e.source, []).append(e)
    for out_edges in adjacency.values():
        out_edges.sort(key=lambda e: (e.target, e.technique, e.via or ""))
    reach = can_reach(sinks, edges)
    firm_first = _first_edges(adjacency, unconditional=True)
    loose_first = _first_edges(adjacency, unconditional=False)
    firm_targets = frozenset(t for out in firm_first.values() for t in out)
    loose_targets = frozenset(t for out in loose_first.values() for t in out)
    out: list[Finding] = []
    for arn in sorted(principals):
        if arn in admins or arn not in reach or arn not in adjacency:
            continue
        firm = _bfs(arn, firm_first, firm_targets)
        loose = _bfs(arn, loose_first, loose_targets)
        reached = sorted(s for s in sinks if s != arn and s in loose)
        if not reached:
            continue
        paths = tuple(_path(arn, s, firm if s in firm else loose) for s in reached)
        escalations = tuple(e for e in adjacency[arn] if e.target in sinks)
        conditional = not any(s in firm for s in reached)
        techniques = sorted({e.technique for p in paths for e in p} | {e.technique for e in escalations})
        out.append(
            Finding(
                principal=arn,
                techniques=tuple(techniques),
                paths=paths,
                edges=escalations,
                conditional=conditional,
            )
        )
    return tuple(out)
