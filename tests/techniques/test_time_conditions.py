"""Conditions on time that the snapshot's date already decides (IAM-Vulnerable fn3 / fp5)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from builders import Account, allow, doc, user_arn

from deescalate.analysis.analyze import analyze
from deescalate.analysis.edges.timebound import settle
from deescalate.model import Decision, Outcome, Reason


def _edges(condition: dict[str, dict[str, str]], collected_at: str | None = "2026-11-28T22:00:00Z"):  # type: ignore[no-untyped-def]
    acct = Account()
    acct.user(
        "u",
        doc(allow("iam:CreatePolicyVersion", "*", Condition=condition)),
        managed=(acct.managed("mine", doc(allow("s3:GetObject"))),),
    )
    snap = replace(acct.build(), collected_at=collected_at)
    return [e for e in analyze(snap).edges if e.source == user_arn("u")]


@pytest.mark.parametrize(
    ("condition", "expect"),
    [
        # fp5: tokens issued before 2020 no longer exist: not flagged.
        ({"DateLessThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}, "none"),
        # fn3: every token issued now is after 2020: flagged, unconditionally.
        ({"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}, "certain"),
        ({"DateLessThan": {"aws:CurrentTime": "2021-06-01T00:00:00Z"}}, "none"),
        ({"DateGreaterThan": {"aws:EpochTime": "1"}}, "conditional"),  # not a key settled here
        # A window that opens after the snapshot is a real time condition: conditional.
        ({"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}, "conditional"),
        ({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}, "conditional"),
        # With IfExists a long-term access key (no token time) may satisfy it: not settled here.
        ({"DateLessThanIfExists": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}, "conditional"),
    ],
)
def test_time_conditions(condition: dict[str, dict[str, str]], expect: str) -> None:
    edges = _edges(condition)
    if expect == "none":
        assert edges == []
    else:
        (edge,) = edges
        assert edge.technique == "iam-001"
        assert edge.conditional is (expect == "conditional")


def test_without_a_snapshot_time_nothing_is_settled() -> None:
    (edge,) = _edges({"DateLessThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}, collected_at=None)
    assert edge.conditional


def test_only_allow_conditions_are_settled() -> None:
    d = Decision(
        outcome=Outcome.CONDITIONAL,
        reason=Reason.ALLOWED,
        conditions=('denied if DateLessThan aws:CurrentTime ["2020-01-01T00:00:00Z"]',),
    )
    from datetime import UTC, datetime

    assert settle(d, datetime(2026, 1, 1, tzinfo=UTC)) is d
