"""The demo account through the real analysis, in every format (no mocks)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from deescalate.cli import main

ROOT = Path(__file__).resolve().parents[3]
DEMO = "arn:aws:iam::111111111111"


def demo(capsys, *args: str) -> tuple[int, str]:
    code = main(["demo", *args])
    return code, capsys.readouterr().out


def test_demo_text_exits_0_by_default_and_1_when_gated(capsys) -> None:
    code, out = demo(capsys)
    assert code == 0
    assert demo(capsys, "--fail-on", "any")[0] == 1
    assert f"{DEMO}:user/userA" in out and f"{DEMO}:role/roleB" in out
    assert "userE" not in out.split("Principals at risk")[1]


def test_demo_sarif_validates(capsys) -> None:
    code, out = demo(capsys, "--format", "sarif", "--fail-on", "any")
    assert code == 1
    doc = json.loads(out)
    schema = json.loads((ROOT / "tests/assets/sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(doc)
    located = {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] for r in doc["runs"][0]["results"]}
    assert located == {f"{DEMO}:user/userA", f"{DEMO}:role/roleB"}


def test_demo_json_with_plan_validates(capsys) -> None:
    code, out = demo(capsys, "--format", "json", "--with-plan", "--fail-on", "none")
    assert code == 0
    doc = json.loads(out)
    schema = json.loads((ROOT / "schemas/report.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(doc)
    assert {f["principal"] for f in doc["findings"]} == {f"{DEMO}:user/userA", f"{DEMO}:role/roleB"}
    assert doc["plan"] and doc["plan"]["principals"]


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "html"])
def test_demo_diagrams(capsys, fmt: str) -> None:
    code, out = demo(capsys, "--format", fmt)
    assert code == 0
    assert "roleB" in out and "sts-001" in out


def test_scan_of_two_snapshots_reports_both_accounts(tmp_path: Path, capsys) -> None:
    from deescalate.snapshot import demo_path

    other = "222222222222"
    bob = f"arn:aws:iam::{other}:user/bob"
    raw = {
        "UserDetailList": [{
            "UserName": "bob", "UserId": "AIDABOB", "Arn": bob, "Path": "/", "GroupList": [],
            "AttachedManagedPolicies": [],
            "UserPolicyList": [{"PolicyName": "self", "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iam:PutUserPolicy", "Resource": bob}]}}],
        }],
        "GroupDetailList": [], "RoleDetailList": [], "Policies": [],
    }
    f = tmp_path / "details.json"
    f.write_text(json.dumps(raw))
    assert main(["scan", str(demo_path()), str(f), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    found = {x["principal"]: x for x in doc["findings"]}
    assert {f"{DEMO}:user/userA", f"{DEMO}:role/roleB", bob} <= set(found)
    assert found[bob]["severity"] == "critical" and found[bob]["paths"][0][0]["target"] == "admin"
