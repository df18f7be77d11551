"""export: the plan's checked deny documents as Terraform JSON and CloudFormation, exactly and only those."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from cfnlint.api import lint

from deescalate.cli import main
from deescalate.errors import UsageError
from deescalate.model import Deny, Plan, PrincipalPlan
from deescalate.remediate.export import ExportFormat, export_plan
from deescalate.remediate.planfile import read_plan
from deescalate.remediate.quotas import render_document

ACCT = "123456789012"
ALICE = f"arn:aws:iam::{ACCT}:user/alice"
CI = f"arn:aws:iam::{ACCT}:role/ci/deployer"
OPS = f"arn:aws:iam::{ACCT}:group/ops"


def deny(n: int, principal: str, action: str, resource: str, *, apply: bool = True) -> Deny:
    return Deny(id=f"d{n}", principal=principal, action=action, resource=resource, cuts=("e",),
                techniques=("t",), why="w", apply=apply)


def principal(arn: str, *denies: Deny, placement: str = "inline", name: str = "deescalate-deny") -> PrincipalPlan:
    document = render_document(denies)
    return PrincipalPlan(principal=arn, denies=denies, placement=placement, policy_name=name,
                         document=json.dumps(document, indent=2) if document["Statement"] else "")


def sample() -> Plan:
    return Plan(account_id=ACCT, snapshot="snap", snapshot_time=None, principals=(
        principal(ALICE, deny(1, ALICE, "iam:PassRole", f"arn:aws:iam::{ACCT}:role/Admin"),
                  deny(2, ALICE, "iam:CreateAccessKey", f"arn:aws:iam::{ACCT}:user/${{aws:username}}"),
                  deny(3, ALICE, "ec2:RunInstances", "*", apply=False)),
        principal(CI, deny(4, CI, "iam:PutRolePolicy", CI), placement="managed",
                  name="deescalate-deny-role-deployer"),
        principal(OPS, deny(5, OPS, "iam:AttachGroupPolicy", OPS)),
        principal(f"arn:aws:iam::{ACCT}:user/bob", deny(6, ALICE, "iam:PassRole", "*", apply=False)),
    ))


def documents(plan: Plan) -> dict[str, dict]:
    return {p.principal.rsplit("/", 1)[-1]: json.loads(p.document) for p in plan.principals if p.document}


def test_terraform_holds_exactly_the_checked_documents() -> None:
    plan = sample()
    tf = export_plan(plan, ExportFormat.TERRAFORM, source="plan.json")
    res = tf["resource"]
    assert set(res) == {"aws_iam_user_policy", "aws_iam_group_policy", "aws_iam_policy",
                        "aws_iam_role_policy_attachment"}
    (user_policy,) = res["aws_iam_user_policy"].values()
    assert user_policy["user"] == "alice" and user_policy["name"] == "deescalate-deny"
    # Terraform strings are templates: ${ is written $${ and reads back as the plan's document.
    assert "$${aws:username}" in user_policy["policy"]
    assert json.loads(user_policy["policy"].replace("$${", "${")) == documents(plan)["alice"]
    assert "ec2:RunInstances" not in user_policy["policy"]  # switched off: not exported
    (managed,) = res["aws_iam_policy"].items()
    label, body = managed
    assert body["name"] == "deescalate-deny-role-deployer"
    assert json.loads(body["policy"]) == documents(plan)["deployer"]
    (attachment,) = res["aws_iam_role_policy_attachment"].values()
    assert attachment == {"role": "deployer", "policy_arn": f"${{aws_iam_policy.{label}.arn}}"}
    (group_policy,) = res["aws_iam_group_policy"].values()
    assert group_policy["group"] == "ops"
    # bob has only a switched-off deny: nothing to write for him.
    assert "bob" not in json.dumps(tf)
    for kind in res.values():
        assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name) for name in kind)


def test_cloudformation_holds_exactly_the_checked_documents_and_passes_cfn_lint() -> None:
    plan = sample()
    cfn = export_plan(plan, ExportFormat.CLOUDFORMATION, source="plan.json")
    by_type: dict[str, list[dict]] = {}
    for r in cfn["Resources"].values():
        by_type.setdefault(r["Type"], []).append(r["Properties"])
    (alice,) = [p for p in by_type["AWS::IAM::Policy"] if "Users" in p]
    (ops,) = [p for p in by_type["AWS::IAM::Policy"] if "Groups" in p]
    assert alice["Users"] == ["alice"] and alice["PolicyDocument"] == documents(plan)["alice"]
    assert ops["Groups"] == ["ops"] and ops["PolicyDocument"] == documents(plan)["ops"]
    (managed,) = by_type["AWS::IAM::ManagedPolicy"]
    assert managed["Roles"] == ["deployer"] and managed["PolicyDocument"] == documents(plan)["deployer"]
    assert managed["ManagedPolicyName"] == "deescalate-deny-role-deployer"
    problems = lint(json.dumps(cfn))
    assert [str(m) for m in problems if m.rule.id.startswith("E")] == []


def test_an_edited_unchecked_plan_is_refused() -> None:
    plan = sample()
    alice = plan.principals[0]
    edited = replace(alice, denies=tuple(replace(d, apply=True) for d in alice.denies))
    with pytest.raises(UsageError, match="edited after it was checked"):
        export_plan(replace(plan, principals=(edited,)), ExportFormat.TERRAFORM, source="p.json")


def test_an_unfixable_principal_is_refused() -> None:
    plan = sample()
    broken = replace(plan.principals[0], unfixable="too big")
    with pytest.raises(UsageError, match="cannot be fixed"):
        export_plan(replace(plan, principals=(broken,)), ExportFormat.CLOUDFORMATION, source="p.json")


def test_export_command_on_the_demo_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan_path = tmp_path / "plan.json"
    assert main(["plan", "--demo", "-o", str(plan_path)]) == 0
    out = tmp_path / "denies.tf.json"
    assert main(["export", str(plan_path), "--format", "terraform", "-o", str(out)]) == 0
    tf = json.loads(out.read_text())
    (policy,) = tf["resource"]["aws_iam_role_policy"].values()
    assert policy["role"] == "roleB"
    assert json.loads(policy["policy"]) == json.loads(read_plan(plan_path).principals[0].document)
    capsys.readouterr()
    assert main(["export", str(plan_path), "--format", "cloudformation"]) == 0
    template = json.loads(capsys.readouterr().out)
    assert [r["Type"] for r in template["Resources"].values()] == ["AWS::IAM::Policy"]
    assert main(["export", str(plan_path), "--format", "terraform", "-o", str(plan_path)]) == 2
    assert main(["export", str(plan_path), "--format", "yaml"]) == 2
