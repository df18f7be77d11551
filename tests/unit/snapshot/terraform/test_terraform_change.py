"""Done-when 3 of issue 14: a change plan against an existing account reports exactly the findings
it introduces and resolves — from Terraform's prior state, and on top of a snapshot."""

from __future__ import annotations

import json
from pathlib import Path

from deescalate.analysis.change import analyze_change
from deescalate.snapshot import load_snapshot
from deescalate.snapshot.terraform import load_terraform_plan

ASSETS = Path(__file__).resolve().parents[3] / "assets/terraform"
A = "arn:aws:iam::123456789012"
PLAN = ASSETS / "change_plan.json"


def test_introduced_and_resolved_from_prior_state() -> None:
    before, after = analyze_change(load_terraform_plan(PLAN))
    assert {f.principal for f in before.findings} == {f"{A}:user/legacy", f"{A}:user/ops", f"{A}:user/stable"}
    assert after.change is not None
    assert after.change.introduced == (f"{A}:user/dev", f"{A}:user/intern")
    assert after.change.resolved == (f"{A}:user/legacy", f"{A}:user/ops")
    # The addresses that open the new edges: an update, and an update inside a module.
    by_principal = {f.principal: after.change.addresses_for(f.edges) for f in after.findings}
    assert by_principal[f"{A}:user/dev"] == ("aws_iam_user_policy.dev",)
    assert by_principal[f"{A}:user/intern"] == ("module.platform.aws_iam_role.deployer",)
    assert by_principal[f"{A}:user/stable"] == ()  # nothing the change did
    # The role replaced under the same name keeps its attachments: still the admin.
    assert [a.arn for a in after.admins if not a.target_only] == [f"{A}:role/admin", f"{A}:role/deployer"]


def test_only_changed_resources_form_gives_the_same_answer(tmp_path) -> None:
    plan = json.loads(PLAN.read_text())
    plan["resource_changes"] = [rc for rc in plan["resource_changes"] if rc["change"]["actions"] != ["no-op"]]
    short = tmp_path / "short.json"
    short.write_text(json.dumps(plan))
    _, full = analyze_change(load_terraform_plan(PLAN))
    _, changed_only = analyze_change(load_terraform_plan(short))
    assert changed_only.change is not None and full.change is not None
    assert (changed_only.change.introduced, changed_only.change.resolved) == (
        full.change.introduced,
        full.change.resolved,
    )


def _details(tmp_path: Path) -> Path:
    admin_doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    assume = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"{A}:role/admin"}],
    }
    doc = {
        "UserDetailList": [
            {
                "UserName": "dev",
                "Arn": f"{A}:user/dev",
                "Path": "/",
                "UserId": "AIDADEV",
                "GroupList": [],
                "AttachedManagedPolicies": [],
                "UserPolicyList": [
                    {
                        "PolicyName": "work",
                        "PolicyDocument": {
                            "Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
                        },
                    }
                ],
            },
            {
                "UserName": "outsider",
                "Arn": f"{A}:user/outsider",
                "Path": "/",
                "UserId": "AIDAOUT",
                "GroupList": [],
                "AttachedManagedPolicies": [],
                "UserPolicyList": [{"PolicyName": "a", "PolicyDocument": assume}],
            },
        ],
        "RoleDetailList": [
            {
                "RoleName": "admin",
                "Arn": f"{A}:role/admin",
                "Path": "/",
                "RoleId": "AROAADMIN",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": f"{A}:root"}}
                    ],
                },
                "RolePolicyList": [],
                "InstanceProfileList": [],
                "AttachedManagedPolicies": [
                    {
                        "PolicyName": "AdministratorAccess",
                        "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
                    }
                ],
            },
        ],
        "GroupDetailList": [],
        "Policies": [
            {
                "PolicyName": "AdministratorAccess",
                "Arn": "arn:aws:iam::aws:policy/AdministratorAccess",
                "Path": "/",
                "DefaultVersionId": "v1",
                "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": admin_doc}],
            }
        ],
    }
    path = tmp_path / "details.json"
    path.write_text(json.dumps(doc))
    return path


def test_on_top_of_a_snapshot_the_snapshot_wins_and_adds_what_terraform_does_not_manage(tmp_path) -> None:
    base = load_snapshot(_details(tmp_path))
    before, after = analyze_change(load_terraform_plan(PLAN, base))
    at_risk = {f.principal for f in after.findings}
    assert f"{A}:user/outsider" in at_risk and f"{A}:user/outsider" in {f.principal for f in before.findings}
    assert after.change is not None
    assert after.change.introduced == (f"{A}:user/dev", f"{A}:user/intern")
    assert after.change.resolved == (f"{A}:user/legacy", f"{A}:user/ops")
    # No note that the account is only what Terraform manages: the snapshot shows the rest.
    assert not any("made outside Terraform" in n for n in after.notes)


def test_a_plan_for_another_account_than_the_snapshot_is_refused(tmp_path, capsys) -> None:
    from deescalate.cli import main

    details = json.loads(_details(tmp_path).read_text())
    for u in details["UserDetailList"]:
        u["Arn"] = u["Arn"].replace("123456789012", "999999999999")
    other = tmp_path / "other.json"
    other.write_text(json.dumps(details))
    assert main(["scan", "--terraform-plan", str(PLAN), str(other)]) == 3
    err = capsys.readouterr().err
    assert "the plan is for account 123456789012" in err and "999999999999" in err


def test_a_user_renamed_in_place_keeps_its_policies(tmp_path) -> None:
    plan = json.loads(PLAN.read_text())
    for rc in plan["resource_changes"]:
        if rc["address"] == "aws_iam_user.stable":
            rc["change"]["actions"] = ["update"]
            rc["change"]["after"] = {**rc["change"]["before"], "name": "steady", "arn": None}
            rc["change"]["after_unknown"] = {"arn": True}
    path = tmp_path / "rename.json"
    path.write_text(json.dumps(plan))
    scan = load_terraform_plan(path)
    assert f"{A}:user/stable" not in scan.after.users
    steady = scan.after.users[f"{A}:user/steady"]
    assert [p.ref.name for p in steady.inline_policies] == ["assume"]  # UpdateUser keeps it
    _, after = analyze_change(scan)
    assert after.change is not None
    assert f"{A}:user/steady" in after.change.introduced and f"{A}:user/stable" in after.change.resolved
