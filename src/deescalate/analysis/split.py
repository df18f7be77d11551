"""Many accounts -> one Report, the per-account work run as independent tasks, then joined.

An organization of a thousand accounts is too big for one process's analysis, but most of the
work never crosses an account: who is admin, and the edges between a principal and the
principals of its own account (IAM calls act on the caller's own account; PassRole hands over
roles of the caller's account). The only way across is sts:AssumeRole on a role of another account
whose trust policy admits the caller (edges/sts.py; both sides' policies decide,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).

So the analysis runs in two maps over the accounts and one join:

1. `export_account` (per account): the roles whose trust policy names another account, a
   principal of another account, or everybody — the only roles an edge from another account can
   end on — and which of them are admins or --target matches.
2. `analyze_account` (per account): the account's admins and targets, and every edge from its
   principals that leads to one of its admins or targets, to ADMIN, or to one of the other
   accounts' exported roles whose trust may admit them (the cross-account edges, decided with this
   account's policies and SCPs and the role's trust policy), and the edges into the principals
   found so (edges/ and composition, through `analyze.find_edges`). A cross-account role is a
   sink of this search even if it leads nowhere: which ones do is known only at the join.
3. `join`: every account's edges together, reachability from the sinks of the whole organization
   (an edge is kept only when its target reaches an admin or target, across any number of
   accounts), findings and paths (graph.py), notes and unexamined techniques as `analyze` makes
   them.

Each task is a pure function of one account's snapshot on disk (and the organization's files),
small picklable arguments in and compact results out: workers load their account themselves, so
nothing ships a million-principal Snapshot. `Mapper` runs a task over a list (the built-in `map`,
a process pool's, or Dask's): the result is the same whichever, by construction (each task's
result depends on its arguments only, and the join sorts what it gathers).

Conditional wildcards are summarised in each task as `analyze` does (edges/wildcards.py).

4. Composition across accounts (`_regroup`): an account's task composes only inside its account,
   so it cannot see P acting, through another account, as a principal that may rewrite another
   (P in A assuming R1 and R2 in B where R1 may put a policy on R2). After the join, the accounts
   of every weakly connected component of the edges between principals that reach no sink, in
   which an edge enters the account of a composer from another account, are analysed again as
   one merged snapshot (same task, `AccountTask.also`), and their edges replace those accounts'.
   Principals that reach a sink already are not composed (as in `find_edges`), and a component
   no edge enters from another account composes as in its own account, so the report is the
   merged analysis's. The cost: organizations where such components span many accounts (an
   IAM-writing role that non-escalating principals of many accounts may assume) run that part in
   one process.
"""

from __future__ import annotations

import copyreg
import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import unquote

from deescalate.analysis.accounts import account_details, management_account
from deescalate.analysis.analyze import (
    account_gaps,
    find_edges,
    held_note,
    report_notes,
    sources_of,
    summarised_holders,
    summarising,
)
from deescalate.analysis.edges import EdgeContext, unexamined
from deescalate.analysis.edges.trust import TrustIndex, admits
from deescalate.analysis.graph import admin_verdicts, can_reach, findings
from deescalate.arn import account_of
from deescalate.gctune import fewer_full_collections
from deescalate.model import (
    ADMIN,
    AccountInfo,
    AdminVerdict,
    Edge,
    Effect,
    InventoryRecord,
    Organization,
    Report,
    Role,
    Snapshot,
)
from deescalate.snapshot.load import (
    OrgAccount,
    is_org_dir,
    load_org_account,
    load_org_account_roles,
    merge_snapshots,
    org_accounts,
)

log = logging.getLogger("deescalate.analysis")


def _mappingproxy(items: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(items)


# The model's read-only mappings (tags, policy versions) cross process boundaries as dicts and come
# back read-only: pickle has no reducer for mappingproxy of its own.
copyreg.pickle(MappingProxyType, lambda m: (_mappingproxy, (dict(m),)))

T = TypeVar("T")
R = TypeVar("R")
# Runs a task over every item, results in the items' order: `lambda f, xs: list(map(f, xs))`, a
# process pool's map, a Dask client's map + gather.
Mapper = Callable[[Callable[[T], R], Sequence[T]], list[R]]


def local_map(func: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """The Mapper that runs every task in this process, one after another."""
    return [func(item) for item in items]


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountRef:
    """One collected account of the organization snapshot directory `root`."""

    root: str
    account: OrgAccount

    @property
    def account_id(self) -> str:
        return self.account.id

    def load(self) -> Snapshot:
        return load_org_account(self.root, self.account)


@dataclass(frozen=True, slots=True, kw_only=True)
class Exported:
    """Phase 1's result for one account: its roles another account's principals may assume."""

    account_id: str
    roles: tuple[Role, ...]
    sinks: frozenset[str]  # those of them that are admins or --target matches
    organization: Organization | None  # the account's own path (the roles' RCPs)


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountTask:
    """Phase 2's input for one account (or, in phase 3, a group of accounts analysed together):
    the other accounts' roles that may admit its principals."""

    ref: AccountRef
    also: tuple[AccountRef, ...] = ()  # phase 3: the group's other accounts, merged with `ref`'s
    targets: tuple[str, ...] = ()
    foreign: tuple[Role, ...] = ()
    foreign_sinks: frozenset[str] = frozenset()
    foreign_orgs: tuple[tuple[str, Organization], ...] = ()  # (account id, its path): RCPs on `foreign`


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountPart:
    """Phase 2's result for one account: what the join needs, nothing more."""

    account_id: str
    verdicts: tuple[AdminVerdict, ...]
    edges: tuple[Edge, ...]
    # Principals composition considered (may rewrite or strip others' permissions, reach no admin).
    composers: frozenset[str]
    summarised: tuple[str, ...]  # holders of a conditional `Allow * on *` summarised (wildcards.py)
    accounts: tuple[str, ...]  # the accounts analysed: `account_id` alone, or a phase 3 group
    skipped_service_linked: int
    inventory: tuple[InventoryRecord, ...]
    has_inventory: bool
    principals: int
    seconds: float


# ---------------------------------------------------------------------------- phase 1


def _names_elsewhere(role: Role) -> bool:
    """Whether the role's trust policy may admit a principal of another account (an AWS principal
    of another account, `*`, or a NotPrincipal)."""
    trust = role.trust_policy
    if trust is None:
        return False
    for st in trust.statements:
        if st.effect is not Effect.ALLOW or not admits(st.actions, st.not_actions, "sts:AssumeRole"):
            continue
        if st.not_principal is not None:
            return True
        for ptype, value in st.principal.entries if st.principal else ():
            if ptype == "*" or (ptype == "AWS" and value == "*"):
                return True
            if ptype != "AWS":
                continue
            named = value if value.isdigit() else account_of(value)
            if named != role.account_id:
                return True
    return False


def export_account(ref: AccountRef, targets: tuple[str, ...] = ()) -> Exported:
    """Phase 1: the account's roles whose trust policy may admit other accounts' principals.

    Only roles whose trust policy text names `*` or a 12-digit number other than the account's
    own are parsed (a superset of those `_names_elsewhere` keeps), not the whole account."""
    own = ref.account_id

    def maybe(entry: Any) -> bool:
        trust = entry.get("AssumeRolePolicyDocument")
        text = unquote(trust) if isinstance(trust, str) else json.dumps(trust)
        return '"*"' in text or "NotPrincipal" in text or any(n != own for n in _ACCOUNT_ID.findall(text))

    snapshot = load_org_account_roles(ref.root, ref.account, maybe)
    roles = tuple(sorted((r for r in snapshot.roles.values() if _names_elsewhere(r)), key=lambda r: r.arn))
    wanted = {r.arn for r in roles}
    sinks = frozenset(v.arn for v in admin_verdicts(snapshot, targets) if v.arn in wanted)
    return Exported(
        account_id=snapshot.account_id, roles=roles, sinks=sinks, organization=snapshot.organization
    )


_ACCOUNT_ID = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")


def _export(args: tuple[AccountRef, tuple[str, ...]]) -> Exported:
    return export_account(args[0], args[1])


# ---------------------------------------------------------------------------- phase 2


@fewer_full_collections()  # a Dask worker has the default thresholds (a forked pool worker inherits ours)
def analyze_account(task: AccountTask) -> AccountPart:
    """Phase 2: one account's admins and every edge from its principals worth joining."""
    started = time.process_time()
    own = task.ref.load()
    if task.also:
        own = merge_snapshots([own, *(ref.load() for ref in task.also)])
    verdicts = admin_verdicts(own, task.targets)
    admins = frozenset(v.arn for v in verdicts if not v.target_only)
    snapshot = own
    if task.foreign:
        roles = dict(own.roles)
        for role in task.foreign:
            roles.setdefault(role.arn, role)
        orgs = dict(task.foreign_orgs)
        orgs.update(own.organizations)
        snapshot = replace(own, roles=MappingProxyType(roles), organizations=MappingProxyType(orgs))
    # Conditional wildcards summarised as analyze() does (edges/wildcards.py).
    summary = summarising(snapshot, admins)
    ctx = EdgeContext(snapshot, admins=admins, summary=summary)
    sources, skipped = sources_of(ctx, own.principal_arns(), admins)
    own_sinks = {v.arn for v in verdicts} | {ADMIN}
    composers: set[str] = set()
    found = find_edges(
        ctx,
        sources,
        own_sinks | {r.arn for r in task.foreign if r.arn not in own.roles},
        reaching=own_sinks | set(task.foreign_sinks),
        composers=composers,
    )
    edges = tuple(sorted(found.values(), key=lambda e: (e.source, e.target, e.id)))
    log.info(
        "account %s: %d principal(s), %d admin(s), %d edge(s) (%.2fs CPU)",
        own.account_id,
        len(own.principal_arns()),
        len(admins),
        len(edges),
        time.process_time() - started,
    )
    return AccountPart(
        account_id=own.account_id,
        verdicts=verdicts,
        edges=edges,
        composers=frozenset(composers),
        summarised=summarised_holders(summary),
        accounts=own.all_accounts(),
        skipped_service_linked=skipped,
        inventory=own.inventory,
        has_inventory=own.has_inventory,
        principals=len(own.principal_arns()),
        seconds=time.process_time() - started,
    )


# ---------------------------------------------------------------------------- the whole


def _tasks(
    refs: Sequence[AccountRef], exported: Sequence[Exported], targets: tuple[str, ...]
) -> list[AccountTask]:
    """Each account's task, with the roles of the other accounts whose trust may admit its principals."""
    roles = {r.arn: r for e in exported for r in e.roles}
    index = TrustIndex(list(roles.values()))
    for_account: dict[str, set[str]] = {}
    for arn, named in index.by_arn.items():
        for_account.setdefault(account_of(arn), set()).update(named)
    for (account, _name), named in index.by_role_name.items():
        for_account.setdefault(account, set()).update(named)
    for account, named in index.by_account.items():
        for_account.setdefault(account, set()).update(named)
    sinks = frozenset(s for e in exported for s in e.sinks)
    orgs = {e.account_id: e.organization for e in exported if e.organization is not None}
    out = []
    for ref in refs:
        wanted = sorted(
            a
            for a in (for_account.get(ref.account_id, set()) | index.everyone)
            if account_of(a) != ref.account_id
        )
        foreign = tuple(roles[a] for a in wanted)
        accounts = {account_of(a) for a in wanted}
        out.append(
            AccountTask(
                ref=ref,
                targets=targets,
                foreign=foreign,
                foreign_sinks=frozenset(a for a in wanted if a in sinks),
                foreign_orgs=tuple(sorted((k, v) for k, v in orgs.items() if k in accounts)),
            )
        )
    return out


class _Sets:
    """Disjoint sets (union-find) of strings, each named by its smallest member."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def root(self, x: str) -> str:
        parent = self.parent
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(self, x: str, y: str) -> None:
        a, b = self.root(x), self.root(y)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def _regroup(parts: Sequence[AccountPart]) -> tuple[list[tuple[str, ...]], set[str]]:
    """Phase 3's groups of accounts, and the principals that reach a sink over the joined edges.

    Composition (compose.py) pairs members of S(P), everything P can act as. An account's task
    composes only within the account, so it misses P acting, through another account, as a
    principal that may rewrite or strip another (a composer): P in A assuming R1 and R2 in B where
    R1 may put a policy on R2, or P reaching a role of its own account only through B's role.
    Every such P, and its S(P), lies in one weakly connected component of the edges between
    principals that reach no sink, and that component holds an edge into the composer's account
    from another account. Such components' accounts are analysed again as one snapshot; a principal
    that reaches a sink already is not composed (as in `find_edges`), so the rest stays exact.
    """
    found: dict[str, Edge] = {}
    for part in parts:
        for edge in part.edges:
            found.setdefault(edge.id, edge)
    sinks = {v.arn for p in parts for v in p.verdicts} | {ADMIN}
    reach = can_reach(sinks, found.values())
    components = _Sets()
    root = components.root
    entries: list[str] = []  # principals entered from another account by an edge
    for edge in sorted(found.values(), key=lambda e: e.id):
        if edge.target == ADMIN or edge.source in reach:
            continue
        components.join(edge.source, edge.target)
        if account_of(edge.source) != account_of(edge.target):
            entries.append(edge.target)
    entered: dict[str, set[str]] = {}
    for target in entries:
        entered.setdefault(root(target), set()).add(account_of(target))
    tainted = {
        root(c)
        for p in parts
        for c in p.composers
        if c in components.parent and c not in reach and account_of(c) in entered.get(root(c), set())
    }
    if not tainted:
        return [], reach
    # Accounts of each tainted component, components sharing an account joined.
    accounts = _Sets()
    for member in sorted(components.parent):
        r = root(member)
        if r in tainted:
            accounts.join(account_of(member), account_of(r))
    groups: dict[str, set[str]] = {}
    for account in list(accounts.parent):
        groups.setdefault(accounts.root(account), set()).add(account)
    return sorted(tuple(sorted(g)) for g in groups.values() if len(g) > 1), reach


def _group_tasks(
    groups: Sequence[tuple[str, ...]], tasks: Sequence[AccountTask], reach: set[str]
) -> list[AccountTask]:
    """Phase 3's tasks: each group's accounts merged, with the other accounts' roles they may assume."""
    by_account = {t.ref.account_id: t for t in tasks}
    order = {t.ref.account_id: i for i, t in enumerate(tasks)}
    out = []
    for group in groups:
        members = sorted(
            (by_account[a] for a in group if a in by_account), key=lambda t: order[t.ref.account_id]
        )
        inside = set(group)
        foreign: dict[str, Role] = {}
        orgs: dict[str, Organization] = {}
        for t in members:
            for role in t.foreign:
                if account_of(role.arn) not in inside:
                    foreign.setdefault(role.arn, role)
            orgs.update(dict(t.foreign_orgs))
        out.append(
            AccountTask(
                ref=members[0].ref,
                also=tuple(t.ref for t in members[1:]),
                targets=members[0].targets,
                foreign=tuple(foreign[a] for a in sorted(foreign)),
                # Roles that lead to an admin or target over the joined edges count as reaching one.
                foreign_sinks=frozenset(
                    a for a in foreign if a in reach or any(a in t.foreign_sinks for t in members)
                ),
                foreign_orgs=tuple(sorted((k, v) for k, v in orgs.items() if k not in inside)),
            )
        )
    return out


def analyze_accounts(
    refs: Sequence[AccountRef],
    *,
    targets: Sequence[str] = (),
    mapper: Mapper[Any, Any] = local_map,
    source: str = "",
    infos: Sequence[AccountInfo] = (),
) -> Report:
    """The Report of several accounts (an organization), the per-account work run through `mapper`.

    The home account (Report.account_id) is the first of `refs`; `infos` are the accounts the
    organization's manifest lists (those not collected are unexamined, named in the report).
    """
    if not refs:
        raise ValueError("no account to analyse")
    wanted = tuple(targets)
    started = time.perf_counter()
    exported = mapper(_export, [(ref, wanted) for ref in refs])
    log.info(
        "phase 1: %d account(s), %d role(s) other accounts may assume (%.2fs)",
        len(refs),
        sum(len(e.roles) for e in exported),
        time.perf_counter() - started,
    )
    started = time.perf_counter()
    tasks = _tasks(refs, exported, wanted)
    parts = mapper(analyze_account, tasks)
    log.info(
        "phase 2: %d account(s), %d edge(s), %.1fs CPU in the tasks (%.2fs)",
        len(parts),
        sum(len(p.edges) for p in parts),
        sum(p.seconds for p in parts),
        time.perf_counter() - started,
    )
    groups, reach = _regroup(parts)
    regrouped: list[AccountPart] = []
    if groups:
        started = time.perf_counter()
        regrouped = mapper(analyze_account, _group_tasks(groups, tasks, reach))
        log.info(
            "phase 3: %d group(s) of accounts whose principals may compose across accounts, %d account(s)"
            " analysed again together (%.2fs)",
            len(groups),
            sum(len(g) for g in groups),
            time.perf_counter() - started,
        )
    organizations = {r.account_id: r.account.organization for r in refs if r.account.organization is not None}
    return join(
        parts, targets=wanted, source=source, organizations=organizations, infos=infos, groups=regrouped
    )


def join(
    parts: Sequence[AccountPart],
    *,
    targets: Sequence[str] = (),
    source: str = "",
    organizations: Mapping[str, Organization] = MappingProxyType({}),
    infos: Sequence[AccountInfo] = (),
    groups: Sequence[AccountPart] = (),
) -> Report:
    """The accounts' parts as one Report: reachability, findings and paths over every account.

    `groups` (phase 3) replace the edges of the accounts they cover. `organizations` (each
    account's own path) and `infos` (the manifest's accounts) make the report's account summary,
    as `analyze` makes it from a merged snapshot."""
    started = time.perf_counter()
    verdicts = tuple(sorted((v for p in parts for v in p.verdicts), key=lambda v: v.arn))
    covered = {a for g in groups for a in g.accounts}
    edge_parts = [p for p in parts if p.account_id not in covered] + list(groups)
    found: dict[str, Edge] = {}
    for part in edge_parts:
        for edge in part.edges:
            found.setdefault(edge.id, edge)
    sinks = {v.arn for v in verdicts} | {ADMIN}
    reach = can_reach(sinks, found.values())
    edges = sorted((e for e in found.values() if e.target in reach), key=lambda e: (e.source, e.target, e.id))
    result = findings({e.source for e in edges}, edges, verdicts)
    home = parts[0].account_id
    inventory = tuple(r for p in parts for r in p.inventory)
    has_inventory = all(p.has_inventory for p in parts)
    # What the report says of the accounts, from a snapshot without principals: the same functions
    # as analyze()'s, so the same result.
    light = Snapshot(
        account_id=home,
        organization=organizations.get(home),
        inventory=inventory,
        has_inventory=has_inventory,
        accounts=tuple(p.account_id for p in parts),
        organizations=MappingProxyType(dict(organizations)),
        account_infos=MappingProxyType({i.id: i for i in infos}),
    )
    missing = account_gaps(light) + unexamined(EdgeContext(light))
    details = account_details(light)
    notes = report_notes(
        targets,
        verdicts,
        skipped_service_linked=sum(p.skipped_service_linked for p in parts),
        edges=edges,
        inventory=inventory,
        has_inventory=has_inventory,
    )
    held = tuple(sorted({h for p in edge_parts for h in p.summarised}))
    if held:
        notes.append(held_note(len(held)))
    log.info(
        "join: %d edge(s) kept of %d, %d principal(s) at risk (%.2fs)",
        len(edges),
        len(found),
        len(result),
        time.perf_counter() - started,
    )
    return Report(
        account_id=home,
        admins=verdicts,
        findings=result,
        edges=tuple(edges),
        unexamined=tuple(missing),
        notes=tuple(notes),
        source=source,
        accounts=light.all_accounts(),
        account_details=details,
        management_account_id=management_account(light) if details else "",
        summarised=held,
    )


def organization_refs(root: str | Path) -> tuple[list[AccountRef], tuple[AccountInfo, ...]]:
    """The collected accounts of an organization snapshot directory (the management account first),
    and every account its manifest lists (collected or not)."""
    accounts, manifest = org_accounts(root)
    return [AccountRef(root=str(root), account=a) for a in accounts], manifest.accounts


def is_organization(path: str | Path) -> bool:
    """Whether `path` is an organization snapshot directory."""
    return is_org_dir(path)


__all__ = [
    "AccountPart",
    "AccountRef",
    "AccountTask",
    "Exported",
    "Mapper",
    "analyze_account",
    "analyze_accounts",
    "export_account",
    "is_organization",
    "join",
    "local_map",
    "organization_refs",
]
