"""The HTML report: one self-contained file (no script, no fonts, no network), safe to open.

Sections: a summary, an inline SVG drawing of the escalation graph (admins and principals at risk
set apart, each edge labelled with its technique), the findings table, each path step by step,
suppressed findings, the plan with each deny and what it cuts, and what the snapshot could not
show. Every string from the account (names, ARNs, tags, descriptions, conditions) is
attacker-controlled and goes through `html.escape`, attributes included; the page carries a
Content-Security-Policy that forbids scripts and any fetch, so even a mistake could not run code
or call home.
"""

from __future__ import annotations

import json
from html import escape

from deescalate import __version__
from deescalate.analysis.severity import Severity
from deescalate.analysis.techniques import technique
from deescalate.model import Edge, Plan, Report
from deescalate.report.change import html_section as change_section
from deescalate.report.common import View, target_label, view
from deescalate.report.gate import GateResult
from deescalate.report.layout import NODE_H, NODE_W, layout

MAX_DRAWN_NODES = 250

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;color:#c9d1e0}main{padding:8px 28px 40px}
section{background:#fff;border:1px solid #dde1e8;border-radius:8px;margin:18px 0;padding:14px 18px}
h2{font-size:16px;margin:0 0 10px}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #eceff3;vertical-align:top}
th{background:#f0f2f5;font-weight:600}code,pre{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}
pre{background:#f3f4f7;padding:8px;border-radius:6px;overflow:auto;white-space:pre-wrap}
.sev{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;font-weight:600;color:#fff}
.critical{background:#a4161a}.high{background:#e5383b}.medium{background:#e09f3e}.low{background:#4d908e}
.pill{display:inline-block;border:1px solid #ccd;border-radius:10px;padding:0 7px;margin:1px;font-size:12px}
.counts span{margin-right:14px}.graph{overflow:auto;border:1px solid #eceff3;border-radius:6px}
ol.path li{margin:2px 0}.muted{color:#667}.cond{color:#9a5b00}
.legend span{margin-right:16px;font-size:12px}.sw{display:inline-block;width:12px;height:12px;
border-radius:3px;vertical-align:middle;margin-right:4px}
"""

_FILL = {"admin": ("#fde2e2", "#a4161a"), "self-admin": ("#a4161a", "#6a040f"),
         "target": ("#ece4fb", "#5a189a"), "risk": ("#fff1d6", "#c76a00"), "other": ("#eef1f5", "#55606e")}


def _e(s: object) -> str:
    return escape(str(s), quote=True)


def _sev(sev: Severity) -> str:
    return f'<span class="sev {sev.value}">{sev.value}</span>'


def _svg(report: Report, v: View) -> str:
    at_risk = frozenset(f.principal for f in v.active)
    at_risk |= frozenset(sf.finding.principal for sf in v.suppressed)
    edges, note = _drawn_edges(v)
    lay = layout(edges, v.full_admins, v.targets, at_risk)
    if not lay.nodes:
        return '<p class="muted">No administrators and no escalation edges to draw.</p>'
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="escalation graph" '
        f'width="{lay.width:.0f}" height="{lay.height:.0f}" viewBox="0 0 {lay.width:.0f} {lay.height:.0f}" '
        'font-family="system-ui,sans-serif" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#55606e"/></marker></defs>',
    ]
    for ln in lay.links:
        e = ln.edge
        dash = ' stroke-dasharray="6 4"' if e.conditional else ""
        title = _e(f"{e.source} -> {target_label(e.target)} by {e.technique}"
                   + (f" via {e.via}" if e.via else "")
                   + (f" (only if: {'; '.join(e.conditions)})" if e.conditions else ""))
        w = 8 + 7 * len(e.technique)
        parts.append(
            f'<g class="edge"><title>{title}</title><path d="{ln.path}" fill="none" stroke="#55606e" '
            f'stroke-width="1.4"{dash} marker-end="url(#arrow)"/>'
            f'<rect x="{ln.label_x - w / 2:.1f}" y="{ln.label_y - 9:.1f}" width="{w}" height="18" rx="4" '
            f'fill="#fff" stroke="#ccd"/><text x="{ln.label_x:.1f}" y="{ln.label_y + 4:.1f}" '
            f'text-anchor="middle" class="technique">{_e(e.technique)}</text></g>'
        )
    for n in lay.nodes:
        fill, stroke = _FILL[n.role]
        color = "#fff" if n.role == "self-admin" else "#1d2330"
        label = n.label if len(n.label) <= 28 else n.label[:27] + "…"
        sub = {"admin": "admin", "target": "target", "self-admin": "", "risk": "at risk", "other": ""}[n.role]
        sub_text = f"{n.kind} · {sub}" if sub and n.kind != "admin" else (n.kind if n.kind != "admin" else "")
        parts.append(
            f'<g class="node {n.role}"><title>{_e(n.arn)}</title>'
            f'<rect x="{n.x:.1f}" y="{n.y:.1f}" width="{NODE_W}" height="{NODE_H}" rx="8" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{2 if n.role != "other" else 1}"/>'
            f'<text x="{n.x + 10:.1f}" y="{n.y + (19 if sub_text else 27):.1f}" font-weight="600" '
            f'fill="{color}">{_e(label)}</text>'
            f'<text x="{n.x + 10:.1f}" y="{n.y + 36:.1f}" fill="{color}" opacity="0.8">'
            f"{_e(sub_text)}</text></g>"
        )
    parts.append("</svg>")
    legend = "".join(
        f'<span><i class="sw" style="background:{_FILL[r][0]};border:1px solid {_FILL[r][1]}"></i>{t}</span>'
        for r, t in (("admin", "administrator"), ("target", "--target"), ("risk", "principal at risk"),
                     ("self-admin", "self-escalation to admin"))
    )
    return (f'<p class="legend">{legend}<span>dashed edge: conditional</span></p>{note}'
            f'<div class="graph">{"".join(parts)}</div>')


def _drawn_edges(v: View) -> tuple[tuple[Edge, ...], str]:
    """The whole escalation subgraph, or, past MAX_DRAWN_NODES, that of the most severe findings.

    A drawing of thousands of boxes helps nobody (and weighs megabytes); the tables below still
    list every finding, and `--format dot` gives the whole graph to Graphviz.
    """
    nodes = {n for e in v.subgraph for n in (e.source, e.target)}
    if len(nodes) <= MAX_DRAWN_NODES:
        return v.subgraph, ""
    kept: dict[str, Edge] = {}
    seen: set[str] = set(v.full_admins) | set(v.targets)
    shown = 0
    for f in v.active:
        mine = [e for p in f.paths for e in p] + list(f.edges)
        new = {n for e in mine for n in (e.source, e.target)} - seen
        if len(seen) + len(new) > MAX_DRAWN_NODES and shown:
            break
        seen |= new
        shown += 1
        for e in mine:
            kept.setdefault(e.id, e)
    note = (f'<p class="cond">The graph has {len(nodes)} principals; drawn here: the paths of the '
            f"{shown} most severe of {len(v.active)} principals at risk. The tables below list them all; "
            "<code>--format dot</code> gives the whole graph to Graphviz.</p>")
    return tuple(sorted(kept.values(), key=lambda e: e.id)), note


def _step(e: Edge) -> str:
    via = f' <span class="muted">via <code>{_e(e.via)}</code></span>' if e.via else ""
    cond = (f' <span class="cond">only if: {_e("; ".join(e.conditions))}</span>' if e.conditions else "")
    t = technique(e.technique)
    return (f'<code>{_e(e.source)}</code> → <code>{_e(target_label(e.target))}</code> by '
            f'<a href="{_e(t.link)}" title="{_e(t.title)}">{_e(e.technique)}</a>{via}{cond}')


def _plan(plan: Plan, edges: dict[str, Edge]) -> str:
    state = "verified: no escalation edge remains" if plan.verified else "NOT verified"
    out = [f"<p>{sum(len(p.denies) for p in plan.principals)} deny statement(s) for "
           f"{len(plan.principals)} principal(s); {_e(state)}.</p>"]
    for pp in plan.principals:
        where = f"{pp.placement} policy {pp.policy_name}" if pp.denies else ""
        out.append(f"<h3><code>{_e(pp.principal)}</code> <span class=\"muted\">{_e(where)}</span></h3>")
        if not pp.denies and not pp.unfixable:
            out.append('<p class="muted">No deny of its own: every path it had goes through a principal '
                       "fixed in this plan.</p>")
            continue
        if pp.unfixable:
            out.append(f'<p class="cond">cannot be fixed within AWS quotas: {_e(pp.unfixable)}</p>')
        out.append("<table><tr><th>deny</th><th>action</th><th>resource</th><th>cuts</th><th>why</th></tr>")
        for d in pp.denies:
            cuts = "".join(f"<li>{_step(edges[c]) if c in edges else _e(c)}</li>" for c in d.cuts)
            off = "" if d.apply else ' <span class="muted">(switched off)</span>'
            out.append(f"<tr><td>{_e(d.id)}{off}</td><td><code>{_e(d.action)}</code></td>"
                       f"<td><code>{_e(d.resource)}</code></td><td><ul>{cuts}</ul></td><td>{_e(d.why)}</td></tr>")
        out.append("</table>")
        if pp.document:
            try:
                doc = json.dumps(json.loads(pp.document), indent=2)
            except ValueError:
                doc = pp.document
            out.append(f"<details><summary>policy document</summary><pre>{_e(doc)}</pre></details>")
    if plan.remaining:
        out.append("<p class=\"cond\">Edges the plan leaves open:</p><ul>")
        out += [f"<li>{_step(e)}</li>" for e in plan.remaining]
        out.append("</ul>")
    return "".join(out)


def render(report: Report, *, gate: GateResult | None = None, color: bool = False) -> str:
    v = view(report, gate)
    counts = dict.fromkeys(Severity, 0)
    for f in v.active:
        counts[v.severity[f.principal]] += 1
    h: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>deescalate report: {_e(report.account_id)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>Privilege escalation report: account {_e(report.account_id)}</h1>"
        f"<p>{_e(report.source)} · deescalate {_e(__version__)}</p></header><main>",
        change_section(report, v.active, _e),
        '<section><h2>Summary</h2><p class="counts">'
        f"<span><b>{len(v.active)}</b> principal(s) at risk</span>"
        + "".join(f"<span>{_sev(s)} {counts[s]}</span>" for s in Severity)
        + f"<span><b>{len(v.suppressed)}</b> suppressed</span>"
        f"<span><b>{len(v.full_admins)}</b> administrator(s)</span></p>",
    ]
    if v.full_admins or v.targets:
        reasons = {a.arn: a.reason for a in report.admins}
        h.append("<table><tr><th>administrator / target</th><th>why</th></tr>")
        h += [f"<tr><td><code>{_e(a)}</code></td><td>{_e(reasons[a])}</td></tr>"
              for a in (*v.full_admins, *v.targets)]
        h.append("</table>")
    h.append("</section>")
    h.append(f'<section id="graph"><h2>Escalation graph</h2>{_svg(report, v)}</section>')
    h.append('<section id="findings"><h2>Principals at risk</h2>')
    if v.active:
        h.append("<table><tr><th>severity</th><th>principal</th><th>techniques</th><th>paths</th>"
                 "<th>shortest</th></tr>")
        for f in v.active:
            techs = "".join(f'<span class="pill">{_e(t)}</span>' for t in f.techniques)
            shortest = min((len(p) for p in f.paths), default=1)
            cond = ' <span class="cond">(conditional)</span>' if f.conditional else ""
            h.append(f"<tr><td>{_sev(v.severity[f.principal])}</td><td><code>{_e(f.principal)}</code>{cond}</td>"
                     f"<td>{techs}</td><td>{len(f.paths)}</td><td>{shortest} step(s)</td></tr>")
        h.append("</table>")
    else:
        h.append("<p>No principal can escalate to an administrator or target.</p>")
    h.append("</section>")
    if v.active:
        h.append('<section id="paths"><h2>Paths, step by step</h2>')
        for f in v.active:
            h.append(f"<h3><code>{_e(f.principal)}</code> {_sev(v.severity[f.principal])}</h3>")
            for i, p in enumerate(f.paths, start=1):
                h.append(f"<p>Path {i}:</p><ol class=\"path\">" + "".join(f"<li>{_step(e)}</li>" for e in p)
                         + "</ol>")
            other = [e for e in f.edges if not any(e in p for p in f.paths)]
            if other:
                h.append("<p>Other escalation edges:</p><ul>" + "".join(f"<li>{_step(e)}</li>" for e in other)
                         + "</ul>")
        h.append("</section>")
    if v.technique_counts:
        h.append('<section id="techniques"><h2>Techniques</h2><table><tr><th>technique</th>'
                 "<th>principals at risk</th><th>what it takes</th></tr>")
        for tid, n in v.technique_counts:
            t = technique(tid)
            h.append(f'<tr><td><a href="{_e(t.link)}">{_e(tid)}</a></td><td>{n}</td>'
                     f"<td>{_e(t.title)}<br><span class=\"muted\">{_e(t.description)}</span></td></tr>")
        h.append("</table></section>")
    if v.suppressed:
        h.append('<section id="suppressed"><h2>Suppressed (accepted risks)</h2><table>'
                 "<tr><th>severity</th><th>principal</th><th>accepted because</th></tr>")
        for sf in v.suppressed:
            why = "<br>".join(_e(s.label()) for s in sf.by)
            h.append(f"<tr><td>{_sev(sf.severity)}</td><td><code>{_e(sf.finding.principal)}</code></td>"
                     f"<td>{why}</td></tr>")
        h.append("</table></section>")
    if report.plan is not None:
        edges = {e.id: e for e in (*report.edges, *v.subgraph)}
        h.append(f'<section id="plan"><h2>Remediation plan</h2>{_plan(report.plan, edges)}</section>')
    extra = [("Not examined", report.unexamined), ("Notes", report.notes), ("Warnings", v.warnings)]
    for title, items in extra:
        if items:
            h.append(f"<section><h2>{title}</h2><ul>" + "".join(f"<li>{_e(i)}</li>" for i in items)
                     + "</ul></section>")
    h.append("</main></body></html>")
    return "\n".join(h) + "\n"
