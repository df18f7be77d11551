"""The gate: --fail-on modes, suppression files (YAML and JSON), expiry."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from report_fixtures import ALICE, CAROL, DAVE, DEPLOYER, EVIL, empty_report, sample_report

from deescalate.errors import UsageError
from deescalate.report.gate import FailOn, Suppression, evaluate, load_suppressions

TODAY = dt.date(2026, 11, 28)


def _failing(fail_on: FailOn) -> set[str]:
    return {f.principal for f in evaluate(sample_report(), fail_on=fail_on, today=TODAY).failing}


def test_fail_on_modes() -> None:
    everyone = {ALICE, DEPLOYER, CAROL, DAVE, EVIL}
    assert _failing(FailOn.ANY) == everyone
    assert _failing(FailOn.CONDITIONAL) == everyone - {CAROL}  # conditional findings tolerated
    assert _failing(FailOn.NONE) == set()
    assert _failing(FailOn.CRITICAL) == {DEPLOYER, EVIL}
    assert _failing(FailOn.HIGH) == {DEPLOYER, EVIL, ALICE, CAROL}
    assert _failing(FailOn.MEDIUM) == everyone
    assert evaluate(sample_report(), fail_on=FailOn.NONE, today=TODAY).exit_code == 0
    assert evaluate(sample_report(), today=TODAY).exit_code == 1
    assert evaluate(empty_report(), today=TODAY).exit_code == 0


def test_suppression_covers_only_when_every_path_is_covered() -> None:
    only_sts = Suppression(principal=ALICE, technique="sts-001", reason="reviewed")
    g = evaluate(sample_report(), suppressions=[only_sts], today=TODAY)
    assert ALICE in {sf.finding.principal for sf in g.suppressed}  # both of alice's paths start with sts-001
    partial = Suppression(principal="arn:aws:iam::*:role/deploy*", technique="iam-005", reason="r")
    g = evaluate(sample_report(), suppressions=[partial], today=TODAY)
    assert DEPLOYER in {f.principal for f in g.active}  # lambda-001 / cloudformation-001 still open
    assert g.unused == (partial,)


def test_wildcards_and_star_technique() -> None:
    s = Suppression(principal="arn:aws:iam::111122223333:user/*", technique="*", reason="sandbox")
    g = evaluate(sample_report(), suppressions=[s], today=TODAY)
    assert {sf.finding.principal for sf in g.suppressed} == {ALICE, CAROL, DAVE, EVIL}
    assert [f.principal for f in g.active] == [DEPLOYER]
    assert g.exit_code == 1
    s2 = Suppression(principal="arn:aws:iam::*", technique="*", reason="everything")
    assert evaluate(sample_report(), suppressions=[s2], today=TODAY).exit_code == 0


def test_expired_suppression_is_reported_not_honoured() -> None:
    s = Suppression(principal=CAROL, technique="ec2-001", reason="temp", expires=dt.date(2026, 11, 27))
    g = evaluate(sample_report(), suppressions=[s], today=TODAY)
    assert CAROL in {f.principal for f in g.active}
    assert g.expired == (s,)
    assert any("expired" in w and CAROL in w for w in g.warnings())
    same_day = Suppression(principal=CAROL, technique="ec2-001", reason="temp", expires=TODAY)
    assert CAROL not in {f.principal for f in evaluate(sample_report(), suppressions=[same_day], today=TODAY).active}


def test_load_yaml_and_json(tmp_path: Path) -> None:
    y = tmp_path / "s.yaml"
    y.write_text(
        "version: 1\nsuppressions:\n"
        f"  - principal: '{CAROL}'\n    technique: ec2-001\n    reason: known\n    expires: 2027-01-31\n"
        "  - principal: 'arn:aws:iam::*:user/dave'\n    reason: all of dave\n"
    )
    got = load_suppressions(y)
    assert got[0].expires == dt.date(2027, 1, 31) and got[0].technique == "ec2-001"
    assert got[1].technique == "*"
    j = tmp_path / "s.json"
    j.write_text(json.dumps([{"principal": DAVE, "technique": "iam-012", "reason": "r", "expires": "2026-01-01"}]))
    assert load_suppressions(j)[0].expires == dt.date(2026, 1, 1)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("- principal: x\n", "reason"),
        ("- reason: r\n", "principal"),
        ("- principal: x\n  reason: r\n  expires: someday\n", "expires"),
        ("- principal: x\n  reason: r\n  colour: red\n", "unknown key"),
        ("version: 2\nsuppressions: []\n", "version"),
        ("[unclosed\n", "not valid YAML"),
    ],
)
def test_bad_files_are_usage_errors(tmp_path: Path, content: str, message: str) -> None:
    p = tmp_path / "s.yml"
    p.write_text(content)
    with pytest.raises(UsageError, match=message):
        load_suppressions(p)


def test_missing_file_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"nope\.yml: no such file or directory"):
        load_suppressions(tmp_path / "nope.yml")
