"""sts-001: assume a role whose trust policy admits the source (same account or another one).

The evaluator decides each AssumeRole (trust policy + identity policy, cross-account rules:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
To avoid asking it about every (principal, role) pair, an index (edges/trust.py) first reads each
trust policy's AWS principals: a role naming a principal ARN is asked only for that principal; one
naming an account (its id or root ARN) for that account's principals; one naming "*" (or using
NotPrincipal) for everybody. A role trusting the source's account is asked only when the source's
identity policies allow sts:AssumeRole at all, and, when every such Allow names its resources
without `*` or a policy variable, only when one of them matches the role's ARN: naming an account
delegates to that account's identity policies, which must then allow the call.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from deescalate.analysis.edges.base import Checker, EdgeContext, Principal
from deescalate.model import Edge, Grant


def assume(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    index = ctx.trust_index()
    # Without any identity Allow of sts:AssumeRole, only a trust policy naming the source itself (or
    # everyone) can let it in: roles that trust its account are not asked (see TrustIndex.named).
    allowed = ctx.may(source.arn, "sts:AssumeRole")
    # With identity Allows of sts:AssumeRole on some resources only (role/dev-*), roles that trust
    # the source's account are asked only when one of those resources matches them.
    on = ctx.authorizer.may_allow_on(source.arn, "sts:AssumeRole") if allowed else None
    candidates: Sequence[str]
    if on is not None:
        candidates, among = index.allowed(source, on)
    else:
        candidates = index.candidates(source) if allowed else index.named(source)
    admits = index.admits if allowed else index.admits_named
    if ctx.wanted is not None and len(ctx.wanted) < len(candidates):
        # A small wanted set: walk it (in the same ARN order) instead of every candidate.
        if on is not None:
            arns = [a for a in ctx.wanted_sorted() if a in among]
        else:
            arns = [a for a in ctx.wanted_sorted() if a in ctx.snapshot.roles and admits(source, a)]
    else:
        arns = [a for a in candidates if ctx.wants(source.arn, a)]
    for role_arn in arns:
        if role_arn == source.arn:
            continue
        role = ctx.snapshot.roles[role_arn]
        edge = ctx.edge(
            source=source.arn,
            target=role_arn,
            technique="sts-001",
            candidates=[(Grant(action="sts:AssumeRole", resource=role_arn),)],
            description=f"assume {role.name}",
        )
        if edge is not None:
            yield edge


# No checker prefilter: a trust policy that names the source's ARN grants AssumeRole in the same
# account without any identity policy, so may_allow alone would wrongly rule it out (`assume` uses
# it only to skip the roles that trust the source's whole account).
CHECKERS: tuple[Checker, ...] = (
    Checker(technique="sts-001", needs=((),), find=assume),
)
