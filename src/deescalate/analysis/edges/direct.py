"""The checkers that look at the snapshot as it is (phase 0), and the loop that runs them.

Phase 0 checkers find direct techniques (composing a take-over with a rewrite is
analysis/compose.py's, over the whole graph). The what-if checkers (phase 2, edges/whatif.py)
re-run these on a changed snapshot, which is why they live apart from the full registry in
edges/__init__.py: whatif imports this module, and nothing here imports whatif.
"""

from __future__ import annotations

from collections.abc import Iterable

from deescalate.analysis.edges import (
    batch,
    bedrock,
    cloudformation,
    codebuild,
    cognito,
    datapipeline,
    deploy,
    ec2,
    ec2_profiles,
    ecs,
    federation,
    glue,
    iam_others,
    iam_self,
    lambda_,
    passrole_more,
    sagemaker,
    ssm,
    sts,
)
from deescalate.analysis.edges.base import Checker, EdgeContext, Principal
from deescalate.model import ADMIN, Edge

DIRECT: tuple[Checker, ...] = (
    *iam_self.CHECKERS,
    *iam_others.CHECKERS,
    *federation.CHECKERS,
    *sts.CHECKERS,
    *ec2.CHECKERS,
    *ec2_profiles.CHECKERS,
    *ssm.CHECKERS,
    *lambda_.CHECKERS,
    *cloudformation.CHECKERS,
    *codebuild.CHECKERS,
    *glue.CHECKERS,
    *sagemaker.CHECKERS,
    *datapipeline.CHECKERS,
    *ecs.CHECKERS,
    *passrole_more.CHECKERS,
    *batch.CHECKERS,
    *bedrock.CHECKERS,
    *cognito.CHECKERS,
    *deploy.CHECKERS,
)
# The direct checkers whose edges can go to ADMIN (self-escalation): iam_self's. Every other direct
# checker's edges go to a principal (tests/unit/analysis/test_wildcards.py checks the modules).
SELF: tuple[Checker, ...] = iam_self.CHECKERS
TO_PRINCIPALS: tuple[Checker, ...] = tuple(c for c in DIRECT if c not in SELF)


def run_phase(
    ctx: EdgeContext, source: Principal, checkers: Iterable[Checker], phase: int, found: dict[str, Edge]
) -> None:
    """Add to `found` (by Edge.id, first one kept) the edges of `checkers` of this phase."""
    prior = tuple(found.values())
    for checker in checkers:
        if checker.phase != phase:
            continue
        for edge in checker.find(ctx, source, prior):
            if edge.id not in found:
                found[edge.id] = edge


def direct_edges(
    ctx: EdgeContext, source: Principal, checkers: tuple[Checker, ...] = DIRECT
) -> dict[str, Edge]:
    """The edges of phase 0 leaving `source` (of `checkers`, default all), by Edge.id."""
    found: dict[str, Edge] = {}
    applicable = ctx.applicable(source, checkers)
    run_phase(ctx, source, applicable, 0, found)
    return found


def summarised(ctx: EdgeContext, source: Principal) -> tuple[EdgeContext, Principal, tuple[Edge, ...]] | None:
    """How a summarised holder of a conditional wildcard is explored (edges/wildcards.py): the
    stripped snapshot's context for this round, the holder as it stands there, and its edges to
    ADMIN over the full snapshot. None for any other source, and for a holder without an edge to
    ADMIN (it is explored in full). Its other direct edges are `direct_edges(view, holder,
    TO_PRINCIPALS)`: an edge to ADMIN of the stripped snapshot is one of the full snapshot's."""
    summary = ctx.summary
    if summary is None or source.arn not in summary.holders:
        return None
    edges = summary.admin_edges.get(source.arn)
    if edges is None:
        full = ctx.for_round(frozenset({ADMIN}))
        edges = summary.admin_edges[source.arn] = tuple(ordered(direct_edges(full, source, SELF).values()))
    if not edges:
        return None
    view = summary.stripped.for_round(ctx.wanted)
    return view, view.principals[source.arn], edges


def ordered(edges: Iterable[Edge]) -> list[Edge]:
    """The stable order edges are reported in."""
    return sorted(edges, key=lambda e: (e.target, e.technique, e.via or ""))
