"""`scan` / `demo` through `main([...])`: exit codes, outputs, suppressions (expired too).

The analysis is replaced by a hand-built report here, so these tests pin the CLI's own behaviour
(the gate, the files written, the messages); the demo's real findings are tested in
test_demo_report.py.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import jsonschema
import pytest
from report_fixtures import CAROL, DEPLOYER, EVIL, empty_report, sample_report

from deescalate.cli import main
from deescalate.commands import report_output
from deescalate.snapshot import demo_path

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def fixed_report(monkeypatch: pytest.MonkeyPatch):
    holder = {"report": sample_report()}
    monkeypatch.setattr(report_output, "analyze_snapshot", lambda snapshot, args: holder["report"])
    return holder


def scan(*extra: str) -> int:
    return main(["scan", str(demo_path()), *extra])


def test_findings_exit_1_and_none_exit_0(fixed_report, capsys) -> None:
    assert scan() == 1
    out = capsys.readouterr().out
    assert "Principals at risk (5)" in out and "Gate --fail-on any: FAIL" in out
    assert scan("--fail-on", "none") == 0


def test_clean_report_exits_0(fixed_report, capsys) -> None:
    fixed_report["report"] = empty_report()
    assert scan() == 0
    assert "none: no principal can escalate" in capsys.readouterr().out


def test_fail_on_severity(fixed_report, tmp_path, capsys) -> None:
    sup = tmp_path / "s.yml"
    sup.write_text(
        f"- principal: '{DEPLOYER}'\n  technique: '*'\n  reason: break-glass deployer, ticket SEC-1\n"
        f"- principal: 'arn:aws:iam::111122223333:user/<script>*'\n  technique: iam-007\n  reason: honeypot\n"
    )
    assert scan("--fail-on", "critical") == 1
    assert scan("--fail-on", "critical", "--suppressions", str(sup)) == 0
    out = capsys.readouterr().out
    assert "Suppressed (2)" in out and "break-glass deployer, ticket SEC-1" in out
    assert scan("--fail-on", "high", "--suppressions", str(sup)) == 1  # alice and carol remain high


def test_conditional_mode_tolerates_conditional_findings(fixed_report) -> None:
    only_carol = sample_report()
    from dataclasses import replace

    fixed_report["report"] = replace(only_carol, findings=tuple(f for f in only_carol.findings if f.principal == CAROL))
    assert scan("--fail-on", "any") == 1
    assert scan("--fail-on", "conditional") == 0


def test_expired_suppression_is_a_warning_and_not_honoured(fixed_report, tmp_path, capsys) -> None:
    sup = tmp_path / "s.json"
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    sup.write_text(json.dumps({"version": 1, "suppressions": [
        {"principal": "arn:aws:iam::*", "technique": "*", "reason": "migration window", "expires": yesterday},
    ]}))
    out_json = tmp_path / "r.json"
    assert scan("--suppressions", str(sup), "--format", "json", "-o", str(out_json)) == 1
    err = capsys.readouterr().err
    assert "warning: expired suppression not honoured" in err and "migration window" in err
    doc = json.loads(out_json.read_text())
    assert doc["suppressed"] == [] and len(doc["findings"]) == 5
    assert any("expired" in w for w in doc["warnings"])
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    sup.write_text(json.dumps([{"principal": "arn:aws:iam::*", "technique": "*", "reason": "window",
                                "expires": tomorrow}]))
    assert scan("--suppressions", str(sup)) == 0


def test_several_outputs_in_one_run(fixed_report, tmp_path, capsys) -> None:
    files = {fmt: tmp_path / f"r.{fmt}" for fmt in ("json", "sarif", "html", "mermaid", "dot")}
    args = [a for fmt, f in files.items() for a in ("--output", f"{fmt}={f}")]
    assert scan(*args) == 1
    assert "Principals at risk" in capsys.readouterr().out  # text still on stdout
    sarif_schema = json.loads((ROOT / "tests/assets/sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(sarif_schema).validate(json.loads(files["sarif"].read_text()))
    report_schema = json.loads((ROOT / "schemas/report.schema.json").read_text())
    jsonschema.Draft202012Validator(report_schema).validate(json.loads(files["json"].read_text()))
    assert files["html"].read_text().startswith("<!DOCTYPE html>")
    assert files["mermaid"].read_text().startswith("flowchart LR")
    assert files["dot"].read_text().startswith("digraph")
    assert EVIL in files["json"].read_text()


def test_color_only_when_forced_or_on_a_tty(fixed_report, capsys) -> None:
    scan()
    assert "\x1b[" not in capsys.readouterr().out  # capsys is not a terminal
    scan("--color", "always")
    assert "\x1b[1;31m" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["scan"],
        ["scan", "x", "--output", "sarif"],
        ["scan", "x", "--output", "pdf=out.pdf"],
        ["scan", "x", "--fail-on", "sometimes"],
        ["scan", "x", "--endpoint-url", "http://127.0.0.1:1"],
        ["demo", "--format", "xml"],
    ],
)
def test_usage_errors_exit_2(argv, capsys) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err


def test_bad_suppression_file_exits_2(fixed_report, tmp_path, capsys) -> None:
    sup = tmp_path / "s.yml"
    sup.write_text("- principal: '*'\n  technique: iam-001\n")  # no reason
    assert scan("--suppressions", str(sup)) == 2
    assert "'reason' is required" in capsys.readouterr().err


def test_missing_snapshot_is_a_usage_error_2(tmp_path, capsys) -> None:
    # like any missing input (plan, suppressions, journal): the command line names nothing there
    assert main(["scan", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "nowhere" in err and "Traceback" not in err


def test_unwritable_output_is_a_runtime_error_3(fixed_report, tmp_path, capsys) -> None:
    assert scan("-o", str(tmp_path / "no" / "such" / "dir" / "r.txt")) == 3
    assert "cannot write" in capsys.readouterr().err


def test_color_auto_follows_the_terminal_and_no_color(fixed_report, capsys, monkeypatch) -> None:
    import sys

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    scan()
    assert "\x1b[1;31m" in capsys.readouterr().out
    monkeypatch.setenv("NO_COLOR", "1")
    scan()
    assert "\x1b[" not in capsys.readouterr().out
