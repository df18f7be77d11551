"""Each renderer on hand-built reports: schemas, escaping, content that a user relies on."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from report_fixtures import (
    ADMIN_ROLE,
    ALICE,
    CAROL,
    DEPLOYER,
    EVIL_NAME,
    EVIL_TAG,
    empty_report,
    every_technique_report,
    sample_report,
)

from deescalate.analysis.techniques import all_techniques
from deescalate.report import FORMATS, render
from deescalate.report.diagram import dot_string, mermaid_text
from deescalate.report.gate import Suppression, evaluate
from deescalate.report.sarif import FINGERPRINT_KEY

ROOT = Path(__file__).resolve().parents[3]
SARIF_SCHEMA = json.loads((ROOT / "tests/assets/sarif-schema-2.1.0.json").read_text())
REPORT_SCHEMA = json.loads((ROOT / "schemas/report.schema.json").read_text())


def sarif_validate(doc: dict) -> None:
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(doc)


def report_validate(doc: dict) -> None:
    jsonschema.Draft202012Validator(REPORT_SCHEMA, format_checker=jsonschema.FormatChecker()).validate(doc)


# --------------------------------------------------------------------------- text


def test_text_lists_admins_paths_counts_and_stays_plain_without_color() -> None:
    out = render("text", sample_report())
    assert "\x1b[" not in out
    assert ADMIN_ROLE in out and "Principals at risk (5)" in out
    assert f"1. {ALICE} --sts-001--> {DEPLOYER}" in out
    assert f"2. {DEPLOYER} --iam-005--> admin (self-escalation)" in out
    assert re.search(r"sts-001\s+1\s", out)
    assert "ssm-001: EC2 inventory missing" in out
    assert "only if: aws:SourceIp" in out


def test_text_color_only_when_asked() -> None:
    assert "\x1b[1;31mCRITICAL\x1b[0m" in render("text", sample_report(), color=True)


def test_text_neutralises_control_characters() -> None:
    r = sample_report()
    from dataclasses import replace

    r = replace(r, notes=("evil\x1b[2Jnote",))
    out = render("text", r)
    assert "\x1b" not in out and "evil?[2Jnote" in out


# --------------------------------------------------------------------------- json


def test_json_validates_and_carries_the_issue_fields() -> None:
    doc = json.loads(render("json", sample_report()))
    report_validate(doc)
    assert doc["admins"] == [ADMIN_ROLE]
    alice = next(f for f in doc["findings"] if f["principal"] == ALICE)
    assert alice["paths"][0][0] == {"source": ALICE, "target": DEPLOYER, "technique": "sts-001", "via": None,
                                    "conditions": []}
    assert alice["paths"][0][1]["target"] == "admin"
    assert alice["severity"] == "high"
    assert doc["plan"] is None
    assert doc["summary"]["by_severity"] == {"critical": 2, "high": 2, "medium": 1, "low": 0}


def test_json_with_plan_gate_and_suppressions_validates() -> None:
    r = sample_report(with_plan=True)
    g = evaluate(r, suppressions=[
        Suppression(principal=CAROL, technique="ec2-001", reason="lab"),
        Suppression(principal=ALICE, technique="*", reason="old", expires=dt.date(2020, 1, 1)),
    ], today=dt.date(2026, 11, 28))
    doc = json.loads(render("json", r, gate=g))
    report_validate(doc)
    assert doc["plan"]["principals"][0]["denies"][0]["cuts"]
    assert doc["plan"]["principals"][0]["document"]["Statement"][0]["Effect"] == "Deny"
    assert [s["principal"] for s in doc["suppressed"]] == [CAROL]
    assert doc["suppressed"][0]["suppressed_by"][0]["reason"] == "lab"
    assert any("expired" in w for w in doc["warnings"])
    assert doc["gate"] == {"fail_on": "any", "failing": 4, "exit_code": 1}


def test_json_schema_rejects_a_broken_report() -> None:
    doc = json.loads(render("json", sample_report()))
    doc["findings"][0]["severity"] = "apocalyptic"
    with pytest.raises(jsonschema.ValidationError):
        report_validate(doc)


# --------------------------------------------------------------------------- sarif


@pytest.mark.parametrize("make", [sample_report, every_technique_report, empty_report])
def test_sarif_validates_against_the_official_schema(make) -> None:
    doc = json.loads(render("sarif", make()))
    sarif_validate(doc)


def test_sarif_rules_results_and_fingerprints() -> None:
    doc = json.loads(render("sarif", every_technique_report()))
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)) == len(all_techniques()) + 1  # every technique, plus the unknown one
    assert all(r["helpUri"].startswith("https://") and r["help"]["text"] for r in rules)
    # every technique of the fixture produced a result pointing at its rule
    assert {res["ruleId"] for res in run["results"]} == set(ids)
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].startswith("arn:aws:iam::")
    fps = [res["partialFingerprints"][FINGERPRINT_KEY] for res in run["results"]]
    assert len(set(fps)) == len(fps)


def test_sarif_fingerprint_is_stable_when_paths_change() -> None:
    from dataclasses import replace

    r1 = sample_report()
    alice = next(f for f in r1.findings if f.principal == ALICE)
    r2 = replace(r1, findings=tuple(replace(f, paths=f.paths[:1]) if f is alice else f for f in r1.findings),
                 source="elsewhere")

    def fps(r):
        return {(x["ruleId"], x["partialFingerprints"][FINGERPRINT_KEY])
                for x in json.loads(render("sarif", r))["runs"][0]["results"]}

    assert fps(r1) == fps(r2)


def test_sarif_marks_suppressed_results() -> None:
    r = sample_report()
    g = evaluate(r, suppressions=[Suppression(principal=CAROL, technique="*", reason="lab account")])
    doc = json.loads(render("sarif", r, gate=g))
    sarif_validate(doc)
    carol = [x for x in doc["runs"][0]["results"] if CAROL in x["message"]["text"]]
    assert carol and carol[0]["suppressions"][0]["justification"] == "lab account"


# --------------------------------------------------------------------------- html


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data):
        self.text.append(data)


def test_html_escapes_attacker_controlled_strings() -> None:
    page = render("html", sample_report(with_plan=True))
    p = _Collect()
    p.feed(page)
    assert "script" not in p.tags
    assert not any(name.startswith("on") for name, _ in p.attrs)
    text = "".join(p.text)
    assert EVIL_NAME in text  # shown, as text
    assert EVIL_TAG in text  # the via and the deny's why are text too
    assert "<b>markup</b>" in text
    assert "<script>" not in page


def test_html_has_graph_table_paths_and_plan() -> None:
    page = render("html", sample_report(with_plan=True))
    p = _Collect()
    p.feed(page)
    assert p.tags.count("svg") == 1
    text = "".join(p.text)
    for t in ("sts-001", "lambda-001", "cloudformation-001", "iam-005", "iam-007", "iam-012", "ec2-001"):
        assert t in text
    assert 'id="findings"' in page and 'id="paths"' in page and 'id="plan"' in page
    assert "iam:PassRole" in text and "one deny cuts both pass-role edges" in text
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "Content-Security-Policy" in page


def test_html_layout_is_deterministic_and_puts_admins_right() -> None:
    a = render("html", sample_report())
    b = render("html", sample_report())
    assert a == b
    xs = {m.group(2): float(m.group(1)) for m in re.finditer(r'<rect x="([\d.]+)"[^>]*>(?:<text[^>]*>)([^<]+)<', a)}
    assert xs["Admin"] > xs["deployer"] > xs["alice"]


# --------------------------------------------------------------------------- mermaid / dot


def test_mermaid_labels_are_safe() -> None:
    out = render("mermaid", sample_report())
    assert out.startswith("flowchart LR\n")
    for line in out.splitlines()[1:]:
        assert re.fullmatch(
            r'  (n\d+\["[^"<>]*"\]:::\w+|n\d+ (-->|-\.->)\|"[^"<>|]*"\| n\d+|classDef .*)', line
        ), line
    assert out.count("-->") + out.count("-.->") == len(sample_report().edges)
    assert "-.->" in out  # carol's conditional edge
    assert mermaid_text('a"b<c>') == "a#34;b#60;c#62;"


def test_dot_labels_are_quoted() -> None:
    out = render("dot", sample_report())
    assert out.startswith("digraph escalation {") and out.rstrip().endswith("}")
    assert dot_string('x"y\\z\nw') == '"x\\"y\\\\z\\nw"'
    # every quoted string is closed on its line: strip escapes, count quotes
    for line in out.splitlines():
        assert line.replace('\\\\', "").replace('\\"', "").count('"') % 2 == 0, line
    assert EVIL_NAME in out  # inside a quoted label, harmless to DOT


def test_all_formats_render_a_clean_report() -> None:
    for fmt in FORMATS:
        assert render(fmt, empty_report())
    assert "none: no principal can escalate" in render("text", empty_report())


def test_html_draws_at_most_the_most_severe_part_of_a_huge_graph() -> None:
    from report_fixtures import ACCT, e

    from deescalate.model import AdminVerdict, Finding, Report
    from deescalate.report.html_report import MAX_DRAWN_NODES

    admin = f"arn:aws:iam::{ACCT}:role/Admin"
    findings = []
    for i in range(600):
        u = f"arn:aws:iam::{ACCT}:user/u{i:03}"
        # every tenth user is one step from admin (critical); the rest go through a middle role (high)
        if i % 10 == 0:
            edge = e(u, admin, "iam-002")
            findings.append(Finding(principal=u, techniques=("iam-002",), paths=((edge,),), edges=(edge,)))
        else:
            mid = f"arn:aws:iam::{ACCT}:role/m{i:03}"
            a, b = e(u, mid, "sts-001"), e(mid, admin, "iam-005")
            findings.append(Finding(principal=u, techniques=("sts-001", "iam-005"), paths=((a, b),), edges=()))
    r = Report(account_id=ACCT, admins=(AdminVerdict(arn=admin, reason="*"),), findings=tuple(findings), edges=())
    page = render("html", r)
    drawn = page.count('<g class="node ')
    assert 2 <= drawn <= MAX_DRAWN_NODES + 1
    assert "most severe of 600 principals at risk" in page
    for i in range(0, 600, 10):  # every critical finding is in the drawing
        assert f"<title>arn:aws:iam::{ACCT}:user/u{i:03}</title>" in page
    assert page.count("<tr><td><span class=\"sev") == 600  # and the table lists them all
