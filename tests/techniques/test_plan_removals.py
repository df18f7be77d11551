"""Plans hold against removals of their own denies, judged by the independent checker.

Small random accounts (deterministic seeds) whose principals may assume roles, take users over,
rewrite one another, and delete or detach policies — some by `role/*` / `user/*` patterns, some
on `policy/deescalate-*` — with no Deny of the account's own: after the plan every Deny is the
plan's. Some principals' inline quota is nearly full, so their denies go into a managed
`deescalate-…` policy (removed by DetachRolePolicy / CreatePolicyVersion). Each plan must verify,
and `escalation_checker` (its own evaluator and search, allowed one removal: the analysis's
documented one-change limit) must find no escalation left. On dddd906, 44 of the 93 plans of seeds
0-119 of this kind "verified" and left one.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from builders import ACCT, Account, allow, doc, role_arn, trust_aws, user_arn
from checker_bridge import write_raw
from escalation_checker import Checker, World

from deescalate.analysis.analyze import analyze
from deescalate.model import Snapshot
from deescalate.remediate.plan import build_plan, default_analyze
from deescalate.remediate.verify import apply_to_snapshot


class OneRemoval(Checker):
    """The checker, allowed at most one deleted or detached policy per search path."""

    def _moves(self, controlled: frozenset[str], world: World) -> list[tuple[frozenset[str], World, str]]:
        return [m for m in super()._moves(controlled, world) if len(m[1].removed) <= 1]


def _filler(n: int) -> dict[str, Any]:
    return doc(allow("s3:GetObject", [f"arn:aws:s3:::bucket-with-a-long-name-{i:04d}/some/prefix/*" for i in range(n)]))


def account(seed: int) -> Snapshot:
    rng = random.Random(seed)
    acct = Account()
    roles = [role_arn(f"r{i}") for i in range(rng.randint(2, 5))]
    users = [user_arn(f"u{i}") for i in range(rng.randint(1, 3))]
    everyone = roles + users

    def statements() -> list[dict[str, Any]]:
        out = []
        if rng.random() < 0.75:
            out.append(allow("sts:AssumeRole", rng.sample(roles, rng.randint(1, min(3, len(roles))))))
        if rng.random() < 0.25:
            out.append(allow("iam:CreateAccessKey", rng.sample(users, 1)))
        if rng.random() < 0.3:
            target = rng.choice(everyone)
            kind = "Role" if target in roles else "User"
            out.append(allow(f"iam:{rng.choice(['Attach', 'Put'])}{kind}Policy", target))
        if rng.random() < 0.5:
            c = rng.random()
            if c < 0.2:
                out.append(allow("iam:CreatePolicyVersion", f"arn:aws:iam::{ACCT}:policy/deescalate-*"))
            elif c < 0.4:
                out.append(allow(["iam:DetachRolePolicy", "iam:DeleteRolePolicy"], f"arn:aws:iam::{ACCT}:role/*"))
            elif c < 0.5:
                out.append(allow(["iam:DeleteUserPolicy", "iam:DetachUserPolicy"], f"arn:aws:iam::{ACCT}:user/*"))
            else:
                target = rng.choice(everyone)
                kind = "Role" if target in roles else "User"
                out.append(allow([f"iam:Delete{kind}Policy", f"iam:Detach{kind}Policy"], target))
        return out

    for arn in roles:
        mine = statements()
        trusted = [p for p in rng.sample(everyone, rng.randint(1, min(3, len(everyone)))) if p != arn]
        docs = [doc(*mine)] if mine else []
        if rng.random() < 0.4:
            docs.append(_filler(180))  # the inline quota nearly full: the plan's denies go managed
        acct.role(arn.rsplit("/", 1)[1], trust_aws(*(trusted or [users[0]])), *docs)
    for arn in users:
        mine = statements()
        docs = [doc(*mine)] if mine else []
        if rng.random() < 0.3:
            docs.append(_filler(40))
        acct.user(arn.rsplit("/", 1)[1], *docs)
    return acct.build()


@pytest.mark.parametrize("seed", range(0, 40))
def test_the_plan_holds_against_one_removal(seed: int, tmp_path: Path) -> None:
    snap = account(seed)
    report = analyze(snap)
    if not report.findings:
        pytest.skip("nothing to plan")
    plan = build_plan(snap, report, default_analyze())
    assert plan.verified, [e.id for e in plan.remaining]
    checker = OneRemoval(write_raw(apply_to_snapshot(snap, plan), tmp_path))
    left = {a: checker.escalation(a, max_states=30_000) for a in sorted(snap.principal_arns())}
    assert not {a: way for a, way in left.items() if way}
