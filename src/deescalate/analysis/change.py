"""A change's effect on the findings: analyse the account before and after a Terraform plan.

Both sides run through `analyze` unchanged. What the plan leaves open (a name known only after
apply, whether an instance accepts EC2 Instance Connect) is added to the conditions of the edges it
concerns, and the findings are recomputed, so such an edge is never a definite finding. Then:
introduced = principals at risk after and not before; resolved = the reverse; each edge of the
after graph that the before graph lacks is traced to the Terraform addresses that touch its source,
target or the resource it goes through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from deescalate.analysis.analyze import analyze
from deescalate.analysis.graph import findings
from deescalate.model import ChangeSummary, Edge, OpenedEdge, Report, Snapshot
from deescalate.snapshot.terraform import Doubt, PlanScan


def _doubted(report: Report, snapshot: Snapshot, doubts: Sequence[Doubt]) -> Report:
    if not doubts:
        return report
    by_arn: dict[str, list[Doubt]] = {}
    for d in doubts:
        by_arn.setdefault(d.arn, []).append(d)
    changed = False
    edges: list[Edge] = []
    for e in report.edges:
        why = [
            d.why
            for arn in dict.fromkeys((e.source, e.target, e.via or ""))
            for d in by_arn.get(arn, ())
            if not d.techniques or e.technique in d.techniques
        ]
        if why:
            e = replace(e, conditions=tuple(dict.fromkeys((*e.conditions, *why))))
            changed = True
        edges.append(e)
    if not changed:
        return report
    found = findings(snapshot.principal_arns(), edges, report.admins)
    return replace(report, edges=tuple(edges), findings=found)


def _opened(before: Report, after: Report, scan: PlanScan) -> tuple[OpenedEdge, ...]:
    old = {e.id for e in before.edges}
    out = []
    for e in after.edges:
        if e.id in old:
            continue
        addresses: set[str] = set()
        for arn in (e.source, e.target, e.via or ""):
            addresses.update(scan.touched.get(arn, ()))
        out.append(OpenedEdge(edge=e.id, addresses=tuple(sorted(addresses))))
    return tuple(out)


def analyze_change(scan: PlanScan, *, targets: Sequence[str] = ()) -> tuple[Report, Report]:
    """(the report on the account before the change, the report after it with `change` set)."""
    before = _doubted(analyze(scan.before, targets=targets), scan.before, scan.doubts)
    after = _doubted(analyze(scan.after, targets=targets), scan.after, scan.doubts)
    at_risk_before = {f.principal for f in before.findings}
    at_risk_after = {f.principal for f in after.findings}
    summary = ChangeSummary(
        plan=scan.plan,
        introduced=tuple(sorted(at_risk_after - at_risk_before)),
        resolved=tuple(sorted(at_risk_before - at_risk_after)),
        opened=_opened(before, after, scan),
    )
    notes = (*after.notes, *scan.notes)
    return before, replace(after, change=summary, notes=tuple(dict.fromkeys(notes)))
