"""Mermaid and Graphviz DOT drawings of the escalation subgraph (for PR comments and Graphviz).

Node ids are generated (`n0`, `n1`, ...), never taken from the account, so a crafted name cannot
break the syntax; labels are quoted and escaped by each language's own rules:
Mermaid entity codes (`#34;`) for everything outside a small safe set, and DOT quoted strings with
backslash escapes.
"""

from __future__ import annotations

from deescalate.model import ADMIN, Report
from deescalate.report.common import DEFAULT_OPTIONS, RenderOptions, View, kind_of, short_name, view
from deescalate.report.gate import GateResult

_MERMAID_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.:/@+=,()")


def mermaid_text(s: str) -> str:
    """Mermaid label text: every character outside a safe set becomes a `#NNN;` entity code."""
    return "".join(c if c in _MERMAID_SAFE else f"#{ord(c)};" for c in s)


def dot_string(s: str) -> str:
    """A DOT double-quoted string (quotes included)."""
    body = s.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "\\n")
    return f'"{body}"'


def _nodes(v: View) -> tuple[dict[str, str], dict[str, str]]:
    """ARN -> generated id, and ARN -> role (admin, target, self-admin, risk)."""
    names: set[str] = set(v.full_admins) | set(v.targets)
    for e in v.subgraph:
        names.update((e.source, e.target))
    ordered = sorted(names, key=lambda a: (a != ADMIN, a not in v.full_admins, a))
    ids = {a: f"n{i}" for i, a in enumerate(ordered)}
    roles = {}
    for a in ordered:
        roles[a] = ("self-admin" if a == ADMIN else "admin" if a in v.full_admins
                    else "target" if a in v.targets else "risk")
    return ids, roles


def _label(arn: str) -> str:
    if arn == ADMIN:
        return "admin (self-escalation)"
    return f"{short_name(arn)} ({kind_of(arn)})"


def render_mermaid(report: Report, *, gate: GateResult | None = None, color: bool = False,
                   options: RenderOptions = DEFAULT_OPTIONS) -> str:
    v = view(report, gate)
    ids, roles = _nodes(v)
    out = ["flowchart LR"]
    for arn, nid in ids.items():
        out.append(f'  {nid}["{mermaid_text(_label(arn))}"]:::{roles[arn].replace("-", "")}')
    for e in v.subgraph:
        arrow = "-.->" if e.conditional else "-->"
        text = e.technique + (f" via {short_name(e.via)}" if e.via else "")
        out.append(f'  {ids[e.source]} {arrow}|"{mermaid_text(text)}"| {ids[e.target]}')
    out += [
        "  classDef admin fill:#fde2e2,stroke:#a4161a,stroke-width:2px",
        "  classDef selfadmin fill:#a4161a,stroke:#6a040f,color:#fff",
        "  classDef target fill:#ece4fb,stroke:#5a189a,stroke-width:2px",
        "  classDef risk fill:#fff1d6,stroke:#c76a00,stroke-width:2px",
    ]
    return "\n".join(out) + "\n"


_DOT_STYLE = {
    "admin": 'fillcolor="#fde2e2", color="#a4161a", penwidth=2',
    "self-admin": 'fillcolor="#a4161a", color="#6a040f", fontcolor="white"',
    "target": 'fillcolor="#ece4fb", color="#5a189a", penwidth=2',
    "risk": 'fillcolor="#fff1d6", color="#c76a00", penwidth=2',
}


def render_dot(report: Report, *, gate: GateResult | None = None, color: bool = False,
               options: RenderOptions = DEFAULT_OPTIONS) -> str:
    v = view(report, gate)
    ids, roles = _nodes(v)
    out = [
        "digraph escalation {",
        "  rankdir=LR;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for arn, nid in ids.items():
        out.append(f"  {nid} [label={dot_string(_label(arn))}, tooltip={dot_string(arn)}, "
                   f"{_DOT_STYLE[roles[arn]]}];")
    for e in v.subgraph:
        text = e.technique + (f"\nvia {short_name(e.via)}" if e.via else "")
        style = ", style=dashed" if e.conditional else ""
        out.append(f"  {ids[e.source]} -> {ids[e.target]} [label={dot_string(text)}{style}];")
    out.append("}")
    return "\n".join(out) + "\n"
