"""Combinations: take over a principal AND rewrite its permissions (edges to ADMIN through it).

The source can already act as T (an sts-001, iam-012 or iam-002 edge found in phase 0) and can
also change T's permissions (attach or put a policy on T, write a new version of a customer
managed policy attached to T): acting as the rewritten T, it is admin. The result is an edge
source -> ADMIN via T whose alternatives join both halves. T's own permissions boundary still caps
the rewrite, so a T with a non-admin boundary gives no such edge.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from deescalate.analysis.admins import boundary_caps
from deescalate.analysis.edges.base import Alternative, Checker, EdgeContext, Principal
from deescalate.analysis.edges.iam_self import admin_policies, attach, own_managed_policies
from deescalate.model import ADMIN, Edge, Grant, Role

# (how the source acts as T, how it rewrites T) -> technique id (techniques.csv)
TABLE: dict[tuple[str, str], str] = {
    ("sts-001", "attach"): "iam-014",
    ("sts-001", "version"): "iam-016",
    ("sts-001", "put"): "iam-017",
    ("iam-002", "attach"): "iam-015",
    ("iam-002", "put"): "iam-018",
    ("iam-012", "attach"): "iam-019",
    ("iam-012", "version"): "iam-020",
    ("iam-012", "put"): "iam-021",
}
ACTS = frozenset(act for act, _ in TABLE)


def _rewrites(
    ctx: EdgeContext, source: Principal, target: Principal
) -> Iterator[tuple[str, list[Alternative]]]:
    is_role = isinstance(target, Role)
    attach_action = "iam:AttachRolePolicy" if is_role else "iam:AttachUserPolicy"
    put_action = "iam:PutRolePolicy" if is_role else "iam:PutUserPolicy"
    if ctx.may(source.arn, attach_action):
        yield "attach", attach(attach_action, target.arn, admin_policies(ctx, target.account_id))
    if ctx.may(source.arn, put_action):
        yield "put", [(Grant(action=put_action, resource=target.arn),)]
    if is_role and ctx.may(source.arn, "iam:CreatePolicyVersion"):
        versions: list[Alternative] = [
            (Grant(action="iam:CreatePolicyVersion", resource=mp.arn),)
            for mp in own_managed_policies(ctx, target)
        ]
        if versions:
            yield "version", versions


def combine(ctx: EdgeContext, source: Principal, prior: Sequence[Edge]) -> Iterator[Edge]:
    for took in prior:
        if took.technique not in ACTS or took.target == ADMIN or took.target in ctx.admins:
            continue
        target = ctx.principals.get(took.target)
        if target is None or boundary_caps(ctx.snapshot, target) is not None:
            continue
        for how, rewrites in _rewrites(ctx, source, target):
            technique = TABLE.get((took.technique, how))
            if technique is None:
                continue
            candidates = [(*a, *r) for a in took.alternatives for r in rewrites]
            edge = ctx.edge(
                source=source.arn,
                target=ADMIN,
                technique=technique,
                candidates=candidates,
                via=target.arn,
                unknown=took.conditions,
                description=f"{took.description}, after giving {target.name} an admin policy ({how})",
            )
            if edge is not None:
                yield edge


CHECKERS: tuple[Checker, ...] = (
    Checker(
        technique="iam-014..iam-021",
        title="act as a principal and rewrite its permissions",
        needs=(
            ("iam:AttachRolePolicy",),
            ("iam:PutRolePolicy",),
            ("iam:CreatePolicyVersion",),
            ("iam:AttachUserPolicy",),
            ("iam:PutUserPolicy",),
        ),
        find=combine,
        phase=1,
    ),
)
