"""Composed escalations end to end against a real moto server, checked by an independent checker.

The account holds the four composition paths of issue 10 (console take-over + rewrite, rewrite any
group then join it, a helper rewriting its source, a helper able to undo the fix), a helper that
may rewrite every role a user can act as (one composed edge for the helper, issue 12), a user that
may delete the plan's deny on a role it can act as, plus Lambda
event-source-mapping and Glue dev-endpoint escalations. It goes collect → plan → apply → collect →
scan with no finding, and `escalation_checker` (tests/support: its own evaluator and search over
the raw collected JSON, nothing shared with deescalate.analysis or deescalate.policy) confirms
that every one of those principals escalated before the plan and is cut after it.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from escalation_checker import Checker

from deescalate.analysis.analyze import analyze
from deescalate.cli import main
from deescalate.remediate.planfile import read_plan
from deescalate.snapshot import load_snapshot

pytestmark = pytest.mark.e2e
ACCT = "123456789012"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def pol(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCT}:{kind}/{name}"


def trust(**principal: str) -> str:
    return pol({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})


def seed(url: str) -> list[str]:
    """The escalating principals (ARNs)."""
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1")
    # the admins there are to reach, and a service role for each PassRole technique
    iam.create_user(UserName="boss")
    iam.attach_user_policy(UserName="boss", PolicyArn=ADMIN)
    for name, service in (("lambda-admin", "lambda.amazonaws.com"), ("glue-admin", "glue.amazonaws.com")):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(Service=service))
        iam.attach_role_policy(RoleName=name, PolicyArn=ADMIN)
    # a harmless role for the Lambda function seeded below (the inventory has one function)
    iam.create_role(RoleName="worker", AssumeRolePolicyDocument=trust(Service="lambda.amazonaws.com"))

    # 1. console take-over + rewrite: a password for a user without one, then an admin policy on it
    iam.create_user(UserName="intern")
    iam.create_user(UserName="console")
    iam.put_user_policy(UserName="console", PolicyName="work", PolicyDocument=pol(
        allow(["iam:CreateLoginProfile", "iam:AttachUserPolicy"], arn("user", "intern"))))
    # ... and its trap: a user who already has a password (CreateLoginProfile fails)
    iam.create_user(UserName="veteran")
    iam.create_login_profile(UserName="veteran", Password="Old-Secret-123!")
    iam.create_user(UserName="console-trap")
    iam.put_user_policy(UserName="console-trap", PolicyName="work", PolicyDocument=pol(
        allow(["iam:CreateLoginProfile", "iam:AttachUserPolicy"], arn("user", "veteran"))))

    # 2. rewrite any group, then join it
    iam.create_group(GroupName="empty")
    iam.create_user(UserName="grouper")
    iam.put_user_policy(UserName="grouper", PolicyName="work", PolicyDocument=pol(
        allow(["iam:PutGroupPolicy", "iam:AddUserToGroup"], arn("group", "empty"))))
    # ... and its trap: the group is not joinable
    iam.create_group(GroupName="closed")
    iam.create_user(UserName="grouper-trap")
    iam.put_user_policy(UserName="grouper-trap", PolicyName="work", PolicyDocument=pol(
        allow(["iam:PutGroupPolicy", "iam:AddUserToGroup"], arn("group", "closed")),
        {"Effect": "Deny", "Action": "iam:AddUserToGroup", "Resource": arn("group", "closed")}))

    # 3. a helper rewrites its source
    iam.create_user(UserName="helped")
    iam.put_user_policy(UserName="helped", PolicyName="work",
                        PolicyDocument=pol(allow("sts:AssumeRole", arn("role", "rewriter"))))
    iam.create_role(RoleName="rewriter", AssumeRolePolicyDocument=trust(AWS=arn("user", "helped")))
    iam.put_role_policy(RoleName="rewriter", PolicyName="work",
                        PolicyDocument=pol(allow("iam:PutUserPolicy", arn("user", "helped"))))

    # 4. a helper undoes the fix: the user may write its own policies (the plan will deny that),
    # and a role it can assume may delete or detach that user's policies.
    iam.create_user(UserName="undoer")
    iam.put_user_policy(UserName="undoer", PolicyName="work", PolicyDocument=pol(
        allow("iam:PutUserPolicy", arn("user", "undoer")), allow("sts:AssumeRole", arn("role", "remover"))))
    iam.create_role(RoleName="remover", AssumeRolePolicyDocument=trust(AWS=arn("user", "undoer")))
    iam.put_role_policy(RoleName="remover", PolicyName="work", PolicyDocument=pol(
        allow(["iam:DeleteUserPolicy", "iam:DetachUserPolicy"], arn("user", "undoer"))))

    # 5. Lambda through an event source mapping (no InvokeFunction)
    iam.create_user(UserName="esm")
    iam.put_user_policy(UserName="esm", PolicyName="work", PolicyDocument=pol(
        allow("iam:PassRole", arn("role", "lambda-admin")),
        allow(["lambda:CreateFunction", "lambda:CreateEventSourceMapping"])))

    # 6. Glue dev endpoint
    iam.create_user(UserName="gluer")
    iam.put_user_policy(UserName="gluer", PolicyName="work", PolicyDocument=pol(
        allow("iam:PassRole", arn("role", "glue-admin")), allow("glue:CreateDevEndpoint")))

    # 7. a helper that may rewrite every role, and a user that can act as it and as six roles: once
    # the plan stops the helper rewriting itself, the user still gets admin through it (composition
    # then gives the user one edge for the helper, not one per role).
    fleet = [f"fleet-{i}" for i in range(6)]
    iam.create_user(UserName="hub")
    iam.put_user_policy(UserName="hub", PolicyName="work", PolicyDocument=pol(
        allow("sts:AssumeRole", [arn("role", "writer"), *(arn("role", f) for f in fleet)])))
    for name in ("writer", *fleet):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(AWS=arn("user", "hub")))
    iam.put_role_policy(RoleName="writer", PolicyName="work",
                        PolicyDocument=pol(allow("iam:PutRolePolicy", arn("role", "*"))))

    # 8. a user may delete the inline policies of a role it can assume, and the role may attach a
    # policy to itself: the plan's deny on the role must hold against the user too.
    iam.create_user(UserName="eraser")
    iam.put_user_policy(UserName="eraser", PolicyName="work", PolicyDocument=pol(
        allow(["sts:AssumeRole", "iam:DeleteRolePolicy"], arn("role", "self-writer"))))
    iam.create_role(RoleName="self-writer", AssumeRolePolicyDocument=trust(AWS=arn("user", "eraser")))
    iam.put_role_policy(RoleName="self-writer", PolicyName="work",
                        PolicyDocument=pol(allow("iam:AttachRolePolicy", arn("role", "self-writer"))))

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("f.py", "def handler(event, context):\n    return None\n")
    boto3.client("lambda", endpoint_url=url, region_name="us-east-1").create_function(
        FunctionName="existing", Runtime="python3.12", Role=arn("role", "worker"), Handler="f.handler",
        Code={"ZipFile": buf.getvalue()},
    )
    return [
        *(arn("user", n) for n in ("console", "grouper", "helped", "undoer", "esm", "gluer", "hub", "eraser")),
        arn("role", "writer"),
        arn("role", "self-writer"),
    ]


def collect(url: str, out: Path) -> None:
    assert main(["collect", "-o", str(out), "--endpoint-url", url, "--region", "us-east-1"]) == 0


def test_composed_paths_are_cut_and_an_independent_checker_agrees(
    moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    attackers = seed(moto_endpoint)
    traps = [arn("user", "console-trap"), arn("user", "grouper-trap")]
    collect(moto_endpoint, tmp_path / "before")

    checker = Checker(tmp_path / "before")
    for a in attackers:
        assert checker.escalation(a) is not None, f"the checker finds no escalation for {a}"
    for t in traps:
        assert checker.escalation(t) is None, (t, checker.escalation(t))

    report = analyze(load_snapshot(tmp_path / "before"))
    at_risk = {f.principal for f in report.findings}
    assert set(attackers) <= at_risk, sorted(set(attackers) - at_risk)
    assert not set(traps) & at_risk
    techniques = {e.technique for e in report.edges}
    assert {"X-TakeoverRewrite", "X-GroupRewrite", "X-HelperRewrite", "lambda-002", "glue-001"} <= techniques

    plan_path = tmp_path / "plan.json"
    assert main(["plan", str(tmp_path / "before"), "-o", str(plan_path)]) == 0
    plan = read_plan(plan_path)
    assert plan.verified
    undoer = {(d.action, d.resource) for p in plan.principals if p.principal == arn("user", "undoer")
              for d in p.denies}
    remover = {(d.action, d.resource) for p in plan.principals if p.principal == arn("role", "remover")
               for d in p.denies}
    # the helper's way to undo the fix is cut: at the undoer (no more AssumeRole of the remover) or
    # at the remover (no more deleting the undoer's policies)
    assert ("sts:AssumeRole", arn("role", "remover")) in undoer or remover
    # the hub's way through the writer is one edge, cut on the way to the writer or at its rewrites
    (through,) = [e for e in plan.edges if e.source == arn("user", "hub") and e.technique == "X-HelperRewrite"]
    assert through.via == f"*?by={arn('role', 'writer')}"
    # the eraser's way to delete the role's deny is cut: at the eraser (no more assuming the role, or
    # deleting its policies), as the role's own deny cannot stop the eraser's DeleteRolePolicy
    eraser = {(d.action, d.resource) for p in plan.principals if p.principal == arn("user", "eraser")
              for d in p.denies}
    assert eraser & {("sts:AssumeRole", arn("role", "self-writer")),
                     ("iam:DeleteRolePolicy", arn("role", "self-writer"))}, eraser

    assert main(["apply", str(plan_path), "--yes", "--endpoint-url", moto_endpoint]) == 0
    collect(moto_endpoint, tmp_path / "after")
    capsys.readouterr()
    assert main(["scan", str(tmp_path / "after")]) == 0
    after = analyze(load_snapshot(tmp_path / "after"))
    assert after.findings == (), [(f.principal, f.techniques) for f in after.findings]

    checker = Checker(tmp_path / "after")
    for a in [*attackers, *traps]:
        assert checker.escalation(a) is None, (a, checker.escalation(a))
