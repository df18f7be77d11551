"""The escalation techniques: one module per AWS service, and the explicit registry of checkers.

`REGISTRY` lists every checker in the order they run: `direct.DIRECT` (phase 0 checkers look at
the snapshot directly), then the what-if checkers of phase 2 (whatif.py: re-analyse a changed
snapshot, what the source could do after changing its own policies, groups or boundary).
`explore(ctx, source)` runs them all for one source principal and returns what it found.
Composing take-overs with rewrites over the whole graph is analysis/compose.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

from deescalate.analysis.edges import whatif
from deescalate.analysis.edges.base import Checker, EdgeContext, Principal
from deescalate.analysis.edges.direct import (
    DIRECT,
    TO_PRINCIPALS,
    direct_edges,
    ordered,
    run_phase,
    summarised,
)
from deescalate.model import ADMIN, Edge

REGISTRY: tuple[Checker, ...] = (*DIRECT, *whatif.CHECKERS)
PHASES = (0, 2)  # (composing take-over and rewrite is analysis/compose.py, over the graph)


@dataclass(frozen=True, slots=True, kw_only=True)
class Explored:
    """What one source's round found: its edges, and whether it already has an unconditional
    edge to ADMIN from phase 0 (then later rounds skip its what-ifs: `explore(what_if=False)`)."""

    edges: tuple[Edge, ...]
    outright: bool


def explore(ctx: EdgeContext, source: Principal, *, what_if: bool = True) -> Explored:
    """Every edge leaving `source` that `ctx` wants, in a stable order, one per Edge.id.

    What-if re-analyses (phase 2) are the expensive part; they are skipped for a source that can
    already make itself admin outright (a finding either way: once a plan cuts those edges the
    verification run examines its what-ifs, removing the new deny included), and when `what_if`
    is False.

    A holder of a conditional `Allow * on *` that can make itself admin (edges/wildcards.py) has its
    edges to ADMIN decided on the full snapshot and everything else, what-ifs included, on the
    snapshot without its conditional wildcards.
    """
    summary = summarised(ctx, source)
    if summary is None:
        found = direct_edges(ctx, source)
    else:
        view, stripped, admin_edges = summary
        found = {e.id: e for e in admin_edges} if ctx.wants(source.arn, ADMIN) else {}
        for eid, e in direct_edges(view, stripped, TO_PRINCIPALS).items():
            found.setdefault(eid, e)
        ctx, source = view, stripped
    outright = any(e.target == ADMIN and not e.conditional for e in found.values())
    if what_if and not outright:
        run_phase(ctx, source, ctx.applicable(source, whatif.CHECKERS), 2, found)
    return Explored(edges=tuple(ordered(found.values())), outright=outright)


def unexamined(ctx: EdgeContext) -> list[str]:
    """Techniques that go through resources the snapshot holds no inventory of, or that could not be
    collected in some region (the call failed or was not made: e.g. an unsupported service); the
    latter are examined only where listed, with conditional edges standing for the rest."""
    out: list[str] = []
    for checker in REGISTRY:
        missing = [k for k in checker.kinds if not ctx.inventoried(k)]
        if checker.kinds and len(missing) == len(checker.kinds):
            ids = "/".join(checker.ids)
            out.append(f"{ids} ({checker.title}): the snapshot has no {', '.join(missing)} inventory")
            continue
        gaps = [g for k in checker.kinds for g in ctx.gaps(k)]
        if gaps:
            where = "; ".join(f"{g.kind} in {g.region} ({g.why})" for g in gaps)
            out.append(f"{'/'.join(checker.ids)} ({checker.title}): could not be collected: {where}")
    return out


__all__ = ["REGISTRY", "Checker", "EdgeContext", "Explored", "explore", "unexamined"]
