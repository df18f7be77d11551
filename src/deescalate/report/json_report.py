"""The JSON report: a documented, versioned object (schema: `schemas/report.schema.json`).

`schema_version` follows semantic versioning: a new optional field bumps the minor version, a
removed or changed field bumps the major one. Consumers should check the major version.

It is for machines, so it keeps every path and every escalation edge whatever `--detail` says. It
is written as it is produced (`write`): one finding serialized at a time, so a report of tens of
megabytes never sits whole in memory; the bytes are exactly those of `json.dumps(report_obj(...),
indent=2)`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO
from typing import Any, TextIO

from deescalate import __version__
from deescalate.analysis.severity import Severity
from deescalate.arn import account_of
from deescalate.model import Edge, Finding, Plan, Report
from deescalate.remediate.planfile import deny_to_json, edge_to_json, layout_json
from deescalate.report.change import addresses_of, change_obj
from deescalate.report.common import DEFAULT_OPTIONS, AccountGroup, RenderOptions, View, view
from deescalate.report.gate import GateResult
from deescalate.sar import reference_version

SCHEMA_VERSION = "1.3.0"


def edge_obj(e: Edge) -> dict[str, Any]:
    """An edge as the plan file writes it, plus `conditional` (which it derives from `conditions`)."""
    return {**edge_to_json(e), "conditional": e.conditional}


def step_obj(e: Edge) -> dict[str, Any]:
    return {"source": e.source, "target": e.target, "technique": e.technique, "via": e.via,
            "conditions": list(e.conditions)}


def finding_obj(f: Finding, severity: Severity, *, accounts: bool = False) -> dict[str, Any]:
    """`accounts`: the report covers several accounts, so each finding names its principal's."""
    head: dict[str, Any] = {"principal": f.principal}
    if accounts:
        head["account"] = account_of(f.principal)
    return {
        **head,
        "severity": severity.value,
        "conditional": f.conditional,
        "techniques": list(f.techniques),
        "paths": [[step_obj(e) for e in p] for p in f.paths],
        "edges": [edge_obj(e) for e in f.edges],
    }


def account_obj(g: AccountGroup) -> dict[str, Any]:
    d = g.detail
    return {
        "id": d.id,
        "name": d.name,
        "ou_path": list(d.ou_path),
        "management": d.management,
        "collection": d.collection,
        "error": d.error,
        "principals_at_risk": g.at_risk,
        "by_severity": {s.value: n for s, n in g.counts.items()},
        "administrators": g.admins,
    }


def plan_obj(p: Plan) -> dict[str, Any]:
    return {
        "account_id": p.account_id,
        "snapshot": p.snapshot,
        "snapshot_time": p.snapshot_time,
        "verified": p.verified,
        "targets": list(p.targets),
        "principals": [
            {
                "principal": pp.principal,
                "placement": pp.placement,
                "policy_name": pp.policy_name,
                "document": json.loads(pp.document) if pp.document else None,
                "unfixable": pp.unfixable,
                "minimal": pp.minimal,
                "denies": [deny_to_json(d) for d in pp.denies],
            }
            for pp in p.principals
        ],
        "remaining": [edge_obj(e) for e in p.remaining],
    }


def _with_change(report: Report, obj: dict[str, Any], f: Finding) -> dict[str, Any]:
    if report.change is not None:
        obj["introduced"] = f.principal in report.change.introduced
        obj["terraform_addresses"] = list(addresses_of(report, f))
    return obj


@dataclass(frozen=True, slots=True)
class _Items:
    """A list written item by item: its length, and the items made one at a time."""

    count: int
    items: Iterator[dict[str, Any]]


def _fields(report: Report, v: View, gate: GateResult | None) -> dict[str, Any]:
    """The report object, its two long lists (findings, suppressed) left as `_Items`."""
    by_sev = {s.value: n for s, n in v.counts().items()}
    multi = bool(v.accounts)
    obj: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "deescalate", "version": __version__,
                 "service_authorization_reference": reference_version()},
        "account_id": report.account_id,
        "source": report.source,
        "admins": list(v.full_admins),
        "targets": list(v.targets),
        "admin_reasons": [
            {"arn": a.arn, "reason": a.reason, "target_only": a.target_only} for a in report.admins
        ],
        "summary": {
            "principals_at_risk": len(v.active),
            "suppressed": len(v.suppressed),
            "by_severity": by_sev,
            "techniques": dict(v.technique_counts),
            "graph_edges": len(report.edges),
        },
        **({"accounts": [account_obj(g) for g in v.accounts]} if multi else {}),
        "findings": _Items(len(v.active), (
            _with_change(report, finding_obj(f, v.severity[f.principal], accounts=multi), f) for f in v.active
        )),
        "suppressed": _Items(len(v.suppressed), (
            {
                **finding_obj(sf.finding, sf.severity, accounts=multi),
                "suppressed_by": [
                    {"principal": s.principal, "technique": s.technique, "reason": s.reason,
                     "expires": s.expires.isoformat() if s.expires else None}
                    for s in sf.by
                ],
            }
            for sf in v.suppressed
        )),
        "unexamined": list(report.unexamined),
        "notes": list(report.notes),
        "warnings": list(v.warnings),
        "plan": plan_obj(report.plan) if report.plan is not None else None,
        "change": change_obj(report),
    }
    if gate is not None:
        obj["gate"] = {"fail_on": gate.fail_on.value, "failing": len(gate.failing),
                       "exit_code": gate.exit_code}
    return obj


def report_obj(report: Report, gate: GateResult | None = None) -> dict[str, Any]:
    """The whole report as one object (held in memory: `write` is the way for big accounts)."""
    obj = _fields(report, view(report, gate), gate)
    return {k: list(val.items) if isinstance(val, _Items) else val for k, val in obj.items()}


def write(report: Report, out: TextIO, *, gate: GateResult | None = None,
          options: RenderOptions = DEFAULT_OPTIONS) -> None:
    """Write the report to `out`, one top-level field and one finding at a time."""
    fields = list(_fields(report, view(report, gate), gate).items())
    out.write("{\n")
    for i, (key, val) in enumerate(fields):
        comma = "," if i < len(fields) - 1 else ""
        name = json.dumps(key)
        if isinstance(val, _Items):
            if not val.count:
                out.write(f"  {name}: []{comma}\n")
                continue
            out.write(f"  {name}: [\n")
            for j, item in enumerate(val.items):
                parts = ["    "]
                layout_json(item, "    ", parts)
                parts.append(f"{',' if j < val.count - 1 else ''}\n")
                out.write("".join(parts))
            out.write(f"  ]{comma}\n")
        else:
            parts = [f"  {name}: "]
            layout_json(val, "  ", parts)
            parts.append(f"{comma}\n")
            out.write("".join(parts))
    out.write("}\n")


def render(report: Report, *, gate: GateResult | None = None, color: bool = False,
           options: RenderOptions = DEFAULT_OPTIONS) -> str:
    buf = StringIO()
    write(report, buf, gate=gate, options=options)
    return buf.getvalue()
