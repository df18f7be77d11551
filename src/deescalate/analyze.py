"""Snapshot -> Report: the analysis library's one entry point.

1. Admins (admins.py's rule) and `--target` matches (graph.py).
2. Edges from every principal that is not an admin (edges/: every technique of the registry),
   each decided by the Authorizer. Service-linked roles are not sources: only their AWS service
   can use them, and their policies cannot be changed (they remain targets).
3. Findings: who reaches an admin or a target, with paths (graph.py).
4. What the snapshot could not show: techniques through resources it has no inventory of.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from deescalate.edges import EdgeContext, edges_from, unexamined
from deescalate.graph import admin_verdicts, findings
from deescalate.model import Edge, Report, Snapshot


def analyze(snapshot: Snapshot, *, targets: Sequence[str] = ()) -> Report:
    verdicts = admin_verdicts(snapshot, targets)
    admins = frozenset(v.arn for v in verdicts if not v.target_only)
    ctx = EdgeContext(snapshot, admins=admins)
    edges: list[Edge] = []
    skipped_service_linked = 0
    for arn in sorted(snapshot.principal_arns()):
        if arn in admins:
            continue
        principal = ctx.principals[arn]
        if getattr(principal, "is_service_linked", False):
            skipped_service_linked += 1
            continue
        edges.extend(edges_from(ctx, principal))
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
    )


def _matches(arn: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(arn, pattern)
