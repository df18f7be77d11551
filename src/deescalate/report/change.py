"""What every renderer shows about a change (`scan --terraform-plan`): introduced and resolved findings.

A report with `change` set leads with the principals the change puts at risk, each with the
Terraform addresses that open its escalation edges (and their `.tf` file and line when known).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deescalate.model import Finding, Report


@dataclass(frozen=True, slots=True, kw_only=True)
class Introduced:
    finding: Finding
    addresses: tuple[str, ...]  # the Terraform addresses that open its edges


def finding_edges(f: Finding) -> tuple[Any, ...]:
    return (*f.edges, *(e for p in f.paths for e in p))


def introduced(report: Report, findings: tuple[Finding, ...]) -> tuple[Introduced, ...]:
    """The findings (among those shown) the change introduces, in the order given."""
    change = report.change
    if change is None:
        return ()
    new = set(change.introduced)
    return tuple(
        Introduced(finding=f, addresses=change.addresses_for(finding_edges(f)))
        for f in findings
        if f.principal in new
    )


def addresses_of(report: Report, f: Finding) -> tuple[str, ...]:
    """The Terraform addresses that open any of the finding's edges (empty without a change)."""
    return report.change.addresses_for(finding_edges(f)) if report.change is not None else ()


def change_obj(report: Report) -> dict[str, Any] | None:
    change = report.change
    if change is None:
        return None
    return {
        "plan": change.plan,
        "introduced": list(change.introduced),
        "resolved": list(change.resolved),
        "opened_edges": [
            {
                "edge": o.edge,
                "addresses": list(o.addresses),
                "locations": [change.locations[a] for a in o.addresses if a in change.locations],
            }
            for o in change.opened
        ],
    }


def text_lines(report: Report, findings: tuple[Finding, ...]) -> list[str]:
    """The leading section of the text report (no colour: the caller paints headings)."""
    change = report.change
    if change is None:
        return []
    out = [f"Introduced by this change ({len(change.introduced)})"]
    intro = introduced(report, findings)
    if not change.introduced:
        out.append("  none: the change puts no new principal at risk")
    for item in intro:
        cond = " (conditional)" if item.finding.conditional else ""
        out.append(f"  {item.finding.principal}{cond}: {', '.join(item.finding.techniques)}")
        for a in item.addresses:
            where = f"  ({change.locations[a]})" if a in change.locations else ""
            out.append(f"    opened by {a}{where}")
    hidden = len(change.introduced) - len(intro)
    if hidden > 0:
        out.append(f"  ({hidden} more suppressed)")
    out.append(f"Resolved by this change ({len(change.resolved)})")
    out += [f"  {p}" for p in change.resolved] or ["  none"]
    out.append("")
    return out
