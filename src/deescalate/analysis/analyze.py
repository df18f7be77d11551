"""Snapshot -> Report: the analysis library's one entry point.

1. Admins (admins.py's rule) and `--target` matches (graph.py).
2. Edges from every principal that is not an admin (edges/: every technique of the registry),
   each decided by the Authorizer. Service-linked roles are not sources: only their AWS service
   can use them, and their policies cannot be changed (they remain targets).
3. Findings: who reaches an admin or a target, with paths (graph.py).
4. What the snapshot could not show: techniques through resources it has no inventory of.
"""

from __future__ import annotations

from collections.abc import Sequence

from deescalate.analysis.edges import EdgeContext, explore, unexamined
from deescalate.analysis.edges.base import Principal
from deescalate.analysis.graph import admin_verdicts, findings
from deescalate.model import ADMIN, Edge, Report, Role, Snapshot
from deescalate.policy.match import resource_matches


def analyze(snapshot: Snapshot, *, targets: Sequence[str] = ()) -> Report:
    verdicts = admin_verdicts(snapshot, targets)
    admins = frozenset(v.arn for v in verdicts if not v.target_only)
    ctx = EdgeContext(snapshot, admins=admins)
    sources = []
    skipped_service_linked = 0
    for arn in sorted(snapshot.principal_arns()):
        if arn in admins:
            continue
        principal = ctx.principals[arn]
        if isinstance(principal, Role) and principal.is_service_linked:
            skipped_service_linked += 1
            continue
        sources.append(principal)
    edges = _grow(ctx, sources, {v.arn for v in verdicts} | {ADMIN})
    found = findings(snapshot.principal_arns(), edges, verdicts)

    notes: list[str] = []
    for pattern in targets:
        if not any(v.target_only and _matches(v.arn, pattern) for v in verdicts) and not any(
            _matches(a, pattern) for a in admins
        ):
            notes.append(f"--target {pattern} matches no principal of the snapshot")
    if skipped_service_linked:
        notes.append(
            f"{skipped_service_linked} service-linked role(s) not analysed as sources: only their AWS "
            "service can act as them and their policies cannot be changed"
        )
    conditional = sum(1 for e in edges if e.conditional)
    if conditional:
        notes.append(
            f"{conditional} of {len(edges)} edges are conditional: they depend on request context or on "
            "facts the snapshot lacks (each edge names its conditions)"
        )
    gaps = sorted({f"{rec.kind} in {rec.region}" for rec in snapshot.inventory if rec.state.value != "ok"})
    if gaps:
        notes.append("resource inventory incomplete for: " + ", ".join(gaps))
    missing = unexamined(ctx)
    if not snapshot.has_inventory:
        notes.append(
            "the snapshot holds IAM data only (no resource inventory): techniques through existing "
            "resources are unexamined"
        )
    return Report(
        account_id=snapshot.account_id,
        admins=verdicts,
        findings=found,
        edges=tuple(edges),
        unexamined=tuple(missing),
        notes=tuple(notes),
        source=snapshot.source,
        accounts=snapshot.all_accounts(),
    )


def _grow(ctx: EdgeContext, sources: list[Principal], sinks: set[str]) -> list[Edge]:
    """Every edge on some path to a sink, found in rounds outwards from the sinks.

    Round 1 asks only for edges into the sinks (admins, targets, ADMIN); round k+1 only for edges
    into the principals round k found able to reach a sink. Edges into principals from which
    nothing escalates are never decided: that is what keeps 10,000 principals fast.
    """
    reached = set(sinks)
    frontier = set(sinks)
    found: dict[str, Edge] = {}
    outright: set[str] = set()  # sources with an unconditional edge to ADMIN: what-ifs skipped
    while frontier:
        round_ctx = ctx.for_round(frozenset(frontier))
        new: set[str] = set()
        for source in sources:
            explored = explore(round_ctx, source, what_if=source.arn not in outright)
            if explored.outright:
                outright.add(source.arn)
            for edge in explored.edges:
                if edge.target in reached and edge.id not in found:
                    found[edge.id] = edge
                    if source.arn not in reached:
                        new.add(source.arn)
        reached |= new
        frontier = new
    # Sources that rewrite others see every target (EdgeContext.wants); keep what leads somewhere.
    return sorted(
        (e for e in found.values() if e.target in reached), key=lambda e: (e.source, e.target, e.id)
    )


def _matches(arn: str, pattern: str) -> bool:
    return resource_matches(pattern, arn)
