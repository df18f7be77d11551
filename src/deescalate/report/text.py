"""The terminal report: a summary first (counts by severity, the top findings, techniques), then
admins, principals at risk with their shortest paths, suppressed findings, gaps and the plan.
Over several accounts, a line per account (name, OU path, counts) follows the summary, and the
principals at risk are grouped under a heading per account.

Each finding shows its `max_paths` shortest paths and says how many more paths and edges exist;
`--detail full` lists them all (see `common.digest`).

Colour (ANSI) only when the caller says the output is a terminal; piped output stays plain.
Names are printed as they are, but control characters are replaced, so a crafted principal name
cannot move the cursor or rewrite the terminal.
"""

from __future__ import annotations

from deescalate.analysis.severity import Severity
from deescalate.analysis.techniques import technique
from deescalate.model import Report
from deescalate.report.change import text_lines as change_lines
from deescalate.report.common import (
    DEFAULT_OPTIONS,
    RenderOptions,
    account_heading,
    account_lines,
    accounts_named,
    brief,
    digest,
    edge_step,
    more_text,
    view,
    worst_first,
)
from deescalate.report.gate import GateResult
from deescalate.sar import reference_version
from deescalate.terminal import clean

_SEV_COLOR = {
    Severity.CRITICAL: "1;31",
    Severity.HIGH: "31",
    Severity.MEDIUM: "33",
    Severity.LOW: "36",
}


def _clean(s: str) -> str:
    return clean(s)


def render(report: Report, *, gate: GateResult | None = None, color: bool = False,
           options: RenderOptions = DEFAULT_OPTIONS) -> str:
    v = view(report, gate)

    def paint(s: str, code: str) -> str:
        return f"\x1b[{code}m{s}\x1b[0m" if color else s

    def head(s: str) -> str:
        return paint(s, "1")

    def sev_word(sev: Severity) -> str:
        return paint(sev.value.upper(), _SEV_COLOR[sev])

    out: list[str] = []
    src = f" ({_clean(report.source)})" if report.source else ""
    accounts = report.accounts or (report.account_id,)
    if len(accounts) > 1:
        named = _clean(accounts_named(accounts))
        out.append(head(f"deescalate scan of {len(accounts)} accounts: {named}{src}"))
    else:
        out.append(head(f"deescalate scan of account {_clean(report.account_id)}{src}"))
    out.append(f"AWS Service Authorization Reference: {reference_version()}")
    out.append("")
    lead = change_lines(report, v.active)
    if lead:
        out += [head(_clean(line)) if not line.startswith(" ") and line else _clean(line) for line in lead]
    counts = v.counts()
    out.append(head("Summary"))
    by_sev = ", ".join(f"{n} {s.value}" for s, n in counts.items())
    out.append(f"  {len(v.active)} principal(s) at risk ({by_sev}), {len(v.suppressed)} suppressed, "
               f"{len(v.full_admins)} administrator(s)")
    digests = [digest(f, v.severity[f.principal], options) for f in v.active]
    if digests:
        top = worst_first(digests)[: max(options.top, 1)]
        out.append(f"  Top findings ({len(top)} of {len(digests)}):" if len(top) < len(digests)
                   else "  Findings:")
        for d in top:
            steps = "step" if d.shortest == 1 else "steps"
            cond = ", conditional" if d.finding.conditional else ""
            word = paint(d.severity.value.upper().ljust(8), _SEV_COLOR[d.severity])
            out.append(f"    {word}  {_clean(d.finding.principal)}  "
                       f"({d.shortest} {steps}{cond}; {brief(d.finding.techniques)})")
    if v.technique_counts:
        out.append("  Techniques (principals at risk using each):")
        width = max(len(t) for t, _ in v.technique_counts)
        for t, n in v.technique_counts:
            out.append(f"    {t.ljust(width)}  {n:>4}  {technique(t).title}")
    if v.accounts:
        out.append("")
        out.append(head(f"Accounts ({len(v.accounts)})"))
        out += [f"  {_clean(line)}" for line in account_lines(v, options)]
    out.append("")
    out.append(head(f"Administrators ({len(v.full_admins)})"))
    reasons = {a.arn: a.reason for a in report.admins}
    out += [f"  {_clean(a)}  - {_clean(reasons[a])}" for a in v.full_admins] or ["  (none)"]
    if v.targets:
        out.append(head(f"Targets (--target, {len(v.targets)})"))
        out += [f"  {_clean(a)}" for a in v.targets]
    out.append("")
    out.append(head(f"Principals at risk ({len(v.active)})"))
    if not v.active:
        out.append("  none: no principal can escalate to an administrator or target")
    heading = {g.findings[0].principal: g for g in v.accounts if g.findings}
    for d in digests:
        f = d.finding
        group = heading.get(f.principal)
        if group is not None:
            out.append(head(f"  account {_clean(account_heading(group))}"))
        cond = " (conditional)" if f.conditional else ""
        out.append(f"  {sev_word(d.severity)}  {_clean(f.principal)}{cond}")
        out.append(f"    techniques: {', '.join(f.techniques)}")
        for i, path in enumerate(d.paths, start=1):
            hops = "step" if len(path) == 1 else "steps"
            out.append(f"    path {i} ({len(path)} {hops}):")
            out += [f"      {n}. {_clean(edge_step(e))}" for n, e in enumerate(path, start=1)]
        if d.other_edges:
            out.append("    other escalation edges:")
            out += [f"      - {_clean(edge_step(e))}" for e in d.other_edges]
        more = more_text(d)
        if more:
            out.append(f"    ... {more} (--detail full lists them)")
    if v.suppressed:
        out.append("")
        out.append(head(f"Suppressed ({len(v.suppressed)})"))
        for sf in v.suppressed:
            out.append(f"  {sf.severity.value}  {_clean(sf.finding.principal)}")
            out += [f"    accepted: {_clean(s.label())}" for s in sf.by]
    if report.unexamined:
        out.append("")
        out.append(head("Not examined (the snapshot cannot show them)"))
        out += [f"  - {_clean(u)}" for u in report.unexamined]
    if report.notes:
        out.append("")
        out.append(head("Notes"))
        out += [f"  - {_clean(n)}" for n in report.notes]
    if v.warnings:
        out.append("")
        out.append(paint("Warnings", "1;33"))
        out += [f"  - {_clean(w)}" for w in v.warnings]
    if report.plan is not None:
        p = report.plan
        n = sum(len(pp.denies) for pp in p.principals)
        state = "verified" if p.verified else "NOT verified"
        out.append("")
        out.append(head(f"Plan: {n} deny statement(s) for {len(p.principals)} principal(s), {state}"))
        for pp in p.principals:
            if not pp.denies and not pp.unfixable:
                out.append(f"  {_clean(pp.principal)}: no deny of its own (its paths go through principals "
                           "fixed here)")
                continue
            out.append(f"  {_clean(pp.principal)} ({pp.placement} policy {_clean(pp.policy_name)})")
            if pp.unfixable:
                out.append(f"    cannot be fixed within AWS quotas: {_clean(pp.unfixable)}")
            for deny in pp.denies:
                off = "" if deny.apply else " (switched off)"
                out.append(f"    {deny.id}: Deny {_clean(deny.action)} on {_clean(deny.resource)}{off}"
                           f" - cuts {len(deny.cuts)} edge(s): {', '.join(deny.techniques)}")
    if gate is not None:
        out.append("")
        verdict = "FAIL" if gate.exit_code else "pass"
        out.append(f"Gate --fail-on {gate.fail_on.value}: {verdict} "
                   f"({len(gate.failing)} finding(s) at or above the threshold)")
    return "\n".join(out) + "\n"
