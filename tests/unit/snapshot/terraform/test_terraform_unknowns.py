"""Done-when 2 of issue 14: values known only after apply make exactly what depends on them
conditional, never safe and never definite; computed attributes that grant nothing do not."""

from __future__ import annotations

import json
from pathlib import Path

from deescalate.analysis.change import analyze_change
from deescalate.model import Report
from deescalate.snapshot.terraform import load_terraform_plan

ASSETS = Path(__file__).resolve().parents[3] / "assets/terraform"
A = "arn:aws:iam::123456789012"


def report(name: str) -> Report:
    _, after = analyze_change(load_terraform_plan(ASSETS / name))
    return after


def test_unknown_documents_make_exactly_their_dependents_conditional() -> None:
    r = report("unknown_values.json")
    found = {f.principal: f.conditional for f in r.findings}
    temp = f"{A}:user/temp-(known after apply: aws_iam_user.temp)"
    assert found == {
        f"{A}:user/solid": False,  # its own escalation depends on nothing unknown
        f"{A}:user/u1": True,  # attached policy's document known after apply
        f"{A}:role/r2": True,  # inline policy known after apply
        f"{A}:user/hopper": True,  # reaches r2 only
        f"{A}:user/assumer": True,  # may assume vault, whose trust is known after apply
        f"{A}:user/keymaker": True,  # reaches a user whose name is known after apply
        temp: True,
    }
    # noassume has no permission an unknown trust could complete; vault is admin (AdministratorAccess).
    assert f"{A}:user/noassume" not in found
    assert [a.arn for a in r.admins] == [f"{A}:role/vault"]


def test_the_condition_names_the_terraform_attribute() -> None:
    r = report("unknown_values.json")
    u1 = next(f for f in r.findings if f.principal == f"{A}:user/u1")
    conditions = {c for e in u1.edges for c in e.conditions}
    assert any(
        "terraform:KnownAfterApply" in c
        and "aws_iam_user_policy_attachment.u1.policy_arn" not in c
        and "aws_iam_policy.generated.policy" in c
        for c in conditions
    ), conditions
    assumer = next(f for f in r.findings if f.principal == f"{A}:user/assumer")
    assert any("trust policy of aws_iam_role.vault" in c for e in assumer.edges for c in e.conditions)


def test_computed_attributes_that_grant_nothing_change_nothing(tmp_path) -> None:
    """The same account with every harmless computed attribute known gives the same findings."""
    plan = json.loads((ASSETS / "whole_account.json").read_text())
    for rc in plan["resource_changes"]:
        unknown = rc["change"].get("after_unknown") or {}
        for key in ("arn", "id", "unique_id", "create_date", "tags_all"):
            unknown.pop(key, None)
        if rc["type"] == "aws_iam_role" and unknown.get("managed_policy_arns") is True:
            unknown.pop("managed_policy_arns")
            unknown.pop("inline_policy", None)
    known = tmp_path / "known.json"
    known.write_text(json.dumps(plan))
    as_planned = {(f.principal, f.conditional) for f in report("whole_account.json").findings}
    _, after = analyze_change(load_terraform_plan(known))
    assert {(f.principal, f.conditional) for f in after.findings} == as_planned
    definite = {p for p, c in as_planned if not c}
    assert f"{A}:user/dev" in definite and f"{A}:user/ci/ci-deployer" in definite


def test_an_unknown_trust_admits_the_principals_its_configuration_names(tmp_path) -> None:
    """A trust built by a data source read at apply: the role it names needs no permission of its own."""
    plan = {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": "aws_iam_role.target",
                "mode": "managed",
                "type": "aws_iam_role",
                "name": "target",
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": {
                        "name": "target",
                        "path": "/",
                        "managed_policy_arns": ["arn:aws:iam::aws:policy/AdministratorAccess"],
                    },
                    "after_unknown": {
                        "arn": True,
                        "assume_role_policy": True,
                        "managed_policy_arns": [False],
                    },
                },
            },
            {
                "address": "aws_iam_role.ci",
                "mode": "managed",
                "type": "aws_iam_role",
                "name": "ci",
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": {
                        "name": "ci",
                        "path": "/",
                        "assume_role_policy": json.dumps(
                            {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Action": "sts:AssumeRole",
                                        "Principal": {"Service": "ec2.amazonaws.com"},
                                    }
                                ],
                            }
                        ),
                    },
                    "after_unknown": {"arn": True},
                },
            },
            {
                "address": "data.aws_iam_policy_document.trust",
                "mode": "data",
                "type": "aws_iam_policy_document",
                "name": "trust",
                "change": {
                    "actions": ["read"],
                    "before": None,
                    "after": {},
                    "after_unknown": {"json": True, "minified_json": True},
                },
            },
        ],
        "configuration": {
            "root_module": {
                "resources": [
                    {
                        "address": "aws_iam_role.target",
                        "mode": "managed",
                        "type": "aws_iam_role",
                        "name": "target",
                        "expressions": {
                            "managed_policy_arns": {
                                "constant_value": ["arn:aws:iam::aws:policy/AdministratorAccess"]
                            },
                            "assume_role_policy": {
                                "references": [
                                    "data.aws_iam_policy_document.trust.json",
                                    "data.aws_iam_policy_document.trust",
                                ]
                            },
                        },
                    },
                    {
                        "address": "data.aws_iam_policy_document.trust",
                        "mode": "data",
                        "type": "aws_iam_policy_document",
                        "name": "trust",
                        "expressions": {
                            "statement": [
                                {
                                    "actions": {"constant_value": ["sts:AssumeRole"]},
                                    "principals": [
                                        {
                                            "type": {"constant_value": "AWS"},
                                            "identifiers": {
                                                "references": ["aws_iam_role.ci.arn", "aws_iam_role.ci"]
                                            },
                                        }
                                    ],
                                }
                            ]
                        },
                    },
                ]
            }
        },
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    _, after = analyze_change(load_terraform_plan(path, account_id="123456789012"))
    assert {(f.principal, f.conditional) for f in after.findings} == {(f"{A}:role/ci", True)}


def test_an_unknown_boundary_makes_the_principal_conditional_not_definite(tmp_path) -> None:
    doc = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "iam:PutUserPolicy", "Resource": f"{A}:user/capped"}],
        }
    )
    plan = {
        "format_version": "1.2",
        "resource_changes": [
            {
                "address": "aws_iam_user.capped",
                "mode": "managed",
                "type": "aws_iam_user",
                "name": "capped",
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": {"name": "capped", "path": "/"},
                    "after_unknown": {"arn": True, "permissions_boundary": True},
                },
            },
            {
                "address": "aws_iam_user_policy.capped",
                "mode": "managed",
                "type": "aws_iam_user_policy",
                "name": "capped",
                "change": {
                    "actions": ["create"],
                    "before": None,
                    "after": {"name": "p", "user": "capped", "policy": doc},
                    "after_unknown": {"id": True},
                },
            },
        ],
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    _, after = analyze_change(load_terraform_plan(path, account_id="123456789012"))
    (finding,) = after.findings
    assert finding.principal == f"{A}:user/capped" and finding.conditional
    assert any(
        "permissions boundary of aws_iam_user.capped" in c for e in finding.edges for c in e.conditions
    )


def test_a_plan_without_configuration_still_reads_configured_role_arguments(tmp_path) -> None:
    plan = json.loads((ASSETS / "whole_account.json").read_text())
    del plan["configuration"]
    path = tmp_path / "noconfig.json"
    path.write_text(json.dumps(plan))
    scan = load_terraform_plan(path)
    # managed_policy_arns known at plan time on a new role: it was configured.
    assert scan.after.roles[f"{A}:role/web"].managed_policy_arns == (
        "arn:aws:iam::aws:policy/AdministratorAccess",
    )
    # inline_policy and managed_policy_arns left to the provider (unknown) add nothing.
    assert scan.after.roles[f"{A}:role/admin"].inline_policies == ()
