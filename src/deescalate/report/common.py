"""What every renderer shares: the render options, short names for ARNs, the findings to show
(split by the gate, ranked, each digested to its shortest paths), the escalation subgraph.

Kept free of any output syntax: escaping belongs to each renderer, since each format has its own
rules (HTML entities, Mermaid entity codes, DOT quoted strings).

Reports for people (text, HTML) stay readable at any size: by default each finding shows its
`max_paths` shortest paths and as many other escalation edges, and says how many more exist
(`Detail.SUMMARY`); `Detail.FULL` shows everything. Reports for machines (JSON, SARIF, Mermaid,
DOT) always carry everything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from deescalate.analysis.severity import SEVERITIES, Severity, finding_severity
from deescalate.arn import account_of, name_of, parse_arn
from deescalate.model import ADMIN, AccountDetail, Edge, Finding, Report
from deescalate.report.gate import GateResult, SuppressedFinding


class Detail(StrEnum):
    SUMMARY = "summary"  # each finding's shortest paths and a count of the rest
    FULL = "full"  # every path and every escalation edge


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceLocation:
    """Where the snapshot defines a principal: a URI reference to its IAM file, and a position in it."""

    uri: str  # relative to the working directory when the file is under it, else a file: URI
    line: int = 1  # 1-based
    column: int = 1  # 1-based, in characters
    uri_base_id: str | None = None  # a SARIF uriBaseId the uri is relative to (the packaged demo)


_NO_LOCATIONS: Mapping[str, SourceLocation] = MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderOptions:
    """What a caller may ask of the renderers beyond the report itself."""

    detail: Detail = Detail.SUMMARY
    max_paths: int = 3  # per finding, in summary detail: paths shown (and other edges shown)
    top: int = 10  # findings named in the summary at the top of text and HTML
    sarif_all_rules: bool = False  # SARIF: a rule for every known technique, not only those with results
    # principal ARN -> where its snapshot defines it (SARIF physical locations)
    locations: Mapping[str, SourceLocation] = field(default_factory=lambda: _NO_LOCATIONS)


DEFAULT_OPTIONS = RenderOptions()


def short_name(arn: str) -> str:
    """`arn:aws:iam::1:role/path/Name` -> `Name`; `admin` stays `admin`; anything else unchanged."""
    if arn == ADMIN:
        return ADMIN
    return name_of(arn) or arn


def kind_of(arn: str) -> str:
    """user, role, group, root, admin or principal (when the ARN says nothing else)."""
    if arn == ADMIN:
        return ADMIN
    parsed = parse_arn(arn)
    head = (parsed.resource_type or parsed.resource) if parsed is not None else ""
    return head if head in {"user", "role", "group", "root", "assumed-role"} else "principal"


def target_label(target: str) -> str:
    return "admin (self-escalation)" if target == ADMIN else target


def edge_step(e: Edge) -> str:
    """One step of a path in words: `A --iam-007--> admin (via X) [if ...]`."""
    via = f" via {e.via}" if e.via else ""
    cond = f" [only if: {'; '.join(e.conditions)}]" if e.conditions else ""
    return f"{e.source} --{e.technique}--> {target_label(e.target)}{via}{cond}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Digest:
    """One finding as a report for people shows it."""

    finding: Finding
    severity: Severity
    paths: tuple[tuple[Edge, ...], ...]  # shortest first; all of them in full detail
    more_paths: int  # paths not shown
    other_edges: tuple[Edge, ...]  # escalation edges leaving it that are on no shown path, shown
    more_edges: int  # escalation edges leaving it that appear nowhere above
    shortest: int  # steps of its shortest path


def digest(f: Finding, severity: Severity, options: RenderOptions = DEFAULT_OPTIONS) -> Digest:
    """The finding's shortest paths and other edges, cut to `options.max_paths` unless in full detail.

    Linear in the finding's paths and edges (edges compared by id, never by value).
    """
    full = options.detail is Detail.FULL
    limit = max(options.max_paths, 0)
    ranked = sorted(f.paths, key=len)  # stable: the analysis' order among paths of one length
    paths = tuple(ranked) if full else tuple(ranked[:limit])
    on_path = {e.id for p in f.paths for e in p}
    shown_ids = {e.id for p in paths for e in p}
    rest = [e for e in f.edges if e.id not in on_path]
    # certain edges before conditional ones, then one per technique before repeats
    rest.sort(key=lambda e: e.conditional)
    if not full and len(rest) > limit:
        # one edge per technique first, so the few shown say as much as they can
        seen: set[str] = set()
        firsts: list[Edge] = []
        repeats: list[Edge] = []
        for e in rest:
            (repeats if e.technique in seen else firsts).append(e)
            seen.add(e.technique)
        picked = {e.id for e in (firsts + repeats)[:limit]}
        rest = [e for e in rest if e.id in picked]
    other = tuple(rest)
    shown_ids.update(e.id for e in other)
    unseen = {e.id for e in f.edges} - shown_ids
    return Digest(
        finding=f,
        severity=severity,
        paths=paths,
        more_paths=len(f.paths) - len(paths),
        other_edges=other,
        more_edges=len(unseen),
        shortest=min((len(p) for p in f.paths), default=1),
    )


def brief(items: tuple[str, ...], limit: int = 5) -> str:
    """The first `limit` items, comma-separated, and how many more: "a, b, c, d, e (+10 more)"."""
    shown = ", ".join(items[:limit])
    return f"{shown} (+{len(items) - limit} more)" if len(items) > limit else shown


def more_text(d: Digest) -> str:
    """"3 more paths and 12 more escalation edges", or "" when everything is shown."""
    parts = []
    if d.more_paths:
        parts.append(f"{d.more_paths:,} more path{'s' if d.more_paths != 1 else ''}")
    if d.more_edges:
        parts.append(f"{d.more_edges:,} more escalation edge{'s' if d.more_edges != 1 else ''}")
    return " and ".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountGroup:
    """One account of a multi-account report, with its active findings (in the view's order)."""

    detail: AccountDetail
    findings: tuple[Finding, ...]
    counts: dict[Severity, int]  # its active findings by severity, every severity present
    admins: int  # its full administrators

    @property
    def at_risk(self) -> int:
        return len(self.findings)

    def ou_text(self) -> str:
        return "/".join(self.detail.ou_path)


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
    # Several accounts: each account's findings and counts, in the report's account order; () else.
    accounts: tuple[AccountGroup, ...] = ()

    def counts(self) -> dict[Severity, int]:
        """Active findings by severity, every severity present (critical first)."""
        out = dict.fromkeys(SEVERITIES, 0)
        for f in self.active:
            out[self.severity[f.principal]] += 1
        return out


def worst_first(digests: list[Digest]) -> list[Digest]:
    """The findings a summary's "top" list names: the worst first (findings are grouped by account
    over several accounts; the sort is stable, so one account's keep their order)."""
    return sorted(digests, key=lambda d: -d.severity.rank)


def accounts_named(accounts: tuple[str, ...], limit: int = 10) -> str:
    """`a, b, c` or, for an organization of hundreds, the first `limit` and how many more."""
    shown = ", ".join(accounts[:limit])
    return f"{shown} (+{len(accounts) - limit} more)" if len(accounts) > limit else shown


def account_heading(g: AccountGroup) -> str:
    """`111111111111 (workload), Root/prod [management]`: an account as a report names it."""
    where = f", {g.ou_text()}" if g.detail.ou_path else ""
    mgmt = " [management account]" if g.detail.management else ""
    return f"{g.detail.label()}{where}{mgmt}"


ACCOUNTS_SHOWN = 20  # past this many accounts, a summary lists only those with something to say


def accounts_shown(v: View, options: RenderOptions) -> tuple[list[AccountGroup], int]:
    """The accounts a report for people lists, and how many quiet ones it leaves out: in summary
    detail, past `ACCOUNTS_SHOWN` accounts, those with no principal at risk (other than the
    management account, and accounts not analysed) are counted, not listed."""
    groups = list(v.accounts)
    if options.detail is Detail.FULL or len(groups) <= ACCOUNTS_SHOWN:
        return groups, 0
    shown = [g for g in groups if g.at_risk or g.detail.management or g.detail.collection != "collected"]
    return shown, len(groups) - len(shown)


def account_lines(v: View, options: RenderOptions = DEFAULT_OPTIONS) -> list[str]:
    """One line per account: its findings by severity and administrators, or why it was not analysed."""
    out = []
    groups, quiet = accounts_shown(v, options)
    for g in groups:
        if g.detail.collection != "collected":
            why = f": {g.detail.error}" if g.detail.error else ""
            out.append(f"{account_heading(g)}: not analysed ({g.detail.collection}{why})")
            continue
        by_sev = ", ".join(f"{n} {s.value}" for s, n in g.counts.items())
        out.append(f"{account_heading(g)}: {g.at_risk} principal(s) at risk ({by_sev}), "
                   f"{g.admins} administrator(s)")
    if quiet:
        out.append(f"... and {quiet:,} more account(s) with no principal at risk (--detail full lists them)")
    return out


def view(report: Report, gate: GateResult | None) -> View:
    if gate is not None:
        active, suppressed, severities = gate.active, gate.suppressed, dict(gate.severities)
        warnings = gate.warnings()
    else:
        active, suppressed, warnings = report.findings, (), ()
        severities = {f.principal: finding_severity(f, report) for f in report.findings}
    order = {s: i for i, s in enumerate((Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW))}
    new = set(report.change.introduced) if report.change is not None else set()
    # Several accounts: findings grouped by the account of the principal at risk, in report order.
    rank = {d.id: i for i, d in enumerate(report.account_details)}
    # With a change (scan --terraform-plan), the findings it introduces lead.
    active = tuple(sorted(active, key=lambda f: (f.principal not in new,
                                                 rank.get(account_of(f.principal), len(rank)),
                                                 order[severities[f.principal]], f.principal)))
    counts: Counter[str] = Counter()
    edges: dict[str, Edge] = {}
    for f in report.findings:
        for e in (*(e for p in f.paths for e in p), *f.edges):
            edges.setdefault(e.id, e)
    for f in active:
        counts.update({e.technique for p in f.paths for e in p} | {e.technique for e in f.edges})
    groups: list[AccountGroup] = []
    if report.account_details:
        by_account: dict[str, list[Finding]] = {}
        for f in active:
            by_account.setdefault(account_of(f.principal), []).append(f)
        admins = Counter(account_of(a.arn) for a in report.admins if not a.target_only)
        for d in report.account_details:
            mine = tuple(by_account.get(d.id, ()))
            counts_of = dict.fromkeys(SEVERITIES, 0)
            for f in mine:
                counts_of[severities[f.principal]] += 1
            groups.append(AccountGroup(detail=d, findings=mine, counts=counts_of, admins=admins[d.id]))
    return View(
        accounts=tuple(groups),
        active=active,
        suppressed=suppressed,
        severity=severities,
        full_admins=tuple(sorted(a.arn for a in report.admins if not a.target_only)),
        targets=tuple(sorted(a.arn for a in report.admins if a.target_only)),
        technique_counts=tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        subgraph=tuple(sorted(edges.values(), key=lambda e: e.id)),
        warnings=warnings,
    )
