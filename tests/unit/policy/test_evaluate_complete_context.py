"""`complete_context=True`: the request context is the whole context, as in AWS's policy simulator.

A key not given is absent (never unknown), so every decision is ALLOW or DENY; the default stays
three-valued. Checked on table cases and as a hypothesis property over random policies.
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_testing-policies.html
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_builders import ACCT, OTHER, SnapshotBuilder, doc, stmt
from table_support import APP, Case, build
from test_evaluate_properties import CONDITIONS, REQUESTS, policies

from deescalate.model import Outcome
from deescalate.policy.evaluate import Authorizer

A, D = "Allow", "Deny"


def _both(case: Case) -> tuple[str, str]:
    auth, who = build(case)
    default = auth.decide(who, case.action, case.resource, case.context)
    complete = auth.decide(who, case.action, case.resource, case.context, complete_context=True)
    return default.outcome.value, complete.outcome.value


@pytest.mark.parametrize(("case", "default", "complete"), [
    (Case(id="allow-needs-unknown-key", rule="", expect="",
          identity=[stmt(action="s3:GetObject", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})]),
     "conditional", "deny"),
    (Case(id="negated-on-unknown-key", rule="", expect="",
          identity=[stmt(action="s3:GetObject", Condition={"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}})]),
     "conditional", "allow"),
    (Case(id="deny-on-unknown-key", rule="", expect="",
          identity=[stmt(), stmt(D, Condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}})]),
     "conditional", "allow"),
    (Case(id="deny-ifexists-unknown-key", rule="", expect="",
          identity=[stmt(), stmt(D, Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}})]),
     "conditional", "deny"),
    (Case(id="null-unknown-key", rule="", expect="",
          identity=[stmt(action="s3:GetObject", Condition={"Null": {"aws:SourceVpc": "true"}})]),
     "conditional", "allow"),
    (Case(id="given-key-decides", rule="", expect="", context={"aws:MultiFactorAuthPresent": "true"},
          identity=[stmt(action="s3:GetObject", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})]),
     "allow", "allow"),
    (Case(id="resource-variable-unknown-key", rule="", expect="",
          identity=[stmt(action="s3:GetObject", resource="arn:aws:s3:::bucket/${aws:SourceVpc}")],
          resource="arn:aws:s3:::bucket/vpc-1"),
     "conditional", "deny"),
    (Case(id="session-arn-principal", rule="", expect="", principal="role", identity=(),
          resource_policy=[stmt(action="s3:GetObject",
                                Principal={"AWS": f"arn:aws:sts::{ACCT}:assumed-role/app/s1"})]),
     "conditional", "deny"),
    (Case(id="other-account-unknown-policy", rule="", expect="", resource=f"arn:aws:sqs:us-east-1:{OTHER}:q",
          action="sqs:SendMessage"),
     "conditional", "deny"),
])
def test_complete_context_cases(case: Case, default: str, complete: str) -> None:
    assert _both(case) == (default, complete)


def test_missing_managed_policy_allows_nothing_when_complete() -> None:
    b = SnapshotBuilder()
    who = b.user("u")
    b.users[who] = replace(b.users[who], managed_policy_arns=(f"arn:aws:iam::{ACCT}:policy/gone",))
    auth = Authorizer(b.build())
    assert auth.decide(who, "s3:GetObject", "*").outcome is Outcome.CONDITIONAL
    assert auth.decide(who, "s3:GetObject", "*", complete_context=True).outcome is Outcome.DENY


def test_complete_and_default_share_an_authorizer_without_mixing_memos() -> None:
    # Condition results are remembered per principal for the default lookup; a complete request
    # must not reuse them (nor leave its own behind).
    b = SnapshotBuilder()
    who = b.role("app", doc(stmt(action="s3:GetObject", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})))
    auth = Authorizer(b.build(), decision_cache=100)
    for _ in range(2):
        assert auth.decide(who, "s3:GetObject", "*").outcome is Outcome.CONDITIONAL
        assert auth.decide(who, "s3:GetObject", "*", complete_context=True).outcome is Outcome.DENY
    assert who == APP


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies, st.sampled_from(REQUESTS), st.sampled_from([None, *CONDITIONS]))
def test_complete_context_is_never_conditional(pols: list[list[dict[str, Any]]], request: tuple[str, str],
                                                trust_condition: dict[str, Any] | None) -> None:
    b = SnapshotBuilder()
    who = b.user("alice", *[doc(*p) for p in pols], tags={"team": "ops"})
    trust: dict[str, Any] = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": ACCT}}
    if trust_condition is not None:
        trust["Condition"] = trust_condition
    b.role("r", trust=doc(trust))
    auth = Authorizer(b.build())
    default = auth.decide(who, request[0], request[1])
    complete = auth.decide(who, request[0], request[1], complete_context=True)
    assert complete.outcome is not Outcome.CONDITIONAL
    if default.outcome is not Outcome.CONDITIONAL:  # a definite answer does not change
        assert complete.outcome is default.outcome
