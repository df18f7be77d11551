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


def test_unknown_operator_is_a_policy_error_naming_policy_and_principal() -> None:
    import pytest

    from deescalate.errors import PolicyError

    b = SnapshotBuilder()
    u = b.user("alice", doc(stmt(Condition={"StringEqualsMaybe": {"aws:username": "alice"}})))
    with pytest.raises(PolicyError) as e:
        Authorizer(b.build()).decide(u, "s3:GetObject", "*")
    assert "StringEqualsMaybe" in str(e.value) and u in str(e.value) and "alice-inline-0" in str(e.value)


def test_unknown_qualifier_and_null_ifexists_are_rejected() -> None:
    import pytest

    from deescalate.errors import PolicyError

    for op in ("ForSomeValues:StringEquals", "NullIfExists", "StringMatches"):
        b = SnapshotBuilder()
        u = b.user("alice", doc(stmt(Condition={op: {"aws:username": "alice"}})))
        with pytest.raises(PolicyError):
            Authorizer(b.build()).decide(u, "s3:GetObject", "*")


def test_unknown_principal_is_a_clear_error() -> None:
    import pytest

    from deescalate.errors import DeescalateError

    with pytest.raises(DeescalateError, match="not a user or role in the snapshot"):
        Authorizer(SnapshotBuilder().build()).decide("arn:aws:iam::1:user/ghost", "s3:GetObject", "*")


def test_decision_cache_returns_same_answer_and_context_bypasses_it() -> None:
    b = SnapshotBuilder()
    u = b.user("alice", doc(stmt(action="ec2:*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))
    a = Authorizer(b.build())
    first = a.decide(u, "ec2:RunInstances", "*")
    assert first.outcome is Outcome.CONDITIONAL
    assert a.decide(u, "ec2:RunInstances", "*") == first
    assert a.decide(u, "ec2:RunInstances", "*", {"aws:SourceIp": "10.1.2.3"}).outcome is Outcome.ALLOW
    assert a.decide(u, "ec2:RunInstances", "*", {"aws:SourceIp": "192.0.2.1"}).outcome is Outcome.DENY


def test_boundary_missing_from_snapshot_is_conditional() -> None:
    b = SnapshotBuilder()
    u = b.user("alice", doc(stmt()), boundary="arn:aws:iam::111111111111:policy/gone")
    d = Authorizer(b.build()).decide(u, "s3:GetObject", "*")
    assert d.outcome is Outcome.CONDITIONAL and any("gone" in c for c in d.conditions)


def test_session_policies_are_a_union() -> None:
    from policy_builders import policy

    from deescalate.model import PolicyKind

    b = SnapshotBuilder()
    r = b.role("app", doc(stmt()))
    s1 = policy(doc(stmt(action="s3:*")), PolicyKind.SESSION, name="s1")
    s2 = policy(doc(stmt(action="ec2:*")), PolicyKind.SESSION, name="s2")
    a = Authorizer(b.build())
    assert a.decide(r, "ec2:RunInstances", "*", session_policies=(s1, s2)).allowed
    assert a.decide(r, "iam:PassRole", "*", session_policies=(s1, s2)).reason is Reason.SESSION_POLICY


def test_condition_memo_respects_context_and_service_chain() -> None:
    b = SnapshotBuilder()
    u = b.user("alice", doc(stmt(action="s3:GetObject", Condition={
        "StringEquals": {"aws:SourceAccount": "111111111111", "aws:PrincipalTag/team": "ops"}})),
        tags={"team": "ops"})
    a = Authorizer(b.build())
    assert a.decide(u, "s3:GetObject", "*").outcome is Outcome.DENY  # direct call: no SourceAccount
    via = a.decide(u, "s3:GetObject", "*", {"aws:ViaAWSService": "true"})
    assert via.outcome is Outcome.CONDITIONAL
    given = a.decide(u, "s3:GetObject", "*", {"aws:ViaAWSService": "true", "aws:SourceAccount": "111111111111"})
    assert given.outcome is Outcome.ALLOW
    assert a.decide(u, "s3:GetObject", "*", {"aws:PrincipalTag/team": "dev"}).outcome is Outcome.DENY
    assert a.decide(u, "s3:GetObject", "*", {"s3:prefix": "x"}).outcome is Outcome.DENY


def test_condition_memo_is_not_used_when_the_context_gives_its_key() -> None:
    b = SnapshotBuilder()
    u = b.user("alice", doc(stmt(action="s3:GetObject", Condition={
        "StringEquals": {"aws:PrincipalTag/team": "ops"}})), tags={"team": "ops"})
    a = Authorizer(b.build())
    assert a.decide(u, "s3:GetObject", "*").allowed  # remembered for alice
    assert a.decide(u, "s3:GetObject", "*", {"aws:PrincipalTag/team": "dev"}).outcome is Outcome.DENY
    assert a.decide(u, "s3:GetObject", "*", {"s3:prefix": "x"}).allowed  # unrelated key: memo is fine


def test_policies_missing_from_the_snapshot_make_it_conditional_not_denied() -> None:
    b = SnapshotBuilder()
    gone = "arn:aws:iam::aws:policy/NotCollected"
    u = b.user("alice", doc(stmt("Deny", action="iam:*")), managed=[gone],
               groups=["arn:aws:iam::111111111111:group/ghosts"])
    a = Authorizer(b.build())
    d = a.decide(u, "s3:GetObject", "*")
    assert d.outcome is Outcome.CONDITIONAL
    assert any("NotCollected" in c for c in d.conditions) and any("ghosts" in c for c in d.conditions)
    assert a.decide(u, "iam:PassRole", "*").outcome is Outcome.DENY  # the known Deny still decides
    assert a.may_allow(u, "ec2:RunInstances")


def test_denials_without_statements_say_what_denied() -> None:
    from policy_builders import OTHER

    b = SnapshotBuilder()
    barn = b.managed("edge", doc(stmt(action="ec2:*")))
    u = b.user("alice", doc(stmt()), boundary=barn)
    r = b.role("target", trust=doc(stmt(action="sts:AssumeRole", resource=None,
                                        Principal={"AWS": "arn:aws:iam::111111111111:role/other"})))
    q = b.resource(f"arn:aws:sqs:us-east-1:{OTHER}:q", kind="sqs:queue")
    b.org([[doc(stmt())], [doc(stmt(action=["ec2:*", "sts:*", "sqs:*"]))], [doc(stmt())]])
    a = Authorizer(b.build())
    scp = a.decide(u, "s3:GetObject", "*")
    assert scp.reason is Reason.SCP and "ou-1" in scp.detail
    boundary = a.decide(u, "sqs:SendMessage", "*")
    assert boundary.reason is Reason.BOUNDARY and barn in boundary.detail
    trust = a.decide(u, "sts:AssumeRole", r)
    assert trust.reason is Reason.NO_ALLOW and "trust policy" in trust.detail and r in trust.detail
    cross = a.decide(u, "ec2:DescribeInstances", q)
    assert cross.outcome is Outcome.DENY and "cross-account" in cross.detail


def test_resource_variable_on_a_resource_key_is_resolved_per_resource() -> None:
    b = SnapshotBuilder()
    u = b.user("alice", doc(stmt(action="iam:PassRole",
                                 resource="arn:aws:iam::111111111111:role/${aws:ResourceTag/owner}")))
    ra = b.role("a", tags={"owner": "a"})
    rb = b.role("b", tags={"owner": "x"})
    a = Authorizer(b.build())
    assert a.decide(u, "iam:PassRole", rb).outcome is Outcome.DENY  # resolves to role/x
    assert a.decide(u, "iam:PassRole", ra).allowed  # must resolve again, to role/a


def test_resource_variables_with_each_wildcard_shape() -> None:
    b = SnapshotBuilder()
    u = b.user("alice", doc(stmt(action="s3:GetObject", resource=[
        "arn:aws:s3:::exact/${aws:username}",  # no wildcard: equality
        "arn:aws:s3:::prefix/${aws:username}/*",  # one final *: prefix
        "arn:aws:s3:::mid/*/${aws:username}/f?le",  # anything else: regex
    ])))
    a = Authorizer(b.build())
    for res, ok in [("arn:aws:s3:::exact/alice", True), ("arn:aws:s3:::exact/alice2", False),
                    ("arn:aws:s3:::prefix/alice/a/b", True), ("arn:aws:s3:::prefix/alicex/a", False),
                    ("arn:aws:s3:::mid/x/y/alice/file", True), ("arn:aws:s3:::mid/x/alice/fiile", False)]:
        assert a.decide(u, "s3:GetObject", res).allowed is ok, res
