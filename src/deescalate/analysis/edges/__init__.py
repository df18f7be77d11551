"""The escalation techniques: one module per AWS service, and the explicit registry of checkers.

`REGISTRY` lists every checker in the order they run. Phase 0 checkers look at the snapshot
directly; phase 1 combines phase-0 edges (take over T, then rewrite T); phase 2 re-analyses a
changed snapshot (what the source could do after changing its own policies, groups or boundary).
`edges_from(ctx, source)` runs them all for one source principal.
"""

from __future__ import annotations

from deescalate.analysis.edges import (
    batch,
    bedrock,
    cloudformation,
    codebuild,
    cognito,
    combos,
    datapipeline,
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
    whatif,
)
from deescalate.analysis.edges.base import Checker, EdgeContext, Principal
from deescalate.model import ADMIN, Edge

REGISTRY: tuple[Checker, ...] = (
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
    *combos.CHECKERS,
    *whatif.CHECKERS,
)
PHASES = (0, 1, 2)


def edges_from(ctx: EdgeContext, source: Principal, *, what_if: bool = True) -> list[Edge]:
    """Every edge leaving `source`, in a stable order, one per Edge.id."""
    found: dict[str, Edge] = {}
    for phase in PHASES:
        if any(e.target == ADMIN and not e.conditional for e in found.values()):
            ctx.outright.add(source.arn)  # remembered across analyze()'s rounds
        if phase == 2 and (not what_if or source.arn in ctx.outright):
            # What-if re-analyses are the expensive part; a source that can already make itself
            # admin outright is a finding either way, and once a plan cuts those edges the
            # verification run examines its what-ifs (removing the new deny included).
            break
        prior = tuple(found.values())
        for checker in _applicable(ctx, source):
            if checker.phase != phase:
                continue
            for edge in checker.find(ctx, source, prior):
                if edge.id not in found:
                    found[edge.id] = edge
    return sorted(found.values(), key=lambda e: (e.target, e.technique, e.via or ""))


def _applicable(ctx: EdgeContext, source: Principal) -> tuple[Checker, ...]:
    """The checkers whose prefilter the source passes (asked once per source and context)."""
    hit = ctx.applicable.get(source.arn)
    if hit is None:
        hit = tuple(c for c in REGISTRY if c.applies(ctx, source))
        ctx.applicable[source.arn] = hit
    return hit


def unexamined(ctx: EdgeContext) -> list[str]:
    """Techniques that go through resources the snapshot holds no inventory of."""
    out: list[str] = []
    for checker in REGISTRY:
        missing = [k for k in checker.kinds if not ctx.inventoried(k)]
        if checker.kinds and len(missing) == len(checker.kinds):
            out.append(
                f"{checker.technique} ({checker.title}): the snapshot has no {', '.join(missing)} inventory"
            )
    return out


__all__ = ["REGISTRY", "Checker", "EdgeContext", "edges_from", "unexamined"]
