"""The whole remediation workflow against a real moto server, through the CLI:

seed an account (13 techniques, a principal able to delete its own policies, a user whose inline
quota is nearly full) → collect → scan (findings) → plan → apply → collect → scan (no findings) →
revert → collect → IAM identical to the start. And an apply interrupted half-way, then reverted.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from apply_helpers import FailingIAM, iam_dump

from deescalate.analysis.analyze import analyze
from deescalate.cli import main
from deescalate.remediate.apply import execute, prepare
from deescalate.remediate.aws import connect
from deescalate.remediate.journal import Journal
from deescalate.remediate.planfile import read_plan
from deescalate.snapshot import load_snapshot

pytestmark = pytest.mark.e2e
ACCT = "123456789012"
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"


def pol(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCT}:{kind}/{name}"


def seed(iam: Any) -> dict[str, str]:
    """Attackers by the technique each one holds."""
    trust = pol({"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com",
                                                              "cloudformation.amazonaws.com"]},
                 "Action": "sts:AssumeRole"},
                {"Effect": "Allow", "Principal": {"AWS": arn("user", "assumer")}, "Action": "sts:AssumeRole"})
    iam.create_role(RoleName="admin-role", AssumeRolePolicyDocument=trust)
    iam.attach_role_policy(RoleName="admin-role", PolicyArn=ADMIN_ARN)
    iam.create_instance_profile(InstanceProfileName="admin-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="admin-profile", RoleName="admin-role")
    iam.create_user(UserName="admin-user")
    iam.attach_user_policy(UserName="admin-user", PolicyArn=ADMIN_ARN)
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn=ADMIN_ARN)
    role = arn("role", "admin-role")
    users = {
        "iam-002": pol(allow("iam:CreateAccessKey", arn("user", "admin-user"))),
        "iam-004": pol(allow("iam:CreateLoginProfile", arn("user", "admin-user"))),
        # can write *and delete* its own inline policies: it could undo a plain deny
        "iam-007": pol(allow(["iam:PutUserPolicy", "iam:DeleteUserPolicy", "iam:ListUserPolicies"],
                             arn("user", "iam-007"))),
        "iam-008": pol(allow("iam:AttachUserPolicy", arn("user", "iam-008"))),
        "iam-013": pol(allow("iam:AddUserToGroup", arn("group", "admins"))),
        "iam-012": pol(allow(["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"], role)),
        "ec2-001": pol(allow("iam:PassRole", role), allow("ec2:RunInstances")),
        "lambda-001": pol(allow("iam:PassRole", role), allow(["lambda:CreateFunction", "lambda:InvokeFunction"])),
        "cloudformation-001": pol(allow("iam:PassRole", role), allow("cloudformation:CreateStack")),
        "sts-001": pol(allow("sts:AssumeRole", role)),
    }
    names = {}
    for technique, document in users.items():
        name = "assumer" if technique == "sts-001" else technique
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="work", PolicyDocument=document)
        names[technique] = name
    # iam-001 / iam-setdefaultversion: a customer managed policy attached to the attacker itself
    p = iam.create_policy(PolicyName="versioned", PolicyDocument=pol(allow("s3:ListAllMyBuckets")))["Policy"]
    iam.create_policy_version(PolicyArn=p["Arn"], PolicyDocument=pol(allow("*")), SetAsDefault=False)
    iam.create_user(UserName="iam-setdefault")
    iam.attach_user_policy(UserName="iam-setdefault", PolicyArn=p["Arn"])
    iam.put_user_policy(UserName="iam-setdefault", PolicyName="work",
                        PolicyDocument=pol(allow("iam:SetDefaultPolicyVersion", p["Arn"])))
    names["iam-setdefaultversion"] = "iam-setdefault"
    q = iam.create_policy(PolicyName="own", PolicyDocument=pol(allow("s3:ListAllMyBuckets")))["Policy"]
    iam.create_user(UserName="iam-001")
    iam.attach_user_policy(UserName="iam-001", PolicyArn=q["Arn"])
    iam.put_user_policy(UserName="iam-001", PolicyName="work", PolicyDocument=pol(allow("iam:CreatePolicyVersion",
                                                                                        q["Arn"])))
    names["iam-001"] = "iam-001"
    # a role that can attach policies to itself (a role principal, inline placement)
    iam.create_role(RoleName="builder", AssumeRolePolicyDocument=pol(
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    iam.put_role_policy(RoleName="builder", PolicyName="work",
                        PolicyDocument=pol(allow("iam:AttachRolePolicy", arn("role", "builder"))))
    names["iam-009"] = "role:builder"
    # a user whose 2,048-character inline quota is nearly full: its denies must go to a managed policy
    iam.create_user(UserName="crowded")
    iam.put_user_policy(UserName="crowded", PolicyName="work",
                        PolicyDocument=pol(allow("iam:AttachUserPolicy", arn("user", "crowded"))))
    iam.put_user_policy(UserName="crowded", PolicyName="filler", PolicyDocument=pol(
        allow("s3:GetObject", [f"arn:aws:s3:::bucket-{i:03d}-{'x' * 40}/*" for i in range(28)])))
    names["crowded"] = "crowded"
    return names


def collect(url: str, out: Path) -> float:
    t = time.monotonic()
    assert main(["collect", "-o", str(out), "--endpoint-url", url, "--region", "us-east-1"]) == 0
    return time.monotonic() - t


def test_collect_scan_plan_apply_scan_revert_identical(moto_endpoint: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    names = seed(iam)
    start = iam_dump(iam)
    collect(moto_endpoint, tmp_path / "s1")
    report = analyze(load_snapshot(tmp_path / "s1"))
    found = {t for f in report.findings for t in f.techniques}
    assert len(found & set(names)) >= 10, found
    capsys.readouterr()
    assert main(["scan", str(tmp_path / "s1"), "--format", "json"]) == 1

    plan_path = tmp_path / "plan.json"
    assert main(["plan", str(tmp_path / "s1"), "-o", str(plan_path)]) == 0
    plan = read_plan(plan_path)
    assert plan.verified
    by_name = {p.principal.rsplit("/", 1)[-1]: p for p in plan.principals}
    assert by_name["crowded"].placement == "managed"
    assert "iam:DeleteUserPolicy" in {d.action for d in by_name["iam-007"].denies}  # it could undo the fix
    assert all(p.placement == "inline" for n, p in by_name.items() if n != "crowded")

    capsys.readouterr()
    assert main(["apply", str(plan_path), "--endpoint-url", moto_endpoint]) == 0
    dry = capsys.readouterr().out
    assert "Dry run:" in dry and "iam:CreatePolicy PolicyName=deescalate-deny-user-crowded" in dry
    assert iam_dump(iam) == start
    assert main(["apply", str(plan_path), "--yes", "--endpoint-url", moto_endpoint]) == 0
    journal = tmp_path / "plan.journal.jsonl"
    assert journal.exists()
    capsys.readouterr()
    assert main(["apply", str(plan_path), "--yes", "--endpoint-url", moto_endpoint]) == 0
    assert "Nothing to do" in capsys.readouterr().out  # idempotent

    collect(moto_endpoint, tmp_path / "s2")
    after = analyze(load_snapshot(tmp_path / "s2"))
    assert after.findings == (), [(f.principal, f.techniques) for f in after.findings]
    assert main(["scan", str(tmp_path / "s2"), "--format", "json"]) == 0

    assert main(["revert", "--journal", str(journal), "--endpoint-url", moto_endpoint]) == 0
    assert iam_dump(iam) != start  # dry run
    assert main(["revert", "--journal", str(journal), "--yes", "--endpoint-url", moto_endpoint]) == 0
    collect(moto_endpoint, tmp_path / "s3")
    assert iam_dump(iam) == start
    again = analyze(load_snapshot(tmp_path / "s3"))
    assert {f.principal for f in again.findings} == {f.principal for f in report.findings}


def test_interrupted_apply_of_a_real_plan_then_revert(moto_endpoint: str, tmp_path: Path) -> None:
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    seed(iam)
    start = iam_dump(iam)
    collect(moto_endpoint, tmp_path / "s1")
    plan_path = tmp_path / "plan.json"
    assert main(["plan", str(tmp_path / "s1"), "-o", str(plan_path)]) == 0
    clients = connect(endpoint_url=moto_endpoint)
    prepared = prepare(read_plan(plan_path), clients)
    half = len(prepared.calls) // 2 + 1
    journal = tmp_path / "j.jsonl"
    with pytest.raises(Exception, match="journal"):
        execute(prepared, FailingIAM(clients.iam, half), Journal(journal))
    assert iam_dump(iam) != start
    assert main(["revert", "--journal", str(journal), "--yes", "--endpoint-url", moto_endpoint]) == 0
    assert iam_dump(iam) == start
