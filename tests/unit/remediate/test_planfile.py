"""The plan file: versioned, strict about what a person may get wrong, each mistake named with its place."""

from __future__ import annotations

import re

import pytest

from deescalate.errors import UsageError
from deescalate.model import Deny, Plan, PrincipalPlan
from deescalate.remediate.planfile import plan_from_json, plan_to_json

ARN = "arn:aws:iam::123456789012:user/alice"


def sample() -> dict:
    d = Deny(id="d1", principal=ARN, action="iam:PutUserPolicy", resource=ARN, cuts=("e",), techniques=("t",),
             why="w")
    return plan_to_json(Plan(account_id="123456789012", snapshot="s", snapshot_time=None,
                             principals=(PrincipalPlan(principal=ARN, denies=(d,)),)))


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda r: r.update(schema_version=2), "schema_version 2 is not supported"),
    (lambda r: r["principals"][0]["denies"][0].update(apply="no"), "apply must be true or false"),
    (lambda r: r["principals"][0]["denies"][0].pop("action"), "missing key(s) ['action']"),
    (lambda r: r["principals"][0].update(extra=1), "unknown key(s) ['extra']"),
    (lambda r: r.update(kind="something-else"), "is not a deescalate plan"),
    (lambda r: r["principals"][0].update(principal="arn:aws:iam"),
     "p.json.principals[0].principal: 'arn:aws:iam' is not an IAM user or role ARN"),
    (lambda r: r["principals"][0].update(principal="arn:aws:iam::123456789012:group/g"),
     "is not an IAM user or role ARN"),
])
def test_malformed_plans_are_usage_errors_naming_the_place(mutate, message) -> None:  # type: ignore[no-untyped-def]
    raw = sample()
    mutate(raw)
    with pytest.raises(UsageError, match=re.escape(message)):
        plan_from_json(raw, where="p.json")
