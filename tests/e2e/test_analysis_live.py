"""The analysis on a snapshot collected from a real moto server: resource ARNs as the collector
writes them must match the ARN patterns of real policies, and a failed inventory call (moto's SSM
DescribeInstanceInformation answers HTTP 500) must make conditional edges, not silence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from collect_seed import ACCT, seed

from deescalate.analysis.analyze import analyze
from deescalate.cli import main
from deescalate.snapshot import load_snapshot

pytestmark = pytest.mark.e2e

R = f"us-east-1:{ACCT}"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_resource_techniques_on_a_collected_snapshot(
    moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded = seed(moto_endpoint)
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    iam.create_user(UserName="attacker")
    statements = [
        {"Effect": "Allow", "Action": action, "Resource": resource}
        for action, resource in [
            ("cloudformation:UpdateStack", f"arn:aws:cloudformation:{R}:stack/stack/*"),
            ("codebuild:StartBuild", f"arn:aws:codebuild:{R}:project/build"),
            ("glue:UpdateDevEndpoint", f"arn:aws:glue:{R}:devEndpoint/dev"),
            ("sagemaker:CreatePresignedNotebookInstanceUrl", f"arn:aws:sagemaker:{R}:notebook-instance/nb"),
            ("ec2-instance-connect:SendSSHPublicKey", f"arn:aws:ec2:{R}:instance/*"),
            ("ssm:StartSession", f"arn:aws:ec2:{R}:instance/*"),
        ]
    ]
    iam.put_user_policy(UserName="attacker", PolicyName="ops", PolicyDocument=doc(*statements))
    argv = ["collect", "-o", str(tmp_path / "snap"), "--endpoint-url", moto_endpoint, "--region", "us-east-1"]
    assert main(argv) == 0
    capsys.readouterr()
    snap = load_snapshot(tmp_path / "snap")
    attacker = f"arn:aws:iam::{ACCT}:user/attacker"
    # ec2-admin has a boundary that allows only s3:*: not an admin, so protect it as a target.
    report = analyze(snap, targets=[seeded["admin_role"]])
    got = {(e.technique, e.target): e for e in report.edges if e.source == attacker}
    for technique in ("cloudformation-002", "codebuild-002", "glue-002", "sagemaker-004", "ec2-003"):
        edge = got[(technique, seeded["admin_role"])]
        assert not edge.conditional, edge.conditions
    ssm = got[("ssm-001", seeded["admin_role"])]
    assert ssm.conditional and "SSM" in ssm.conditions[0]
    finding = next(f for f in report.findings if f.principal == attacker)
    assert not finding.conditional
