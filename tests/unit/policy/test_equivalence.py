"""`Authorizer.equivalence`: requests sharing a key get the same outcome, reason and conditions.

The analysis decides one request per key (EdgeContext.decide), so a key shared by two requests
whose decisions differ would silently change edges. The property test draws accounts whose roles
and users share or differ in trust policy text, tags, identity Allow/Deny patterns naming some of
them, conditions on resource tags and policy variables, boundaries, SCPs and RCPs, and checks every
group of requests with one key against the evaluator's own decisions. A control shows the check
can fail: with the Resource elements left out of the key it finds a difference.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_builders import ACCT, SnapshotBuilder, doc, role_arn, user_arn

from deescalate.model import Decision, Snapshot
from deescalate.policy import compiled
from deescalate.policy.evaluate import Authorizer

ROLES = ["team-a", "team-b", "team-c", "ops-1", "alice-dev"]
OTHER = "210987654321"  # a second account of the snapshot: its team-a role has the same name
USERS = ["bob", "carol"]
BUCKET = "arn:aws:s3:::shared-bucket"
# iam:UpdateAssumeRolePolicy and sts:GetCallerIdentity are special actions (policy/protected.py):
# a rule outside the policies decides them on a service-linked role / always.
ACTIONS = ["sts:AssumeRole", "iam:PassRole", "iam:PutRolePolicy", "iam:CreateAccessKey", "s3:GetObject",
           "iam:UpdateAssumeRolePolicy", "sts:GetCallerIdentity"]
LINKED = "AWSServiceRoleForTeam"  # a service-linked role: a twin of the team-* roles but protected
LINKED_PATH = "/aws-service-role/team.amazonaws.com/"
PATTERNS = [
    "*",
    role_arn("team-*"),
    role_arn("team-a"),
    role_arn("*"),
    "arn:aws:iam::*:role/team-*",
    f"arn:aws:iam::{ACCT}:role/${{aws:username}}-*",
    user_arn("*"),
    user_arn("bob"),
    f"{BUCKET}/*",
]
CONDITIONS: list[dict[str, Any] | None] = [
    None,
    None,
    {"StringEquals": {"aws:ResourceTag/env": "prod"}},
    {"StringEquals": {"iam:ResourceTag/env": "dev"}},
    {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    {"StringEquals": {"aws:ResourceAccount": ACCT}},
]
TRUSTS = [
    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}},
    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": user_arn("alice")}},
    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": ACCT},
     "Condition": {"StringEquals": {"aws:PrincipalTag/team": "ops"}}},
    {"Effect": "Deny", "Action": "sts:AssumeRole", "Principal": {"AWS": user_arn("alice")}},
    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}},
]
TAGS: list[dict[str, str] | None] = [None, {"env": "prod"}, {"env": "dev"}]


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {
        "Effect": effect or draw(st.sampled_from(["Allow", "Allow", "Deny"])),
        "Action": draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=3, unique=True)),
    }
    resources = draw(st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=2, unique=True))
    s["NotResource" if draw(st.integers(0, 7)) == 0 else "Resource"] = resources
    condition = draw(st.sampled_from(CONDITIONS))
    if condition is not None:
        s["Condition"] = condition
    return s


@st.composite
def accounts(draw: st.DrawFn) -> Snapshot:
    b = SnapshotBuilder()
    boundary = None
    if draw(st.integers(0, 3)) == 0:
        boundary = b.managed("boundary", doc(*draw(st.lists(statements("Allow"), min_size=1, max_size=2))))
    b.user("alice", doc(*draw(st.lists(statements(), min_size=1, max_size=4))), boundary=boundary,
           tags={"team": draw(st.sampled_from(["ops", "dev"]))})
    for name in ROLES:
        trust = [TRUSTS[i] for i in draw(st.lists(st.integers(0, len(TRUSTS) - 1), min_size=1, max_size=2))]
        b.role(name, trust=doc(*trust), tags=draw(st.sampled_from(TAGS)))
    for name in USERS:
        b.user(name, tags=draw(st.sampled_from(TAGS)))
    b.role(LINKED, trust=doc(TRUSTS[0]), path=LINKED_PATH)
    other = [TRUSTS[i] for i in draw(st.lists(st.integers(0, len(TRUSTS) - 1), min_size=1, max_size=2))]
    b.role("team-a", trust=doc(*other), tags=draw(st.sampled_from(TAGS)), account=OTHER)
    if draw(st.booleans()):
        b.resource(BUCKET, doc({"Effect": "Allow", "Action": "s3:GetObject", "Principal": {"AWS": ACCT},
                                "Resource": f"{BUCKET}/*"}))
    if draw(st.integers(0, 2)) == 0:
        full = {"Effect": "Allow", "Action": "*", "Resource": "*"}
        b.org([[doc(full)], [doc(full, *draw(st.lists(statements("Deny"), max_size=2)))]],
              rcps=[[doc(full)], [doc(full, *draw(st.lists(statements("Deny"), max_size=1)))]]
              if draw(st.booleans()) else None)
    return b.build()


def _resources() -> list[str]:
    return [*(role_arn(r) for r in ROLES), role_arn(LINKED, path=LINKED_PATH), role_arn("team-a", OTHER), role_arn("team-z", "333333333333"),
            *(user_arn(u) for u in USERS), f"{BUCKET}/key", "*"]


def _same(d: Decision) -> tuple[object, ...]:
    return d.outcome, d.reason, d.conditions, sorted(m.policy.kind.value for m in d.statements)


def _conflicts(snapshot: Snapshot) -> list[str]:
    """Requests of alice that share an equivalence key but not their decision's outcome."""
    auth = Authorizer(snapshot)
    alice = user_arn("alice")
    seen: dict[object, tuple[str, str, tuple[object, ...]]] = {}
    out: list[str] = []
    for action in ACTIONS:
        for resource in _resources():
            key = auth.equivalence(alice, action, resource)
            if key is None:
                continue
            got = _same(auth.decide(alice, action, resource))
            first = seen.setdefault(key, (action, resource, got))
            if first[2] != got:
                out.append(f"{first[:2]} {first[2]} vs {(action, resource)} {got}")
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accounts())
def test_requests_sharing_a_key_get_the_same_decision(snapshot: Snapshot) -> None:
    assert _conflicts(snapshot) == []


def _mesh() -> Snapshot:
    b = SnapshotBuilder()
    b.user("alice", doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn("team-*")},
                        {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": role_arn("team-c")}))
    trust = doc(TRUSTS[0])
    for name in ("team-a", "team-b", "team-c", "team-d"):
        b.role(name, trust=trust, tags={"env": "prod"} if name == "team-d" else None)
    b.role("ops-1", trust=trust)
    return b.build()


def test_roles_with_the_same_trust_and_patterns_share_a_key_and_nothing_else_does() -> None:
    auth = Authorizer(_mesh())
    alice = user_arn("alice")
    keys = {r: auth.equivalence(alice, "sts:AssumeRole", role_arn(r))
            for r in ("team-a", "team-b", "team-c", "team-d", "ops-1")}
    assert keys["team-a"] == keys["team-b"]  # the same trust text, pattern and tags
    assert len({keys["team-a"], keys["team-c"], keys["team-d"], keys["ops-1"]}) == 4
    assert auth.equivalence(alice, "sts:GetCallerIdentity", "*") is None  # a special action


@contextmanager
def _resource_blind() -> Iterator[None]:
    """The control: a key that ignores what the Resource elements say of the ARN."""
    saved = compiled.CompiledStatement.reads_resource
    compiled.CompiledStatement.reads_resource = lambda self, action: False  # type: ignore[method-assign]
    try:
        yield
    finally:
        compiled.CompiledStatement.reads_resource = saved  # type: ignore[method-assign]


def test_the_check_sees_a_key_that_leaves_out_the_resource_elements() -> None:
    assert _conflicts(_mesh()) == []
    with _resource_blind():
        assert _conflicts(_mesh()), "a Deny naming team-c must split its key from team-a's"


def test_the_analysis_decides_one_request_per_key() -> None:
    from deescalate.analysis.edges.base import EdgeContext
    from deescalate.model import Grant

    ctx = EdgeContext(_mesh())
    alice = user_arn("alice")
    calls: list[str] = []
    decide = ctx.authorizer.decide

    def counting(principal: str, action: str, resource: str, *args: Any, **kwargs: Any) -> Decision:
        calls.append(resource)
        return decide(principal, action, resource, *args, **kwargs)

    ctx.authorizer.decide = counting  # type: ignore[method-assign]
    outcomes = {r: ctx.decide(alice, Grant(action="sts:AssumeRole", resource=role_arn(r))).outcome
                for r in ("team-a", "team-b", "team-c", "team-d")}
    assert calls == [role_arn("team-a"), role_arn("team-c"), role_arn("team-d")]
    assert outcomes == {r: decide(alice, "sts:AssumeRole", role_arn(r)).outcome for r in outcomes}


@pytest.mark.parametrize("action", ["sts:AssumeRole", "iam:PassRole"])
def test_a_condition_on_resource_tags_keeps_roles_apart(action: str) -> None:
    b = SnapshotBuilder()
    b.user("alice", doc({"Effect": "Allow", "Action": action, "Resource": role_arn("*"),
                         "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}}}))
    for name, env in (("p1", "prod"), ("p2", "prod"), ("d1", "dev")):
        b.role(name, trust=doc(TRUSTS[0]), tags={"env": env})
    auth = Authorizer(b.build())
    alice = user_arn("alice")
    k = {r: auth.equivalence(alice, action, role_arn(r)) for r in ("p1", "p2", "d1")}
    assert k["p1"] == k["p2"] != k["d1"]
    assert auth.decide(alice, action, role_arn("p1")).allowed
    assert not auth.decide(alice, action, role_arn("d1")).possible


def test_a_special_action_shares_keys_only_where_the_policies_decide() -> None:
    """iam:UpdateAssumeRolePolicy on an ordinary role is decided by the policies like any action,
    so its requests share keys; on a service-linked role a rule outside them refuses it (and the
    refusal names the role), so that request has no key."""
    b = SnapshotBuilder()
    b.user("alice", doc({"Effect": "Allow", "Action": "iam:UpdateAssumeRolePolicy", "Resource": "*"}))
    for name in ("team-a", "team-b"):
        b.role(name, trust=doc(TRUSTS[0]))
    b.role(LINKED, trust=doc(TRUSTS[0]), path=LINKED_PATH)
    auth = Authorizer(b.build())
    alice = user_arn("alice")
    linked = role_arn(LINKED, path=LINKED_PATH)
    k = {r: auth.equivalence(alice, "iam:UpdateAssumeRolePolicy", r)
         for r in (role_arn("team-a"), role_arn("team-b"), linked)}
    assert k[role_arn("team-a")] is not None and k[role_arn("team-a")] == k[role_arn("team-b")]
    assert k[linked] is None
    assert auth.decide(alice, "iam:UpdateAssumeRolePolicy", role_arn("team-a")).allowed
    assert not auth.decide(alice, "iam:UpdateAssumeRolePolicy", linked).possible
