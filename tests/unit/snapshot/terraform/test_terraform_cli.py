"""`scan --terraform-plan` through `main([...])`: bad input, the gate, and every report format."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from deescalate.cli import main

ROOT = Path(__file__).resolve().parents[4]
ASSETS = ROOT / "tests/assets/terraform"
WHOLE = ASSETS / "whole_account.json"
ACCT = "arn:aws:iam::123456789012"


def write(tmp_path: Path, doc: object, name: str = "plan.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return str(path)


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        ("not json at all", "not JSON"),
        ([1, 2], "not a Terraform plan"),
        (
            {"version": 4, "terraform_version": "1.9.0", "serial": 3, "lineage": "x", "resources": []},
            "a Terraform state file, not a plan",
        ),
        (
            {"format_version": "1.0", "terraform_version": "1.9.0", "values": {"root_module": {}}},
            "the JSON of a Terraform state",
        ),
        ({"format_version": "2.0", "resource_changes": []}, "plan format version 2.0 is not one"),
        ({"format_version": "1.2", "resource_changes": [], "errored": True}, "the plan errored"),
        (
            {
                "format_version": "1.2",
                "resource_changes": [
                    {"address": "a.b", "type": "a", "name": "b", "change": {"actions": ["explode"]}}
                ],
            },
            "change.actions",
        ),
        ({"format_version": "1.2", "resource_changes": "nope"}, "resource_changes should be a list"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_3(tmp_path, capsys, doc, says) -> None:
    plan = write(tmp_path, doc)
    assert main(["scan", "--terraform-plan", plan, "--account-id", "123456789012"]) == 3
    err = capsys.readouterr().err.strip()
    assert says in err and err.count("\n") == 0 and "Traceback" not in err


def test_missing_plan_and_binary_plan(tmp_path, capsys) -> None:
    assert main(["scan", "--terraform-plan", str(tmp_path / "nope.json")]) == 3
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "tfplan").write_bytes(b"PK\x03\x04\xff\xfe binary")
    assert main(["scan", "--terraform-plan", str(tmp_path / "tfplan")]) == 3
    assert "terraform show -json" in capsys.readouterr().err


def test_no_account_id_anywhere_asks_for_it(tmp_path, capsys) -> None:
    plan = write(tmp_path, {"format_version": "1.2", "resource_changes": []})
    assert main(["scan", "--terraform-plan", plan]) == 3
    assert "--account-id" in capsys.readouterr().err
    assert main(["scan", "--terraform-plan", plan, "--account-id", "12"]) == 2
    assert main(["scan", "--terraform-plan", plan, "--account-id", "123456789012"]) == 0


def test_usage_errors(tmp_path, capsys) -> None:
    assert main(["scan", "--fail-on", "new", str(tmp_path)]) == 2
    assert "--fail-on new needs --terraform-plan" in capsys.readouterr().err
    assert main(["scan", "--terraform-plan", str(WHOLE), "--profile", "x"]) == 2
    assert main(["scan", "--terraform-plan", str(WHOLE), "--terraform-dir", str(tmp_path / "no")]) == 2


def test_fail_on_new_fails_on_introduced_only(capsys) -> None:
    assert main(["scan", "--terraform-plan", str(WHOLE), "--fail-on", "new"]) == 1
    out = capsys.readouterr().out
    assert out.index("Introduced by this change (7)") < out.index("Administrators")
    assert "opened by aws_iam_user_policy.ci_deployer" in out


def test_json_report_has_the_change_and_matches_the_schema(capsys) -> None:
    assert main(["scan", "--terraform-plan", str(WHOLE), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    schema = json.loads((ROOT / "schemas/report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert doc["change"]["introduced"] == sorted(
        [
            f"{ACCT}:role/ci-deployer-role",
            f"{ACCT}:user/alice",
            f"{ACCT}:user/builder",
            f"{ACCT}:user/ci/ci-deployer",
            f"{ACCT}:user/dev",
            f"{ACCT}:user/shell",
            f"{ACCT}:user/updater",
        ]
    )
    assert doc["change"]["resolved"] == []
    first = doc["findings"][0]
    assert first["introduced"] is True and first["terraform_addresses"]


def test_sarif_names_the_address_and_the_tf_line(tmp_path, capsys) -> None:
    tf = tmp_path / "infra"
    (tf / "modules" / "ci").mkdir(parents=True)
    (tf / "main.tf").write_text(
        'provider "aws" {}\n\nresource "aws_iam_user_policy" "ci_deployer" {\n  user = "x"\n}\n'
    )
    (tf / "modules" / "ci" / "main.tf").write_text('\n\nresource "aws_iam_role" "deployer" {\n}\n')
    assert (
        main(["scan", "--terraform-plan", str(WHOLE), "--format", "sarif", "--terraform-dir", str(tf)]) == 1
    )
    doc = json.loads(capsys.readouterr().out)
    schema = json.loads((ROOT / "tests/assets/sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(doc)
    results = doc["runs"][0]["results"]
    ci = next(
        r for r in results if r["locations"][0]["logicalLocations"][0]["name"].endswith("user/ci/ci-deployer")
    )
    names = [loc["fullyQualifiedName"] for loc in ci["locations"][0]["logicalLocations"]]
    assert "aws_iam_user_policy.ci_deployer" in names
    phys = ci["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"]["uri"].endswith("infra/main.tf") and phys["region"]["startLine"] == 3
    role = next(
        r for r in results if r["locations"][0]["logicalLocations"][0]["name"].endswith("ci-deployer-role")
    )
    phys = role["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"]["uri"].endswith("modules/ci/main.tf") and phys["region"]["startLine"] == 3
    assert ci["properties"]["introduced"] is True


def test_html_leads_with_the_change(capsys) -> None:
    assert main(["scan", "--terraform-plan", str(WHOLE), "--format", "html"]) == 1
    html = capsys.readouterr().out
    assert html.index('id="change"') < html.index("<h2>Summary</h2>")
    assert "aws_iam_user_policy.ci_deployer" in html
