"""A principal's own unconditional Deny of an action on every user (or role) of its account lets a
checker skip its loop over them (`EdgeContext.denied_on_all`, `Authorizer.denies_every`): a plan's
deny widened to `user/*` makes every such request a DENY. The property test draws Deny statements
(Action/NotAction, Resource/NotResource, `*`, `user/*`, narrower and foreign patterns, a policy
variable, conditions) on an `iam:*` role, in its own policy or its boundary, and compares the
role's direct edges with those found with the shortcut switched off, target by target. The last
test does the same for composition's group rewrites, skipped for a principal with no user to make
admin.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_builders import ACCT, SnapshotBuilder, doc, role_arn, user_arn

from deescalate.analysis.analyze import analyze
from deescalate.analysis.compose import Composer
from deescalate.analysis.edges.base import EdgeContext
from deescalate.analysis.edges.direct import direct_edges
from deescalate.model import Decision, Snapshot
from deescalate.policy.evaluate import Authorizer

DENIED = [
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:UpdateAssumeRolePolicy",
    "iam:Create*",
    "iam:*",
    "sts:GetCallerIdentity",
    "*",
]
RESOURCES = [
    "*",
    f"arn:aws:iam::{ACCT}:user/*",
    f"arn:aws:iam::{ACCT}:role/*",
    f"arn:aws:iam::{ACCT}:*",
    f"arn:aws:iam::{ACCT}:user/a*",
    user_arn("bob"),
    "arn:aws:iam::*:user/*",
    f"arn:aws:iam::{ACCT}:user/${{aws:username}}*",
    "arn:aws:iam::999999999999:user/*",
    "arn:aws-cn:iam::111111111111:user/*",
]
CONDITIONS: list[dict[str, Any] | None] = [None, None, {"Bool": {"aws:MultiFactorAuthPresent": "true"}}]
TRUST = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}}
SOURCE = role_arn("automation")


@st.composite
def denies(draw: st.DrawFn) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 3))):
        s: dict[str, Any] = {"Effect": "Deny"}
        s["NotAction" if draw(st.integers(0, 5)) == 0 else "Action"] = draw(
            st.lists(st.sampled_from(DENIED), min_size=1, max_size=2, unique=True)
        )
        s["NotResource" if draw(st.integers(0, 5)) == 0 else "Resource"] = draw(
            st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2, unique=True)
        )
        condition = draw(st.sampled_from(CONDITIONS))
        if condition is not None:
            s["Condition"] = condition
        out.append(s)
    return out


@st.composite
def accounts(draw: st.DrawFn) -> Snapshot:
    b = SnapshotBuilder()
    boundary = None
    if draw(st.integers(0, 2)) == 0:
        boundary = b.managed("boundary", doc({"Effect": "Allow", "Action": "*", "Resource": "*"}, *draw(denies())))
    b.role("automation", doc({"Effect": "Allow", "Action": "iam:*", "Resource": "*"}, *draw(denies())),
           trust=doc(TRUST), boundary=boundary)
    for name in ("alice", "bob", "carol"):
        b.user(name)
    for name in ("deploy", "ops"):
        b.role(name, trust=doc(TRUST))
    return b.build()


@contextmanager
def _no_shortcut() -> Iterator[None]:
    saved = Authorizer.denies_every
    Authorizer.denies_every = lambda self, principal, action, prefix: False  # type: ignore[method-assign]
    try:
        yield
    finally:
        Authorizer.denies_every = saved  # type: ignore[method-assign]


def _edges(snapshot: Snapshot) -> list[tuple[str, str, str, tuple[str, ...]]]:
    ctx = EdgeContext(snapshot)
    found = direct_edges(ctx, ctx.principals[SOURCE])
    return sorted((e.target, e.technique, e.via or "", e.conditions) for e in found.values())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accounts())
def test_skipping_a_denied_loop_finds_the_same_edges(snapshot: Snapshot) -> None:
    got = _edges(snapshot)
    with _no_shortcut():
        assert got == _edges(snapshot)


def test_a_deny_on_every_user_skips_the_users_and_nothing_else() -> None:
    b = SnapshotBuilder()
    b.role("automation", doc({"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
                             {"Effect": "Deny", "Action": ["iam:CreateAccessKey", "iam:CreateLoginProfile",
                                                           "iam:UpdateLoginProfile"],
                              "Resource": f"arn:aws:iam::{ACCT}:user/*"}), trust=doc(TRUST))
    for name in ("alice", "bob"):
        b.user(name)
    b.role("ops", trust=doc(TRUST))
    ctx = EdgeContext(b.build())
    asked: list[str] = []
    decide = ctx.authorizer.decide

    def counting(principal: str, action: str, resource: str, *args: Any, **kwargs: Any) -> Decision:
        asked.append(f"{action} {resource}")
        return decide(principal, action, resource, *args, **kwargs)

    ctx.authorizer.decide = counting  # type: ignore[method-assign]
    found = direct_edges(ctx, ctx.principals[SOURCE])
    users = (user_arn("alice"), user_arn("bob"))
    assert not [a for a in asked if a.endswith(users)]  # (X-CreateUser asks about user/*, a new user)
    assert f"iam:UpdateAssumeRolePolicy {role_arn('ops')}" in asked
    assert {e.technique for e in found.values() if e.target == role_arn("ops")} >= {"iam-012"}
    assert not any(e.target.startswith(f"arn:aws:iam::{ACCT}:user/") for e in found.values())
    auth = Authorizer(ctx.snapshot)
    assert not auth.decide(SOURCE, "iam:CreateAccessKey", user_arn("alice")).possible
    assert auth.denies_every(SOURCE, "iam:CreateAccessKey", f"arn:aws:iam::{ACCT}:user/")
    assert not auth.denies_every(SOURCE, "iam:CreateAccessKey", f"arn:aws:iam::{ACCT}:role/")
    assert not auth.denies_every(SOURCE, "iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{ACCT}:user/")


def _group_keys_in_full(self: Composer, arn: str, actors: int) -> Iterator[tuple[str, str]]:
    """Composer.group_keys without its early return (the reference)."""
    mask = self.g.reach.get(arn, 0)
    for a in self.g.members(mask & actors):
        actor = self.ctx.principals[a]
        for garn in sorted(self.ctx.snapshot.groups):
            group = self.ctx.snapshot.groups[garn]
            if self.group_rewrite(actor, group) is not None and self.group_ways(arn, group, a)[0]:
                yield a, garn


@st.composite
def group_accounts(draw: st.DrawFn) -> Snapshot:
    """A role that may rewrite groups (not itself admin), users who may assume it, join groups or
    be in them: composition's group rewrites, with and without a user to make admin."""
    b = SnapshotBuilder()
    writes = draw(st.lists(st.sampled_from(["iam:PutGroupPolicy", "iam:AttachGroupPolicy", "iam:AddUserToGroup"]),
                           min_size=1, max_size=3, unique=True))
    b.role("writer", doc({"Effect": "Allow", "Action": writes, "Resource": f"arn:aws:iam::{ACCT}:group/*"}),
           trust=doc(TRUST))
    groups = {g: b.group(g) for g in ("devs", "ops")}
    for name in ("alice", "bob", "carol"):
        allows = draw(st.lists(st.sampled_from([
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn("writer")},
            {"Effect": "Allow", "Action": "iam:AddUserToGroup", "Resource": "*"},
        ]), max_size=2, unique_by=lambda d: d["Action"]))
        member = draw(st.lists(st.sampled_from(sorted(groups.values())), max_size=2, unique=True))
        b.user(name, *([doc(*allows)] if allows else []), groups=member)
    return b.build()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(group_accounts())
def test_group_rewrites_skipped_without_users_change_nothing(snapshot: Snapshot) -> None:
    got = analyze(snapshot, summarise=False)
    saved = Composer.group_keys
    Composer.group_keys = _group_keys_in_full  # type: ignore[method-assign]
    try:
        want = analyze(snapshot, summarise=False)
    finally:
        Composer.group_keys = saved  # type: ignore[method-assign]
    assert got.edges == want.edges and got.findings == want.findings
