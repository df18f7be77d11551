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


def test_demo_text_exit_1(capsys) -> None:
    code, out = demo(capsys)
    assert code == 1
    assert f"{DEMO}:user/userA" in out and f"{DEMO}:role/roleB" in out
    assert "userE" not in out.split("Principals at risk")[1]


def test_demo_sarif_validates(capsys) -> None:
    code, out = demo(capsys, "--format", "sarif")
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
    assert code == 1
    assert "roleB" in out and "sts-001" in out
