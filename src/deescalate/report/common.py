"""What every renderer shares: short names for ARNs, the findings to show, the escalation subgraph.

Kept free of any output syntax: escaping belongs to each renderer, since each format has its own
rules (HTML entities, Mermaid entity codes, DOT quoted strings).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from deescalate.analysis.severity import Severity, finding_severity
from deescalate.model import ADMIN, Edge, Finding, Report
from deescalate.report.gate import GateResult, SuppressedFinding


def short_name(arn: str) -> str:
    """`arn:aws:iam::1:role/path/Name` -> `Name`; `admin` stays `admin`; anything else unchanged."""
    if arn == ADMIN:
        return ADMIN
    tail = arn.split(":", 5)[-1]
    return tail.rsplit("/", 1)[-1] or arn


def kind_of(arn: str) -> str:
    """user, role, group, root, admin or principal (when the ARN says nothing else)."""
    if arn == ADMIN:
        return ADMIN
    tail = arn.split(":", 5)[-1]
    head = tail.split("/", 1)[0]
    return head if head in {"user", "role", "group", "root", "assumed-role"} else "principal"


def target_label(target: str) -> str:
    return "admin (self-escalation)" if target == ADMIN else target


def edge_step(e: Edge) -> str:
    """One step of a path in words: `A --iam-007--> admin (via X) [if ...]`."""
    via = f" via {e.via}" if e.via else ""
    cond = f" [only if: {'; '.join(e.conditions)}]" if e.conditions else ""
    return f"{e.source} --{e.technique}--> {target_label(e.target)}{via}{cond}"


@dataclass(frozen=True, slots=True, kw_only=True)
class View:
    """The report as the renderers show it: findings split by the gate, with severities."""

    active: tuple[Finding, ...]
    suppressed: tuple[SuppressedFinding, ...]
    severity: dict[str, Severity]
    full_admins: tuple[str, ...]
    targets: tuple[str, ...]
    technique_counts: tuple[tuple[str, int], ...]  # over active findings' edges and paths
    subgraph: tuple[Edge, ...]  # every edge on a path or leaving a principal at risk, deduplicated
    warnings: tuple[str, ...]


def view(report: Report, gate: GateResult | None) -> View:
    if gate is not None:
        active, suppressed, severities = gate.active, gate.suppressed, dict(gate.severities)
        warnings = gate.warnings()
    else:
        active, suppressed, warnings = report.findings, (), ()
        severities = {f.principal: finding_severity(f, report) for f in report.findings}
    order = {s: i for i, s in enumerate((Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW))}
    new = set(report.change.introduced) if report.change is not None else set()
    # With a change (scan --terraform-plan), the findings it introduces lead.
    active = tuple(sorted(active, key=lambda f: (f.principal not in new, order[severities[f.principal]],
                                                 f.principal)))
    counts: Counter[str] = Counter()
    edges: dict[str, Edge] = {}
    for f in report.findings:
        for e in (*(e for p in f.paths for e in p), *f.edges):
            edges.setdefault(e.id, e)
    for f in active:
        counts.update({e.technique for p in f.paths for e in p} | {e.technique for e in f.edges})
    return View(
        active=active,
        suppressed=suppressed,
        severity=severities,
        full_admins=tuple(sorted(a.arn for a in report.admins if not a.target_only)),
        targets=tuple(sorted(a.arn for a in report.admins if a.target_only)),
        technique_counts=tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        subgraph=tuple(sorted(edges.values(), key=lambda e: e.id)),
        warnings=warnings,
    )
