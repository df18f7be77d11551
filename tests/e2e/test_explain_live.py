"""`deescalate explain` on a snapshot collected from a real (moto) server, in text, JSON and batch.

moto does not evaluate IAM; what this checks is that the evaluator reads what `collect` wrote:
AWS's real ReadOnlyAccess document (2,677 patterns), a trust policy naming a user, an inline
policy with a condition the snapshot cannot know, and a group's policy.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from deescalate.cli import main

pytestmark = pytest.mark.e2e

ACCT = "123456789012"
READER = f"arn:aws:iam::{ACCT}:user/reader"
DEPLOY = f"arn:aws:iam::{ACCT}:role/deploy"


def _seed(url: str) -> None:
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1")
    iam.create_user(UserName="reader")
    iam.attach_user_policy(UserName="reader", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.put_user_policy(UserName="reader", PolicyName="office-ec2", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "ec2:StartInstances", "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}]}))
    iam.create_group(GroupName="ops")
    iam.put_group_policy(GroupName="ops", PolicyName="sqs", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}))
    iam.add_user_to_group(GroupName="ops", UserName="reader")
    iam.create_role(RoleName="deploy", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": READER}, "Action": "sts:AssumeRole"}]}))


def test_explain_on_a_collected_snapshot(moto_endpoint: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    _seed(moto_endpoint)
    snap = tmp_path / "snap"
    assert main(["collect", "--endpoint-url", moto_endpoint, "--region", "us-east-1", "-o", str(snap)]) == 0
    capsys.readouterr()

    def explain(*argv: str) -> dict[str, object]:
        assert main(["explain", str(snap), "--principal", "reader", "--format", "json", *argv]) == 0
        return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]

    read = explain("--action", "s3:GetObject", "--resource", "arn:aws:s3:::any/key")
    assert read["decision"] == "allow"
    assert read["statements"][0]["name"] == "ReadOnlyAccess"  # type: ignore[index]
    assert explain("--action", "s3:PutObject")["decision"] == "deny"
    start = explain("--action", "ec2:StartInstances")
    assert start["decision"] == "conditional" and "aws:SourceIp" in str(start["conditions"])
    assert explain("--action", "sqs:SendMessage")["decision"] == "allow"  # through the group
    assume = explain("--action", "sts:AssumeRole", "--resource", DEPLOY)
    assert assume["decision"] == "allow"
    assert {s["kind"] for s in assume["statements"]} == {"trust"}  # type: ignore[union-attr]

    batch = tmp_path / "q.jsonl"
    batch.write_text(
        json.dumps({"principal": READER, "action": "iam:CreateUser"}) + "\n"
        + json.dumps({"principal": READER, "action": "ec2:StartInstances",
                      "context": {"aws:SourceIp": "203.0.113.5"}}) + "\n")
    assert main(["explain", str(snap), "--batch", str(batch)]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["decision"] for r in results] == ["deny", "allow"]

    assert main(["explain", str(snap), "--principal", READER, "--action", "iam:ListUsers"]) == 0
    assert capsys.readouterr().out.startswith("ALLOW:")
