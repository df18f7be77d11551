"""The one wildcard matcher (policy/match.py): IAM's `*` and `?`, every other character literal.

fnmatch, which the checkers, the gate and the planner once used, reads `[...]` as a character
class; IAM does not (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
Each caller outside the evaluator is checked here with a pattern holding `[`.
"""

from __future__ import annotations

import pytest
from builders import ACCT, Account, allow, doc, role_arn

from deescalate.analysis.edges.trust import TrustIndex, admits, trusts_service
from deescalate.analysis.graph import admin_verdicts
from deescalate.model import ADMIN, Edge, Grant
from deescalate.policy.match import action_matches, actions_match, resource_matches
from deescalate.remediate.plan import strip_denied
from deescalate.report.gate import Suppression


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("iam:PassRole", "iam:passrole", True),
        ("IAM:Pass*", "iam:PassRole", True),
        ("iam:Pass?ole", "iam:PassRole", True),
        ("iam:Pass[R]ole", "iam:PassRole", False),  # fnmatch: True
        ("iam:Pass[!x]ole", "iam:PassRole", False),  # fnmatch: True
        ("iam:Pass[R]ole", "iam:Pass[R]ole", True),  # literal
        ("*", "anything:Goes", True),
        ("iam*", "iam:PassRole", False),  # no service separator: the evaluator matches nothing
    ],
)
def test_action_patterns(pattern: str, action: str, expected: bool) -> None:
    assert action_matches(pattern, action) is expected


def test_action_lists() -> None:
    assert actions_match(("s3:Get*", "iam:Pass*"), "iam:PassRole")
    assert not actions_match((), "iam:PassRole")


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("arn:aws:iam::1:role/[ab]dmin", "arn:aws:iam::1:role/admin", False),  # fnmatch: True
        ("arn:aws:iam::1:role/[ab]dmin", "arn:aws:iam::1:role/[ab]dmin", True),
        ("arn:aws:iam::*:role/*", "arn:aws:iam::1:role/a/b", True),  # * crosses / and :
        ("arn:aws:iam::1:role/A*", "arn:aws:iam::1:role/admin", False),  # case-sensitive
    ],
)
def test_resource_patterns(pattern: str, value: str, expected: bool) -> None:
    assert resource_matches(pattern, value) is expected


def _trust(action: str, principal: dict[str, object]) -> dict[str, object]:
    return doc({"Effect": "Allow", "Principal": principal, "Action": action})


def test_trust_policies_read_brackets_literally() -> None:
    acct = Account()
    bracket = acct.role("bracket", _trust("sts:Assume[R]ole", {"Service": "ec2.amazonaws.com"}))
    plain = acct.role("plain", _trust("sts:Assume?ole", {"Service": "ec2.amazonaws.com"}))
    trusting = acct.role("trusting", _trust("sts:Assume[R]ole", {"AWS": ACCT}))
    snap = acct.build()
    assert not trusts_service(snap.roles[bracket], "ec2.amazonaws.com")
    assert trusts_service(snap.roles[plain], "ec2.amazonaws.com")
    index = TrustIndex(list(snap.roles.values()))
    assert trusting not in index.candidates(snap.roles[plain])
    assert not admits(("sts:AssumeRoleWith[S]AML",), None, "sts:AssumeRoleWithSAML")
    assert admits(None, ("sts:AssumeRoleWith[S]AML",), "sts:AssumeRoleWithSAML")


def test_targets_and_suppressions_read_brackets_literally() -> None:
    acct = Account()
    acct.role("app", _trust("sts:AssumeRole", {"AWS": ACCT}), doc(allow("s3:GetObject")))
    snap = acct.build()
    assert admin_verdicts(snap, [role_arn("[a]pp")]) == ()
    assert [v.arn for v in admin_verdicts(snap, [role_arn("?pp")])] == [role_arn("app")]
    entry = Suppression(principal=role_arn("[a]pp"), technique="*", reason="r")
    assert not entry.covers(role_arn("app"), "iam-001")
    assert entry.covers(role_arn("[a]pp"), "iam-001")


def test_the_planner_reads_brackets_literally() -> None:
    grant = Grant(action="iam:PassRole", resource=role_arn("app"))
    edge = Edge(source="s", target=ADMIN, technique="t", alternatives=((grant,),))
    assert strip_denied(edge, [("iam:Pass[R]ole", "*")]).alternatives == ((grant,),)
    assert strip_denied(edge, [("iam:Pass?ole", "*")]).alternatives == ((),)
    assert strip_denied(edge, [("iam:PassRole", role_arn("[a]pp"))]).alternatives == ((grant,),)
