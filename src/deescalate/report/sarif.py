"""SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps).

One rule per technique that has a result (per known technique with `sarif_all_rules`), with help
text and a link. One result per principal at risk and per technique of the first step of its
escalations (the thing the principal itself can do). Each result is located twice: logically by
the principal's ARN, and physically, as code scanning requires, at the place in the snapshot's IAM
file (`iam/get-account-authorization-details.json`, or the file given) where the principal is
defined — its `"Arn"` line and column, found by `report.locate` — so code scanning can show the
principal's own entry. Without such a location (a library caller that gave none) the result points
at the snapshot the report names, line 1. With `scan --terraform-plan`, a finding the change opens
is located at the `.tf` block of an address that opens it (when known), and the addresses are
further logical locations. `partialFingerprints` hash the principal ARN and technique
only, so a finding keeps its identity across scans while paths, severities or file paths change.
The version of AWS's Service Authorization Reference the analysis used is in the driver's and the
run's `properties`.

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
from deescalate.report.common import DEFAULT_OPTIONS, RenderOptions, SourceLocation, edge_step, view
from deescalate.report.gate import GateResult
from deescalate.sar import reference_version

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


def _physical(loc: SourceLocation) -> dict[str, Any]:
    artifact: dict[str, Any] = {"uri": loc.uri}
    if loc.uri_base_id:
        artifact["uriBaseId"] = loc.uri_base_id
    return {"artifactLocation": artifact, "region": {"startLine": loc.line, "startColumn": loc.column}}


def _terraform(report: Report, f: Finding) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
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


def _results_for(f: Finding, sev: Severity, rule_index: dict[str, int], where: SourceLocation,
                 report: Report) -> list[dict[str, Any]]:
    # Group the principal's escalations by their first step's technique (edges compared by id).
    first: dict[str, list[tuple[Edge, ...]]] = {}
    starts: set[str] = set()
    for p in f.paths:
        if p:
            first.setdefault(p[0].technique, []).append(p)
            starts.add(p[0].id)
    for e in f.edges:
        first.setdefault(e.technique, [])
        if e.id not in starts:
            first[e.technique].append((e,))
            starts.add(e.id)
    # A finding a Terraform change opens is located at the change (its .tf block) when known.
    logical, physical = _terraform(report, f)
    introduced = report.change is not None and f.principal in report.change.introduced
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
                "physicalLocation": physical or _physical(where),
                "logicalLocations": [{"fullyQualifiedName": f.principal, "name": f.principal,
                                      "kind": "resource"}, *logical],
            }],
            "partialFingerprints": {FINGERPRINT_KEY: fingerprint(f.principal, tid)},
            "properties": {"severity": sev.value, "security-severity": _SCORE[sev],
                           "conditional": f.conditional, "techniques": list(f.techniques),
                           **({"introduced": introduced} if report.change is not None else {})},
        })
    return out


def _first_steps(f: Finding) -> set[str]:
    return {p[0].technique for p in f.paths if p} | {e.technique for e in f.edges}


# SARIF uriBaseIds for IAM files with no lasting path of their own: the packaged demo's (no path of
# this machine in the output) and a snapshot `scan` collected into a temporary directory.
DEMO_BASE = "DEESCALATE_DEMO"
COLLECTED_BASE = "DEESCALATE_COLLECTED"
_BASES = {
    DEMO_BASE: "the demo snapshot packaged with deescalate (deescalate/data/demo/)",
    COLLECTED_BASE: "the snapshot this scan collected into a temporary directory (deleted after the scan)",
}


def sarif_obj(report: Report, gate: GateResult | None = None,
              options: RenderOptions = DEFAULT_OPTIONS) -> dict[str, Any]:
    v = view(report, gate)
    shown = [*v.active, *(sf.finding for sf in v.suppressed)]
    used = {t for f in shown for t in _first_steps(f)}
    # Rules: those with results, by default; every known technique (and any unknown id used) if asked.
    ids = [t.id for t in all_techniques()] if options.sarif_all_rules else []
    canonical = {t: technique(t).id if technique(t).known else t for t in used}
    ids += sorted({c for c in canonical.values() if c not in ids})
    rules = [_rule(t) for t in ids]
    rule_index = {t: i for i, t in enumerate(ids)}
    for t, c in canonical.items():  # known ids may come in another case or as an alias
        rule_index.setdefault(t, rule_index[c])
    # Where a principal has no known place: the snapshot the report names, as a URI reference.
    fallback = SourceLocation(uri=quote(report.source or "snapshot", safe="/:@-._~"))

    def where(principal: str) -> SourceLocation:
        return options.locations.get(principal, fallback)

    results: list[dict[str, Any]] = []
    for f in v.active:
        results += _results_for(f, v.severity[f.principal], rule_index, where(f.principal), report)
    for sf in v.suppressed:
        for r in _results_for(sf.finding, sf.severity, rule_index, where(sf.finding.principal), report):
            r["suppressions"] = [{"kind": "external", "status": "accepted", "justification": s.reason}
                                 for s in sf.by]
            results.append(r)
    for r in results:
        r["ruleId"] = ids[r["ruleIndex"]]
    notes = [*report.unexamined, *report.notes, *v.warnings]
    reference = reference_version()
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "deescalate",
            "version": __version__,
            "semanticVersion": __version__,
            "informationUri": "https://pathfinding.cloud/",
            "rules": rules,
            "properties": {"serviceAuthorizationReference": reference},
        }},
        "automationDetails": {"id": f"deescalate/{report.account_id}/"},
        "results": results,
        "properties": {"account_id": report.account_id, "admins": list(v.full_admins),
                       "serviceAuthorizationReference": reference},
    }
    bases = sorted({b for f in shown if (b := where(f.principal).uri_base_id) in _BASES})
    if bases:
        run["originalUriBaseIds"] = {b: {"description": {"text": _BASES[b]}} for b in bases}
    if notes:
        run["invocations"] = [{
            "executionSuccessful": True,
            "toolExecutionNotifications": [{"level": "note", "message": {"text": n}} for n in notes],
        }]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def render(report: Report, *, gate: GateResult | None = None, color: bool = False,
           options: RenderOptions = DEFAULT_OPTIONS) -> str:
    return json.dumps(sarif_obj(report, gate, options), indent=2) + "\n"
