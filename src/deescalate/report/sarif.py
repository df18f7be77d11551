"""SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps).

One rule per technique, with help text and a link. One result per principal at risk and per
technique of the first step of its escalations (the thing the principal itself can do), located
by the principal's ARN as a logical location. Code-scanning services also want a physical
location, so each result points at the snapshot it came from. `partialFingerprints` hash the
principal ARN and technique only, so a finding keeps its identity across scans while paths,
severities or the snapshot path change.

Spec: https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from deescalate import __version__
from deescalate.analysis.severity import Severity
from deescalate.analysis.techniques import all_techniques, technique
from deescalate.model import Edge, Finding, Report
from deescalate.report.change import addresses_of
from deescalate.report.common import edge_step, view
from deescalate.report.gate import GateResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "deescalateFinding/v1"

# SARIF levels and GitHub's numeric `security-severity` (its bands: >=9 critical, >=7 high,
# >=4 medium, else low).
_LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
          Severity.LOW: "note"}
_SCORE = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5", Severity.LOW: "3.0"}


def fingerprint(principal: str, technique_id: str) -> str:
    return hashlib.sha256(f"{principal}\n{technique_id}".encode()).hexdigest()


def _rule(tid: str) -> dict[str, Any]:
    t = technique(tid)
    help_text = f"{t.description}\n\nFix: {t.remediation}\n\nMore: {t.link}"
    return {
        "id": t.id if t.known else tid,
        "name": "Escalation_" + "".join(c if c.isalnum() else "_" for c in (t.id if t.known else tid)),
        "shortDescription": {"text": t.title},
        "fullDescription": {"text": t.description},
        "help": {"text": help_text, "markdown": f"{t.description}\n\n**Fix:** {t.remediation}\n\n"
                 f"[About this technique]({t.link})"},
        "helpUri": t.link,
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["security", "aws", "iam", "privilege-escalation"],
                       "security-severity": "8.0", "precision": "high"},
    }


def _terraform(report: Report, f: Finding, uri: str) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """(logical locations of the Terraform addresses that open the finding, its .tf physical location)."""
    change = report.change
    if change is None:
        return [], None
    addresses = addresses_of(report, f)
    logical = [{"fullyQualifiedName": a, "name": a.rsplit(".", 1)[-1], "kind": "resource"} for a in addresses]
    physical = None
    for a in addresses:
        where = change.locations.get(a)
        if where:
            file, _, line = where.rpartition(":")
            physical = {"artifactLocation": {"uri": quote(file, safe="/:@-._~")},
                        "region": {"startLine": int(line) if line.isdigit() else 1}}
            break
    return logical, physical


def _results_for(f: Finding, sev: Severity, rule_index: dict[str, int], uri: str,
                 report: Report | None = None) -> list[dict[str, Any]]:
    # Group the principal's escalations by their first step's technique.
    first: dict[str, list[tuple[Edge, ...]]] = {}
    for p in f.paths:
        if p:
            first.setdefault(p[0].technique, []).append(p)
    for e in f.edges:
        first.setdefault(e.technique, [])
        if not any(p[0] == e for p in first[e.technique]):
            first[e.technique].append((e,))
    logical, physical = _terraform(report, f, uri) if report is not None else ([], None)
    introduced = report is not None and report.change is not None and f.principal in report.change.introduced
    out = []
    for tid, paths in sorted(first.items()):
        shortest = min(paths, key=len)
        steps = " -> ".join(edge_step(e) for e in shortest)
        cond = " It depends on a condition the snapshot cannot settle." if f.conditional else ""
        if introduced:
            opened_by = ", ".join(a["fullyQualifiedName"] for a in logical)
            cond += f" Introduced by this change ({opened_by})." if logical else " Introduced by this change."
        msg = (f"{f.principal} can escalate ({sev.value}) starting with {tid}; shortest of "
               f"{len(paths)} path(s), {len(shortest)} step(s): {steps}.{cond}")
        out.append({
            "ruleId": tid,
            "ruleIndex": rule_index[tid],
            "level": _LEVEL[sev],
            "message": {"text": msg},
            "locations": [{
                "physicalLocation": physical
                or {"artifactLocation": {"uri": uri}, "region": {"startLine": 1}},
                "logicalLocations": [{"fullyQualifiedName": f.principal, "name": f.principal,
                                      "kind": "resource"}, *logical],
            }],
            "partialFingerprints": {FINGERPRINT_KEY: fingerprint(f.principal, tid)},
            "properties": {"severity": sev.value, "security-severity": _SCORE[sev],
                           "conditional": f.conditional, "techniques": list(f.techniques),
                           **({"introduced": introduced} if report is not None and report.change else {})},
        })
    return out


def sarif_obj(report: Report, gate: GateResult | None = None) -> dict[str, Any]:
    v = view(report, gate)
    ids = [t.id for t in all_techniques()]
    used = {e.technique for f in report.findings for p in f.paths for e in p}
    used |= {e.technique for f in report.findings for e in f.edges}
    ids += sorted(t for t in used if not technique(t).known)
    rules = [_rule(t) for t in ids]
    rule_index = {t: i for i, t in enumerate(ids)}
    for t in used:  # known ids may come in another case or as an alias
        rule_index.setdefault(t, rule_index[technique(t).id])
    # A URI reference: spaces and the like percent-encoded; a relative path stays relative, which is
    # what code scanning links against the checked-out repository.
    uri = quote(report.source or "snapshot", safe="/:@-._~")
    results: list[dict[str, Any]] = []
    for f in v.active:
        results += _results_for(f, v.severity[f.principal], rule_index, uri, report)
    for sf in v.suppressed:
        for r in _results_for(sf.finding, sf.severity, rule_index, uri, report):
            r["suppressions"] = [{"kind": "external", "status": "accepted", "justification": s.reason}
                                 for s in sf.by]
            results.append(r)
    for r in results:
        r["ruleId"] = ids[r["ruleIndex"]]
    notes = [*report.unexamined, *report.notes, *v.warnings]
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "deescalate",
            "version": __version__,
            "semanticVersion": __version__,
            "informationUri": "https://pathfinding.cloud/",
            "rules": rules,
        }},
        "automationDetails": {"id": f"deescalate/{report.account_id}/"},
        "results": results,
        "properties": {"account_id": report.account_id, "admins": list(v.full_admins)},
    }
    if notes:
        run["invocations"] = [{
            "executionSuccessful": True,
            "toolExecutionNotifications": [{"level": "note", "message": {"text": n}} for n in notes],
        }]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render(report: Report, *, gate: GateResult | None = None, color: bool = False) -> str:
    return json.dumps(sarif_obj(report, gate), indent=2) + "\n"
