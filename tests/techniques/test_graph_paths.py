"""Graph-level behaviour: the demo account, multi-hop and cross-account paths, conditional edges,
unexamined techniques, targets, and the admin rule."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from builders import (
    ACCT,
    ADMIN_ACCESS,
    OTHER,
    Account,
    allow,
    deny,
    doc,
    role_arn,
    trust_aws,
    trust_service,
    user_arn,
)

from deescalate.analysis.analyze import analyze
from deescalate.model import ADMIN, Report
from deescalate.snapshot import load_demo

ROOT = f"arn:aws:iam::{ACCT}:root"


def finding(report: Report, arn: str):  # type: ignore[no-untyped-def]
    return next((f for f in report.findings if f.principal == arn), None)


def test_demo_account_edges_and_findings() -> None:
    report = analyze(load_demo())
    a, b, c, d, e = (
        user_arn("userA"),
        role_arn("roleB"),
        user_arn("userC"),
        role_arn("roleD"),
        user_arn("userE"),
    )
    got = sorted((x.source, x.technique, x.target) for x in report.edges)
    assert got == sorted([(a, "sts-001", b), (b, "iam-002", c), (b, "iam-006", c), (b, "ec2-001", d)])
    assert sorted(f.principal for f in report.findings) == sorted([a, b])
    assert finding(report, e) is None
    assert {v.arn for v in report.admins} == {c, d}
    fa = finding(report, a)
    assert fa is not None and all(len(p) == 2 and p[0].target == b for p in fa.paths)
    assert fa.edges == ()  # A's own edge goes to B, which is not admin: B's edges are the ones to cut


def test_multi_hop_path_is_shortest() -> None:
    acct = Account()
    acct.user("a", doc(allow("sts:AssumeRole")))
    acct.role("b", trust_aws(ROOT), doc(allow("sts:AssumeRole")))
    acct.role("c", trust_aws(role_arn("b")), doc(allow("iam:PutRolePolicy", role_arn("c"))))
    report = analyze(acct.build())
    fa = finding(report, user_arn("a"))
    assert fa is not None
    (path,) = fa.paths
    assert [(e.source, e.technique, e.target) for e in path] == [
        (user_arn("a"), "sts-001", role_arn("b")),
        (role_arn("b"), "sts-001", role_arn("c")),
        (role_arn("c"), "iam-005", ADMIN),
    ]
    # c trusts only b, so a cannot skip a hop.
    assert not [e for e in report.edges if e.source == user_arn("a") and e.target == role_arn("c")]


def test_cross_account_path() -> None:
    mine = Account()
    mine.user("dev", doc(allow("sts:AssumeRole", role_arn("ops", OTHER))))
    theirs = Account(account_id=OTHER)
    theirs.role("ops", trust_aws(ROOT), managed=(ADMIN_ACCESS,))
    a, b = mine.build(), theirs.build()
    merged = replace(
        a,
        roles=MappingProxyType({**a.roles, **b.roles}),
        users=MappingProxyType({**a.users, **b.users}),
        policies=MappingProxyType({**b.policies, **a.policies}),
    )
    report = analyze(merged)
    f = finding(report, user_arn("dev"))
    assert f is not None
    assert [(e.technique, e.target) for e in f.paths[0]] == [("sts-001", role_arn("ops", OTHER))]
    # Without the identity permission, a cross-account trust of the account root grants nothing.
    mine.users.clear()
    mine.user("dev", doc(allow("s3:*")))
    report = analyze(replace(merged, users=mine.build().users))
    assert finding(report, user_arn("dev")) is None


def test_failed_inventory_makes_conditional_edges() -> None:
    acct = Account()
    acct.admin_role("fn-admin", trust_service("lambda.amazonaws.com"))
    acct.user("dev", doc(allow("lambda:UpdateFunctionCode")))
    acct.fail_inventory("lambda:function", "AccessDenied: lambda:ListFunctions")
    report = analyze(acct.build())
    (edge,) = [e for e in report.edges if e.source == user_arn("dev")]
    assert edge.technique == "lambda-003" and edge.target == role_arn("fn-admin")
    assert edge.conditional and "AccessDenied" in edge.conditions[0]
    f = finding(report, user_arn("dev"))
    assert f is not None and f.conditional


def test_iam_only_snapshot_lists_unexamined_techniques() -> None:
    acct = Account(has_inventory=False)
    acct.admin_role("fn-admin", trust_service("lambda.amazonaws.com"))
    acct.user("dev", doc(allow("lambda:UpdateFunctionCode")))
    report = analyze(acct.build())
    assert not report.edges
    assert any(u.startswith("lambda-003") for u in report.unexamined)
    assert any(u.startswith("ssm-001") for u in report.unexamined)
    assert not any(u.startswith("ec2-001") for u in report.unexamined)  # IAM alone shows it


def test_unknown_access_key_count_is_conditional() -> None:
    acct = Account()
    acct.user("boss", managed=(ADMIN_ACCESS,), keys=None)
    acct.user("dev", doc(allow("iam:CreateAccessKey")))
    (edge,) = [e for e in analyze(acct.build()).edges if e.source == user_arn("dev")]
    assert edge.technique == "iam-002" and edge.conditional and "access key" in edge.conditions[0]


def test_two_keys_need_delete_first() -> None:
    acct = Account()
    acct.user("boss", managed=(ADMIN_ACCESS,), keys=2)
    acct.user("dev", doc(allow(["iam:CreateAccessKey", "iam:DeleteAccessKey"])))
    (edge,) = [e for e in analyze(acct.build()).edges if e.source == user_arn("dev")]
    assert edge.technique == "iam-003" and not edge.conditional


def test_condition_on_request_context_makes_edge_conditional() -> None:
    acct = Account()
    ip = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    acct.user("dev", doc(allow("iam:PutUserPolicy", "*", Condition=ip)))
    report = analyze(acct.build())
    (edge,) = [e for e in report.edges if e.source == user_arn("dev")]
    assert edge.technique == "iam-007" and edge.conditional
    assert any("aws:SourceIp" in c for c in edge.conditions)


def test_targets_are_treated_like_admins() -> None:
    acct = Account()
    acct.role("prod-data", trust_aws(ROOT), doc(allow("s3:*")))
    acct.user("dev", doc(allow("sts:AssumeRole")))
    snap = acct.build()
    assert analyze(snap).findings == ()
    report = analyze(snap, targets=["arn:aws:iam::*:role/prod-*"])
    (verdict,) = report.admins
    assert verdict.target_only and verdict.arn == role_arn("prod-data")
    f = finding(report, user_arn("dev"))
    assert f is not None and f.paths[0][-1].target == role_arn("prod-data")
    assert analyze(snap, targets=["arn:aws:iam::*:role/nothing"]).notes[0].startswith("--target")


def test_admin_rule() -> None:
    acct = Account()
    mfa = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    acct.user("mfa-admin", doc(deny("*", Condition=mfa)), managed=(ADMIN_ACCESS,))
    acct.user("fenced", doc(deny("s3:DeleteBucket")), managed=(ADMIN_ACCESS,))
    acct.user("iam-star", doc(allow("iam:*")))
    bounded = acct.managed("s3-only", doc(allow("s3:*")))
    acct.user("bounded", managed=(ADMIN_ACCESS,), boundary=bounded)
    report = analyze(acct.build())
    admins = {v.arn: v.reason for v in report.admins}
    assert set(admins) == {user_arn("mfa-admin")}
    assert "conditional Deny" in admins[user_arn("mfa-admin")]
    f = finding(report, user_arn("iam-star"))
    assert f is not None and "iam-007" in f.techniques
    # "fenced" can delete its own Deny: a finding through X-RemoveDeny, not an admin.
    assert finding(report, user_arn("fenced")) is not None
    # "bounded" is capped by its boundary and cannot lift it.
    assert finding(report, user_arn("bounded")) is None


def test_service_linked_roles_are_not_sources() -> None:
    acct = Account()
    acct.role(
        "AWSServiceRoleForX", trust_service("x.amazonaws.com"), doc(allow("iam:*")), path="/aws-service-role/"
    )
    report = analyze(acct.build())
    assert report.findings == () and report.edges == ()
    assert any("service-linked" in n for n in report.notes)


def test_edges_carry_the_grants_to_cut() -> None:
    acct = Account()
    acct.admin_role("box", trust_service("ec2.amazonaws.com"), profile=True)
    acct.user("dev", doc(allow(["iam:PassRole", "ec2:RunInstances"])))
    (edge,) = [e for e in analyze(acct.build()).edges if e.source == user_arn("dev")]
    ((pass_grant, run),) = edge.alternatives
    assert pass_grant.action == "iam:PassRole" and pass_grant.resource == role_arn("box")
    assert pass_grant.context == (("iam:PassedToService", ("ec2.amazonaws.com",)),)
    assert run.action == "ec2:RunInstances" and run.resource == f"arn:aws:ec2:*:{ACCT}:instance/*"
