"""Snapshot -> Report: the analysis library's one entry point.

1. Admins (admins.py's rule) and `--target` matches (graph.py).
2. Edges from every principal that is not an admin (edges/: every technique of the registry),
   each decided by the Authorizer. Service-linked roles are not sources: only their AWS service
   can use them, and their policies cannot be changed (they remain targets).
3. Findings: who reaches an admin or a target, with paths (graph.py).
4. What the snapshot could not show: techniques through resources it has no inventory of.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace

from deescalate.analysis.accounts import account_details, management_account
from deescalate.analysis.compose import actors_and_removers, compose
from deescalate.analysis.edges import EdgeContext, explore, unexamined
from deescalate.analysis.edges.base import Principal, Summary
from deescalate.analysis.edges.wildcards import strip
from deescalate.analysis.graph import admin_verdicts, can_reach, findings
from deescalate.analysis.reuse import Reuse
from deescalate.gctune import fewer_full_collections
from deescalate.model import ADMIN, AdminVerdict, Edge, InventoryRecord, Report, Role, Snapshot
from deescalate.policy.match import resource_matches

log = logging.getLogger("deescalate.analysis")


@fewer_full_collections()
def analyze(
    snapshot: Snapshot,
    *,
    targets: Sequence[str] = (),
    summarise: bool = True,
    reuse: Reuse | None = None,
    verification: bool = False,
) -> Report:
    """The report of `snapshot`. With `summarise` (the default), holders of a conditional
    `Allow * on *` that can make themselves admin have the edges only that statement allows
    summarised by their edges to admin (edges/wildcards.py); a plan asks for summarise=False.

    `reuse` (a plan's verification rounds, analysis/reuse.py) keeps the edges of sources the
    snapshot has not changed since the last analysis made with it; the report is the same.

    `verification` (a plan's verification, whose question is whether any edge is left): within a
    strongly connected component, composition gives a rewrite to its actor only (compose()); the
    report then lists fewer edges, and lists one exactly when the full analysis does."""
    started = time.perf_counter()
    verdicts = admin_verdicts(snapshot, targets)
    admins = frozenset(v.arn for v in verdicts if not v.target_only)
    log.info("admins: %d, targets: %d, of %d principals (%.2fs)", len(admins), len(verdicts) - len(admins),
             len(snapshot.principal_arns()), time.perf_counter() - started)
    # Holders of a conditional `Allow * on *` are summarised (edges/wildcards.py, docs/analysis.md).
    summary = summarising(snapshot, admins) if summarise else None
    if summary is not None:
        reuse = None
    ctx = EdgeContext(
        snapshot, admins=admins, summary=summary, prefilters=None if reuse is None else reuse.prefilters
    )
    sources, skipped_service_linked = sources_of(ctx, snapshot.principal_arns(), admins)
    sinks = {v.arn for v in verdicts} | {ADMIN}
    if reuse is not None:
        reuse.begin(snapshot, world=(tuple(verdicts), tuple(targets)))
    found = find_edges(ctx, sources, sinks, reuse=reuse, verification=verification)
    if reuse is not None:
        log.info("reuse: %d source result(s) kept, %d decided again", reuse.hits, reuse.misses)
    reach = can_reach(sinks, found.values())
    edges = sorted(
        (e for e in found.values() if e.target in reach), key=lambda e: (e.source, e.target, e.id)
    )
    started = time.perf_counter()
    result = findings(snapshot.principal_arns(), edges, verdicts)
    log.info("findings: %d principal(s) at risk, paths found in %.2fs", len(result),
             time.perf_counter() - started)

    missing = account_gaps(snapshot) + unexamined(ctx)
    notes = report_notes(targets, verdicts, skipped_service_linked=skipped_service_linked, edges=edges,
                         inventory=snapshot.inventory, has_inventory=snapshot.has_inventory)
    held = summarised_holders(summary)
    if held:
        notes.append(held_note(len(held)))
    details = account_details(snapshot)
    return Report(
        account_id=snapshot.account_id,
        admins=verdicts,
        findings=result,
        edges=tuple(edges),
        unexamined=tuple(missing),
        notes=tuple(notes),
        source=snapshot.source,
        accounts=snapshot.all_accounts(),
        account_details=details,
        # Paths to the management account's admins rank critical; a scan of one account is as before.
        management_account_id=management_account(snapshot) if details else "",
        summarised=held,
    )


def summarising(snapshot: Snapshot, admins: frozenset[str]) -> Summary | None:
    """The conditional-wildcard summary of `snapshot` (edges/wildcards.py), or None when no
    identity policy holds a conditional `Allow * on *`."""
    stripped = strip(snapshot)
    if stripped is None:
        return None
    return Summary(holders=stripped.holders, stripped=EdgeContext(stripped.snapshot, admins=admins))


def summarised_holders(summary: Summary | None) -> tuple[str, ...]:
    """The holders the analysis summarised by their edges to admin, sorted."""
    return () if summary is None else tuple(sorted(a for a, e in summary.admin_edges.items() if e))


def held_note(count: int) -> str:
    """The report's note on summarised holders of a conditional wildcard."""
    return (
        f"{count} principal(s) hold a conditional Allow of * on * and can make themselves admin: "
        "their edges that only that statement allows are summarised by their edges to admin "
        "(see docs/analysis.md, Conditional wildcards)"
    )


def account_gaps(snapshot: Snapshot) -> list[str]:
    """What an organization snapshot could not show: accounts that were not collected (never
    silently dropped), and SCPs/RCPs when it holds no organization files."""
    missing = [i.not_collected() for i in snapshot.account_infos.values() if not i.collected]
    if snapshot.account_infos and not snapshot.organizations:
        missing.append("SCPs and RCPs: the organization snapshot holds no organization files, so no SCP"
                       " or RCP is applied to any account")
    return missing


def sources_of(
    ctx: EdgeContext, principals: Iterable[str], admins: frozenset[str]
) -> tuple[list[Principal], int]:
    """The principals edges are searched from (sorted by ARN), and how many service-linked roles
    were left out."""
    sources = []
    skipped_service_linked = 0
    for arn in sorted(principals):
        if arn in admins:
            continue
        principal = ctx.principals[arn]
        if isinstance(principal, Role) and principal.is_service_linked:
            skipped_service_linked += 1
            continue
        sources.append(principal)
    return sources, skipped_service_linked


def find_edges(
    ctx: EdgeContext,
    sources: list[Principal],
    sinks: set[str],
    *,
    reaching: set[str] | None = None,
    composers: set[str] | None = None,
    reuse: Reuse | None = None,
    verification: bool = False,
) -> dict[str, Edge]:
    """Every edge from `sources` on some path to a sink, by Edge.id (phase 0 and what-ifs, then composition).

    `reaching` are the sinks that count as "already escalates" when choosing who is composed
    (default: `sinks`); analysis/split.py passes the admins and targets only, when `sinks` also holds
    other accounts' roles that are merely on the way. `composers`, when given, receives the
    principals composition considered (those that may rewrite or strip others' permissions).
    `reuse`, `verification`: see analyze().
    """
    found: dict[str, Edge] = {}
    _grow(ctx, sources, sinks, found, reuse=reuse)
    # Composition (compose.py): principals that may rewrite or strip others' permissions and do
    # not reach an admin already; their ancestors are grown like the sinks', then composed.
    # A principal that already reaches one, even only conditionally (a shared `Allow * if MFA`),
    # is a finding anyway; composing through it would only add more routes, at a cost that grows
    # with the cube of the principals who can act as one another. The plan's verification cuts
    # its direct edges first and then composes it (see docs/analysis.md).
    escalating = can_reach(sinks if reaching is None else reaching, found.values())
    actors, removers = actors_and_removers(ctx, sources, escalating)
    if composers is not None:
        composers.update(actors, removers)
    if actors or removers:
        log.info("composition: %d principal(s) may rewrite others' permissions, %d may strip them",
                 len(actors), len(removers))
        _grow(ctx, sources, set(actors) | set(removers), found, what_if=False, reuse=reuse)
        for edge in compose(
            ctx,
            sources,
            found,
            actors=actors,
            removers=removers,
            escalating=escalating,
            reuse=reuse,
            verification=verification,
        ):
            _merge(found, edge)
    return found


def report_notes(
    targets: Sequence[str],
    verdicts: Sequence[AdminVerdict],
    *,
    skipped_service_linked: int,
    edges: Sequence[Edge],
    inventory: Iterable[InventoryRecord],
    has_inventory: bool,
) -> list[str]:
    """The report's notes: unmatched --target patterns, left-out service-linked roles, conditional
    edges, incomplete inventory."""
    admins = [v.arn for v in verdicts if not v.target_only]
    notes: list[str] = []
    for pattern in targets:
        if not any(v.target_only and _matches(v.arn, pattern) for v in verdicts) and not any(
            _matches(a, pattern) for a in admins
        ):
            notes.append(f"--target {pattern} matches no principal of the snapshot")
    if skipped_service_linked:
        notes.append(
            f"{skipped_service_linked} service-linked role(s) not analysed as sources: only their AWS "
            "service can act as them and their policies cannot be changed"
        )
    conditional = sum(1 for e in edges if e.conditional)
    if conditional:
        notes.append(
            f"{conditional} of {len(edges)} edges are conditional: they depend on request context or on "
            "facts the snapshot lacks (each edge names its conditions)"
        )
    gaps = sorted({f"{rec.kind} in {rec.region}" for rec in inventory if rec.state.value != "ok"})
    if gaps:
        notes.append("resource inventory incomplete for: " + ", ".join(gaps))
    if not has_inventory:
        notes.append(
            "the snapshot holds IAM data only (no resource inventory): techniques through existing "
            "resources are unexamined"
        )
    return notes


def _grow(
    ctx: EdgeContext,
    sources: list[Principal],
    sinks: set[str],
    found: dict[str, Edge],
    *,
    what_if: bool = True,
    reuse: Reuse | None = None,
) -> None:
    """Every edge on some path to a sink, found in rounds outwards from the sinks, into `found`.

    Round 1 asks only for edges into the sinks (admins, targets, ADMIN); round k+1 only for edges
    into the principals round k found able to reach a sink. Edges into principals from which
    nothing escalates are never decided: that is what keeps 10,000 principals fast.
    """
    reached = set(sinks)
    frontier = set(sinks)
    outright: set[str] = set()  # sources with an unconditional edge to ADMIN: what-ifs skipped
    rounds = 0
    while frontier:
        rounds += 1
        started = time.perf_counter()
        round_ctx = ctx.for_round(frozenset(frontier))
        new: set[str] = set()
        explore_one = explore if reuse is None else reuse.explore
        for source in sources:
            explored = explore_one(round_ctx, source, what_if=what_if and source.arn not in outright)
            if explored.outright:
                outright.add(source.arn)
            for edge in explored.edges:
                if edge.target in reached:
                    found.setdefault(edge.id, edge)
                    if source.arn not in reached:
                        new.add(source.arn)
        reached |= new
        log.info("round %d: edges from %d source(s) into %d principal(s): %d principal(s) newly reach "
                 "an admin or target, %d edge(s) so far (%.2fs)", rounds, len(sources), len(frontier),
                 len(new), len(found), time.perf_counter() - started)
        frontier = new


def _merge(found: dict[str, Edge], edge: Edge) -> None:
    """Add an edge; one with a known id (a helper's way to the same change) adds its alternatives."""
    old = found.get(edge.id)
    if old is None:
        found[edge.id] = edge
        return
    known = set(old.alternatives)
    alts = (*old.alternatives, *(a for a in edge.alternatives if a not in known))
    conditions = () if not (old.conditional and edge.conditional) else old.conditions
    found[edge.id] = replace(old, alternatives=alts, conditions=conditions)


def _matches(arn: str, pattern: str) -> bool:
    return resource_matches(pattern, arn)
