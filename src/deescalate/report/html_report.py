"""The HTML report: one self-contained file (no script, no fonts, no network), safe to open.

The page is a Jinja2 template (`templates/report.html.j2`, package data) rendered with autoescape
on: every value from the account (names, ARNs, tags, descriptions, conditions, reasons) is
attacker-controlled, and Jinja2 escapes it in text and in attributes unless a template marks it
safe, which ours never do (a test checks that no template can). This module only prepares plain
values: the numbers of the SVG drawing, the findings digested to their shortest paths, the plan.
The page also carries a Content-Security-Policy that forbids scripts and any fetch, so even a
mistake could not run code or call home.

Sections: a summary (counts by severity, the top findings, techniques, administrators), an inline
SVG drawing of the administrators, the principals at risk and the paths between them (a
deterministic layout from `layout.py`; with `--detail full`, every escalation edge of the findings),
the findings table, each finding's shortest paths with a count of the rest, suppressed findings,
the plan with each deny and what it cuts, and what the snapshot could not show.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

import jinja2

from deescalate import __version__
from deescalate.analysis.severity import Severity
from deescalate.analysis.techniques import technique
from deescalate.model import Edge, Plan, Report
from deescalate.report.change import introduced
from deescalate.report.common import (
    DEFAULT_OPTIONS,
    Detail,
    Digest,
    RenderOptions,
    View,
    account_heading,
    accounts_named,
    accounts_shown,
    brief,
    digest,
    more_text,
    target_label,
    view,
    worst_first,
)
from deescalate.report.gate import GateResult
from deescalate.report.layout import NODE_H, NODE_W, layout
from deescalate.sar import reference_version

MAX_DRAWN_NODES = 250

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_FILL = {"admin": ("#fde2e2", "#a4161a"), "self-admin": ("#a4161a", "#6a040f"),
         "target": ("#ece4fb", "#5a189a"), "risk": ("#fff1d6", "#c76a00"), "other": ("#eef1f5", "#55606e")}
_LEGEND = (("admin", "administrator"), ("target", "--target"), ("risk", "principal at risk"),
           ("self-admin", "self-escalation to admin"))


@cache
def environment() -> jinja2.Environment:
    """The one Jinja2 environment: templates from the package, autoescape on for every template."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("deescalate.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a misspelt variable is an error, not an empty string
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


# --------------------------------------------------------------------------- values for the template


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    source: str
    target: str
    technique: str
    link: str
    title: str
    via: str | None
    conditions: str  # "" when unconditional


def _step(e: Edge) -> Step:
    t = technique(e.technique)
    return Step(source=e.source, target=target_label(e.target), technique=e.technique, link=t.link,
                title=t.title, via=e.via, conditions="; ".join(e.conditions))


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingView:
    principal: str
    severity: str
    conditional: bool
    techniques: tuple[str, ...]
    techniques_brief: str  # the first few, and how many more
    path_count: int
    shortest: int
    paths: tuple[tuple[Step, ...], ...]
    other_edges: tuple[Step, ...]
    more: str  # "4 more paths and 12 more escalation edges", or ""


def _finding(d: Digest) -> FindingView:
    return FindingView(
        principal=d.finding.principal,
        severity=d.severity.value,
        conditional=d.finding.conditional,
        techniques=d.finding.techniques,
        techniques_brief=brief(d.finding.techniques),
        path_count=len(d.finding.paths),
        shortest=d.shortest,
        paths=tuple(tuple(_step(e) for e in p) for p in d.paths),
        other_edges=tuple(_step(e) for e in d.other_edges),
        more=more_text(d),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SvgNode:
    role: str
    arn: str
    x: str
    y: str
    fill: str
    stroke: str
    stroke_width: int
    color: str
    label: str
    label_y: str
    sub: str
    sub_x: str
    sub_y: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SvgEdge:
    title: str
    path: str
    dashed: bool
    technique: str
    rect_x: str
    rect_y: str
    rect_w: int
    text_x: str
    text_y: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Svg:
    width: str
    height: str
    nodes: tuple[SvgNode, ...]
    edges: tuple[SvgEdge, ...]
    legend: tuple[tuple[str, str, str], ...]  # fill, stroke, text
    note: str  # what was left out of the drawing, or ""


def _f(x: float) -> str:
    return f"{x:.1f}"


def _svg(v: View, drawn: Sequence[Digest], options: RenderOptions) -> Svg | None:
    at_risk = frozenset(d.finding.principal for d in drawn)
    edges, note = _drawn_edges(v, drawn, options)
    touched = {n for e in edges for n in (e.source, e.target)}
    # The admins and targets the drawn paths reach; all of them when nothing reaches any.
    admins = tuple(a for a in v.full_admins if a in touched or not edges)[:MAX_DRAWN_NODES]
    targets = tuple(a for a in v.targets if a in touched or not edges)[:MAX_DRAWN_NODES]
    lay = layout(edges, admins, targets, at_risk)
    if not lay.nodes:
        return None
    nodes = []
    for n in lay.nodes:
        fill, stroke = _FILL[n.role]
        color = "#fff" if n.role == "self-admin" else "#1d2330"
        label = n.label if len(n.label) <= 28 else n.label[:27] + "…"
        sub = {"admin": "admin", "target": "target", "self-admin": "", "risk": "at risk", "other": ""}[n.role]
        sub_text = f"{n.kind} · {sub}" if sub and n.kind != "admin" else (n.kind if n.kind != "admin" else "")
        nodes.append(SvgNode(
            role=n.role, arn=n.arn, x=_f(n.x), y=_f(n.y), fill=fill, stroke=stroke,
            stroke_width=2 if n.role != "other" else 1, color=color, label=label,
            label_y=_f(n.y + (19 if sub_text else 27)), sub=sub_text, sub_x=_f(n.x + 10), sub_y=_f(n.y + 36),
        ))
    links = []
    for ln in lay.links:
        e = ln.edge
        w = 8 + 7 * len(e.technique)
        title = (f"{e.source} -> {target_label(e.target)} by {e.technique}"
                 + (f" via {e.via}" if e.via else "")
                 + (f" (only if: {'; '.join(e.conditions)})" if e.conditions else ""))
        links.append(SvgEdge(
            title=title, path=ln.path, dashed=e.conditional, technique=e.technique,
            rect_x=_f(ln.label_x - w / 2), rect_y=_f(ln.label_y - 9), rect_w=w,
            text_x=_f(ln.label_x), text_y=_f(ln.label_y + 4),
        ))
    return Svg(
        width=f"{lay.width:.0f}", height=f"{lay.height:.0f}", nodes=tuple(nodes), edges=tuple(links),
        legend=tuple((_FILL[r][0], _FILL[r][1], t) for r, t in _LEGEND), note=note,
    )


def _drawn_edges(v: View, drawn: Sequence[Digest], options: RenderOptions) -> tuple[tuple[Edge, ...], str]:
    """The edges to draw: what the paths section shows (every edge of the findings in full detail),
    or, past MAX_DRAWN_NODES principals, that of the most severe findings only.

    A drawing of thousands of boxes helps nobody (and weighs megabytes); the tables still list every
    finding, and `--format dot` gives the whole graph to Graphviz.
    """

    def mine(d: Digest) -> Iterable[Edge]:
        if options.detail is Detail.FULL:
            return (*(e for p in d.finding.paths for e in p), *d.finding.edges)
        return (*(e for p in d.paths for e in p), *d.other_edges)

    every: dict[str, Edge] = {}
    for d in drawn:
        for e in mine(d):
            every.setdefault(e.id, e)
    nodes = {n for e in every.values() for n in (e.source, e.target)}
    if len(nodes) <= MAX_DRAWN_NODES:
        return tuple(sorted(every.values(), key=lambda e: e.id)), ""
    kept: dict[str, Edge] = {}
    seen: set[str] = set()
    shown = 0
    for d in drawn:
        edges = list(mine(d))
        new = {n for e in edges for n in (e.source, e.target)} - seen
        if len(seen) + len(new) > MAX_DRAWN_NODES and shown:
            break
        seen |= new
        shown += 1
        for e in edges:
            kept.setdefault(e.id, e)
    note = (f"The graph would have {len(nodes):,} principals; drawn here: the paths of the {shown} most "
            f"severe of {len(v.active):,} principals at risk. The tables below list them all; "
            "--format dot gives the whole graph to Graphviz.")
    return tuple(sorted(kept.values(), key=lambda e: e.id)), note


@dataclass(frozen=True, slots=True, kw_only=True)
class DenyView:
    id: str
    apply: bool
    action: str
    resource: str
    why: str
    cuts: tuple[Step | str, ...]  # a step when the edge is known, else its id


@dataclass(frozen=True, slots=True, kw_only=True)
class PrincipalPlanView:
    principal: str
    where: str
    denies: tuple[DenyView, ...]
    unfixable: str | None
    document: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanView:
    count: int
    principals: int
    state: str
    entries: tuple[PrincipalPlanView, ...]
    remaining: tuple[Step, ...]


def _plan(plan: Plan, edges: dict[str, Edge]) -> PlanView:
    entries = []
    for pp in plan.principals:
        doc = None
        if pp.document:
            try:
                doc = json.dumps(json.loads(pp.document), indent=2)
            except ValueError:
                doc = pp.document
        entries.append(PrincipalPlanView(
            principal=pp.principal,
            where=f"{pp.placement} policy {pp.policy_name}" if pp.denies else "",
            denies=tuple(
                DenyView(id=d.id, apply=d.apply, action=d.action, resource=d.resource, why=d.why,
                         cuts=tuple(_step(edges[c]) if c in edges else c for c in d.cuts))
                for d in pp.denies
            ),
            unfixable=pp.unfixable or None,
            document=doc,
        ))
    return PlanView(
        count=sum(len(p.denies) for p in plan.principals),
        principals=len(plan.principals),
        state="verified: no escalation edge remains" if plan.verified else "NOT verified",
        entries=tuple(entries),
        remaining=tuple(_step(e) for e in plan.remaining),
    )


def context(report: Report, gate: GateResult | None = None,
            options: RenderOptions = DEFAULT_OPTIONS) -> dict[str, object]:
    """Every value the template shows, as plain data (the template escapes each one)."""
    v = view(report, gate)
    digests = [digest(f, v.severity[f.principal], options) for f in v.active]
    suppressed = [digest(sf.finding, sf.severity, options) for sf in v.suppressed]
    findings = [_finding(d) for d in digests]
    reasons = {a.arn: a.reason for a in report.admins}
    techniques = []
    for tid, n in v.technique_counts:
        t = technique(tid)
        techniques.append({"id": tid, "count": n, "link": t.link, "title": t.title,
                           "description": t.description})
    plan = None
    if report.plan is not None:
        edges = {e.id: e for e in (*report.edges, *v.subgraph)}
        plan = _plan(report.plan, edges)
    change = None
    if report.change is not None:
        c = report.change
        change = {
            "plan": c.plan,
            "count": len(c.introduced),
            "introduced": [
                {"principal": item.finding.principal, "conditional": item.finding.conditional,
                 "techniques": ", ".join(item.finding.techniques),
                 "addresses": [(a, c.locations.get(a, "")) for a in item.addresses]}
                for item in introduced(report, v.active)
            ],
            "resolved": list(c.resolved),
        }
    shown_accounts, quiet_accounts = accounts_shown(v, options)
    return {
        "change": change,
        "csp": CSP,
        "account_id": report.account_id,
        "accounts": list(report.accounts or (report.account_id,)),  # several snapshots: every account
        # Several accounts: a row per account, and a heading before each account's first finding.
        "accounts_named": accounts_named(report.accounts or (report.account_id,)),
        "account_rows": [
            {"heading": account_heading(g), "collection": g.detail.collection, "error": g.detail.error or "",
             "at_risk": g.at_risk, "counts": [(s.value, n) for s, n in g.counts.items()], "admins": g.admins}
            for g in shown_accounts
        ],
        "accounts_quiet": quiet_accounts,
        "account_heads": {g.findings[0].principal: account_heading(g) for g in v.accounts if g.findings},
        "source": report.source,
        "version": __version__,
        "reference": reference_version(),
        "detail": options.detail.value,
        "max_paths": options.max_paths,
        "counts": [(s.value, n) for s, n in v.counts().items()],
        "at_risk": len(v.active),
        "suppressed_count": len(v.suppressed),
        "admin_count": len(v.full_admins),
        "admins": [(a, reasons[a]) for a in (*v.full_admins, *v.targets)],
        "top": [_finding(d) for d in worst_first(digests)[: max(options.top, 1)]],
        "findings": findings,
        "techniques": techniques,
        "svg": _svg(v, [*digests, *suppressed], options),
        "suppressed": [
            {"severity": sf.severity.value, "principal": sf.finding.principal,
             "by": [s.label() for s in sf.by]}
            for sf in v.suppressed
        ],
        "plan": plan,
        "extra": [(title, list(items)) for title, items in
                  (("Not examined", report.unexamined), ("Notes", report.notes), ("Warnings", v.warnings))
                  if items],
        "severities": [s.value for s in Severity],
        "node_w": NODE_W,
        "node_h": NODE_H,
    }


def render(report: Report, *, gate: GateResult | None = None, color: bool = False,
           options: RenderOptions = DEFAULT_OPTIONS) -> str:
    return environment().get_template("report.html.j2").render(context(report, gate, options))
