"""Differential test: the optimised Authorizer against a naive evaluator written from the rules.

The naive one reads the policy JSON directly (no compilation, no service index, no memo, no fast
path) for identity policies, a boundary and three SCP levels, with a few operators implemented
again from the documentation. Hypothesis draws the policies and a sequence of requests (some with
context) asked of ONE Authorizer, so its caches and memos are exercised between requests.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_builders import SnapshotBuilder, doc

from deescalate.model import Outcome
from deescalate.policy.evaluate import Authorizer

ACTIONS = ["s3:GetObject", "s3:Get*", "s3:*", "iam:PassRole", "iam:*", "*", "ec2:Run?nstances", "EC2:*"]
RESOURCES = ["*", "arn:aws:s3:::b/*", "arn:aws:s3:::b/k", "arn:aws:iam::111111111111:role/r*"]
CONDITIONS: list[dict[str, Any]] = [
    {"StringEquals": {"aws:PrincipalTag/team": "ops"}},
    {"StringNotEquals": {"aws:PrincipalTag/team": ["ops", "dev"]}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}},
    {"StringLike": {"aws:username": "a*"}},
    {"Null": {"aws:PrincipalTag/missing": "true"}},
]
REQUESTS = [
    ("s3:GetObject", "arn:aws:s3:::b/k"), ("S3:PutObject", "arn:aws:s3:::b/k"), ("iam:PassRole", "*"),
    ("iam:PassRole", "arn:aws:iam::111111111111:role/r1"), ("ec2:RunInstances", "*"),
]
CONTEXTS: list[dict[str, str] | None] = [
    None, {"aws:SourceIp": "10.1.2.3"}, {"aws:SourceIp": "192.0.2.1", "aws:MultiFactorAuthPresent": "true"},
    {"aws:MultiFactorAuthPresent": "false"},
]
TAGS = {"team": "ops"}


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    s: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"]))}
    acts = draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=3, unique=True))
    s["NotAction" if draw(st.integers(0, 5)) == 0 else "Action"] = acts
    res = draw(st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2, unique=True))
    s["NotResource" if draw(st.integers(0, 6)) == 0 else "Resource"] = res
    if draw(st.booleans()):
        s["Condition"] = draw(st.sampled_from(CONDITIONS))
    return s


stmt_lists = st.lists(statements(), min_size=1, max_size=4)


def _wild(pattern: str, value: str, ignore_case: bool) -> bool:
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _key(key: str, context: dict[str, str]) -> str | bool | None:
    """A value, None when known absent, False when unknown offline."""
    k = key.lower()
    for ck, cv in context.items():
        if ck.lower() == k:
            return cv
    if k == "aws:username":
        return "alice"
    if k.startswith("aws:principaltag/"):
        return TAGS.get(k.split("/", 1)[1])
    return False


def _condition(op: str, key: str, values: Any, context: dict[str, str]) -> bool | None:
    vals = values if isinstance(values, list) else [values]
    v = _key(key, context)
    if v is False:
        return None
    if op == "Null":
        return (v is None) == (vals[0] == "true")
    if v is None:
        return op in ("StringNotEquals", "BoolIfExists")  # negated, IfExists: true when absent
    assert isinstance(v, str)
    if op == "StringEquals":
        return v in vals
    if op == "StringNotEquals":
        return v not in vals
    if op == "StringLike":
        return any(_wild(p, v, False) for p in vals)
    if op == "BoolIfExists":
        return v.lower() in [x.lower() for x in vals]
    if op == "IpAddress":
        return any(ipaddress.ip_address(v) in ipaddress.ip_network(p) for p in vals)
    raise AssertionError(op)


def _applies(s: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool | None:
    acts = s.get("Action", s.get("NotAction"))
    hit = any(_wild(p, action, True) for p in acts)
    if ("NotAction" in s) == hit:
        return False
    res = s.get("Resource", s.get("NotResource"))
    hit = any(_wild(p, resource, False) for p in res)
    if ("NotResource" in s) == hit:
        return False
    unknown = False
    for op, block in s.get("Condition", {}).items():
        for key, values in block.items():
            r = _condition(op, key, values, context)
            if r is False:
                return False
            unknown = unknown or r is None
    return None if unknown else True


def naive(groups: list[list[dict[str, Any]]], action: str, resource: str,
          context: dict[str, str]) -> Outcome:
    """groups[0] identity, then boundary and SCP levels: each must allow; any Deny denies."""
    tris: list[int] = []
    deny_maybe = False
    for group in groups:
        tri = 0
        for s in group:
            r = _applies(s, action, resource, context)
            if r is False:
                continue
            if s["Effect"] == "Deny":
                if r is True:
                    return Outcome.DENY
                deny_maybe = True
            else:
                tri = max(tri, 2 if r is True else 1)
        tris.append(tri)
    final = min(tris)
    if final == 0:
        return Outcome.DENY
    return Outcome.ALLOW if final == 2 and not deny_maybe else Outcome.CONDITIONAL


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stmt_lists, stmt_lists, stmt_lists, st.lists(st.tuples(st.sampled_from(REQUESTS),
                                                              st.sampled_from(CONTEXTS)),
                                                    min_size=1, max_size=8))
def test_matches_a_naive_evaluator(identity: list[dict[str, Any]], boundary: list[dict[str, Any]],
                                   scp: list[dict[str, Any]],
                                   asks: list[tuple[tuple[str, str], dict[str, str] | None]]) -> None:
    b = SnapshotBuilder()
    barn = b.managed("boundary", doc(*boundary))
    who = b.user("alice", doc(*identity), boundary=barn, tags=TAGS)
    full = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    b.org([[doc(*full)], [doc(*scp)], [doc(*full)]])
    auth = Authorizer(b.build())
    groups = [identity, boundary, full, scp, full]
    for (action, resource), context in asks:
        got = auth.decide(who, action, resource, context).outcome
        want = naive(groups, action, resource, context or {})
        assert got is want, (action, resource, context, got, want)
