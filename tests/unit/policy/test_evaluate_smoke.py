"""First smoke tests of the Authorizer API other modules code against."""

from __future__ import annotations

from policy_builders import SnapshotBuilder, doc, stmt

from deescalate.model import Outcome, Reason
from deescalate.policy.evaluate import Authorizer, decide


def test_identity_allow_and_implicit_deny() -> None:
    b = SnapshotBuilder()
    u = b.user("alice", doc(stmt(action="s3:Get*", resource="arn:aws:s3:::b/*")))
    a = Authorizer(b.build())
    assert a.decide(u, "s3:GetObject", "arn:aws:s3:::b/k").outcome is Outcome.ALLOW
    d = a.decide(u, "s3:PutObject", "arn:aws:s3:::b/k")
    assert d.outcome is Outcome.DENY and d.reason is Reason.NO_ALLOW


def test_trust_policy_naming_user_grants_assume_role() -> None:
    b = SnapshotBuilder()
    u = b.user("alice")
    r = b.role("admin", trust=doc(stmt(action="sts:AssumeRole", resource=None, Principal={"AWS": u})))
    assert decide(b.build(), u, "sts:AssumeRole", r).allowed


def test_may_allow_is_a_case_insensitive_superset_filter() -> None:
    b = SnapshotBuilder()
    u = b.user("alice", doc(stmt(action="s3:Get*", resource="arn:aws:s3:::nothing")))
    a = Authorizer(b.build())
    assert a.may_allow(u, "S3:getobject")
    assert not a.may_allow(u, "iam:PassRole")
