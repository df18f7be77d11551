"""Done-when 1 of issue 14: a plan that creates a whole account of escalation paths, scanned from the
plan alone, gives the findings a snapshot of that account gives, with no false positive.

The account of tests/assets/terraform/whole_account.json is built for real in a moto server by hand
(boto3 calls, one per Terraform resource), collected, and analysed; the plan is analysed alone. The
one difference allowed is the one the plan cannot express and notes: EC2 Instance Connect into an
instance the plan creates is a runtime fact, so that finding is conditional from the plan.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from deescalate.analysis.analyze import analyze
from deescalate.analysis.change import analyze_change
from deescalate.collect import collect
from deescalate.snapshot import load_snapshot
from deescalate.snapshot.terraform import load_terraform_plan

pytestmark = pytest.mark.e2e

PLAN = Path(__file__).resolve().parents[1] / "assets/terraform/whole_account.json"
ACCT = "123456789012"
REGION = "eu-west-1"
ADMIN_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"


def _documents() -> dict[str, Any]:
    """Each policy document of the plan by address (the seed writes the same documents)."""
    plan = json.loads(PLAN.read_text())
    out = {}
    for rc in plan["resource_changes"]:
        after = rc["change"]["after"] or {}
        for key in ("policy", "assume_role_policy"):
            if isinstance(after.get(key), str):
                out[f"{rc['address']}.{key}"] = after[key]
    return out


def _seed(url: str) -> None:
    docs = _documents()
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1")

    def role(name: str, address: str, path: str = "/") -> None:
        iam.create_role(
            RoleName=name, Path=path, AssumeRolePolicyDocument=docs[f"{address}.assume_role_policy"]
        )

    def user(name: str, path: str = "/", policy: tuple[str, str] | None = None) -> None:
        iam.create_user(UserName=name, Path=path)
        if policy:
            iam.put_user_policy(
                UserName=name, PolicyName=policy[0], PolicyDocument=docs[f"{policy[1]}.policy"]
            )

    role("admin", "aws_iam_role.admin")
    iam.attach_role_policy(RoleName="admin", PolicyArn=ADMIN_ACCESS)
    user("ci-deployer", "/ci/", ("deploy", "aws_iam_user_policy.ci_deployer"))
    user("dev", policy=("assume-admin", "aws_iam_user_policy.dev"))
    role("lambda-admin", "aws_iam_role.lambda_admin", "/service/")
    iam.put_role_policy(
        RoleName="lambda-admin",
        PolicyName="everything",
        PolicyDocument=docs["aws_iam_role_policy.lambda_admin.policy"],
    )
    user("builder")
    arn = iam.create_policy(PolicyName="builder", PolicyDocument=docs["aws_iam_policy.builder.policy"])[
        "Policy"
    ]["Arn"]
    iam.attach_user_policy(UserName="builder", PolicyArn=arn)
    iam.create_group(GroupName="ops")
    iam.put_group_policy(
        GroupName="ops", PolicyName="attach", PolicyDocument=docs["aws_iam_group_policy.ops.policy"]
    )
    user("alice")
    user("bob", policy=("read", 'aws_iam_user_policy.team["bob"]'))
    iam.add_user_to_group(GroupName="ops", UserName="alice")
    iam.create_access_key(UserName="bob")
    role("ci-deployer-role", "module.ci.aws_iam_role.deployer")
    iam.put_role_policy(
        RoleName="ci-deployer-role",
        PolicyName="roles",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iam:PutRolePolicy", "Resource": "*"}],
            }
        ),
    )
    user("reader", policy=("deny-all", "aws_iam_user_policy.reader"))
    iam.attach_user_policy(UserName="reader", PolicyArn=ADMIN_ACCESS)
    user("updater", policy=("update-fn", "aws_iam_user_policy.updater"))
    role("web", "aws_iam_role.web")
    iam.attach_role_policy(RoleName="web", PolicyArn=ADMIN_ACCESS)
    iam.create_instance_profile(InstanceProfileName="web-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="web-profile", RoleName="web")
    user("shell", policy=("ssh", "aws_iam_user_policy.shell"))

    codebuild = boto3.client("codebuild", endpoint_url=url, region_name=REGION)
    codebuild.create_project(
        name="build",
        serviceRole=f"arn:aws:iam::{ACCT}:role/ci-deployer-role",
        source={"type": "S3", "location": "bucket/src.zip"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("f.py", "def handler(event, context):\n    return None\n")
    boto3.client("lambda", endpoint_url=url, region_name=REGION).create_function(
        FunctionName="worker-fn",
        Runtime="python3.12",
        Role=f"arn:aws:iam::{ACCT}:role/service/lambda-admin",
        Handler="f.handler",
        Code={"ZipFile": buf.getvalue()},
    )
    ec2 = boto3.client("ec2", endpoint_url=url, region_name=REGION)
    ami = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.run_instances(
        ImageId=ami,
        MinCount=1,
        MaxCount=1,
        IamInstanceProfile={"Arn": f"arn:aws:iam::{ACCT}:instance-profile/web-profile"},
    )


def _summary(report: Any) -> dict[str, tuple[tuple[str, ...], bool]]:
    return {f.principal: (tuple(sorted(f.techniques)), f.conditional) for f in report.findings}


def test_plan_alone_finds_what_a_snapshot_of_the_account_finds(moto_endpoint: str, tmp_path: Path) -> None:
    _seed(moto_endpoint)
    snap = load_snapshot(collect(tmp_path / "snap", regions=[REGION], endpoint_url=moto_endpoint))
    from_snapshot = _summary(analyze(snap))

    scan = load_terraform_plan(PLAN)
    _, report = analyze_change(scan)
    from_plan = _summary(report)

    shell = f"arn:aws:iam::{ACCT}:user/shell"
    # The one thing a plan cannot express: whether the new instance accepts EC2 Instance Connect.
    assert from_snapshot[shell] == (("ec2-003",), False)
    assert from_plan[shell] == (("ec2-003",), True)
    assert any(
        "EC2 Instance Connect" in c
        for f in report.findings
        if f.principal == shell
        for e in f.edges
        for c in e.conditions
    )
    from_snapshot.pop(shell)
    from_plan.pop(shell)
    assert from_plan == from_snapshot
    # Every finding is introduced (the account starts from nothing); no false positive among the rest.
    assert report.change is not None and set(report.change.introduced) == {
        f.principal for f in report.findings
    }
    safe = {f"arn:aws:iam::{ACCT}:user/{u}" for u in ("bob", "reader")}
    assert not safe & set(from_plan)
