"""`deescalate plan` and `plan --check` in-process, on the packaged demo account (real analysis)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deescalate.analysis.analyze import analyze
from deescalate.cli import main
from deescalate.remediate.plan import build_plan, default_analyze, is_cut
from deescalate.snapshot import load_demo


def test_demo_plan_is_minimal_verified_and_cuts_every_edge() -> None:
    snap = load_demo()
    report = analyze(snap)
    assert report.findings
    plan = build_plan(snap, report, default_analyze())
    assert plan.verified and plan.remaining == ()
    for pp in plan.principals:
        edges = next(f.edges for f in report.findings if f.principal == pp.principal)
        chosen = [(d.action, d.resource) for d in pp.denies]
        assert all(is_cut(e, chosen) for e in edges)
        # no deny is redundant: dropping any one leaves an edge open
        for i in range(len(chosen)):
            assert not all(is_cut(e, chosen[:i] + chosen[i + 1:]) for e in edges)
    # the demo's at-risk principals are clean on re-analysis
    from deescalate.remediate.verify import apply_to_snapshot

    again = analyze(apply_to_snapshot(snap, plan))
    assert again.findings == ()


def test_plan_edit_check_round(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan.json"
    assert main(["plan", "--demo", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Verified" in text and f"Wrote {out}" in text
    raw = json.loads(out.read_text())
    assert raw["schema_version"] == 1
    assert main(["plan", "--check", str(out), "--demo"]) == 0
    capsys.readouterr()
    # switch off the first deny: the check names the edge and the paths reopened
    deny = raw["principals"][0]["denies"][0]
    deny["apply"] = False
    out.write_text(json.dumps(raw))
    assert main(["plan", "--check", str(out), "--demo"]) == 1
    text = capsys.readouterr().out
    assert "NOT verified: 1 escalation edge(s)" in text
    assert deny["techniques"][0] in text and f"({deny['id']})" in text
    # a typo is an error, not silently ignored
    deny["aply"] = True
    out.write_text(json.dumps(raw))
    assert main(["plan", "--check", str(out), "--demo"]) == 2
    assert "unknown key(s) ['aply']" in capsys.readouterr().err


def test_plan_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan"]) == 2
    assert main(["plan", "--check", str(tmp_path / "missing.json"), "--demo"]) == 2
    assert "missing.json: no such file or directory" in capsys.readouterr().err


def test_plan_to_stdout_and_principal_filter(capsys: pytest.CaptureFixture[str]) -> None:
    snap = load_demo()
    report = analyze(snap)
    planned = [p.principal for p in build_plan(snap, report, default_analyze()).principals]
    assert main(["plan", "--demo", "--principal", planned[0]]) == 0
    raw = json.loads(capsys.readouterr().out)
    assert [p["principal"] for p in raw["principals"]] == [planned[0]]


def test_planning_a_principal_at_risk_only_through_another_plans_the_other() -> None:
    snap = load_demo()
    report = analyze(snap)
    covered = [f.principal for f in report.findings if not f.edges]
    assert covered, "the demo has a principal at risk only through another (userA via roleB)"
    plan = build_plan(snap, report, default_analyze(), principals=covered[:1])
    assert plan.verified
    assert plan.principals and all(p.principal not in covered for p in plan.principals)
    from deescalate.remediate.verify import apply_to_snapshot

    assert covered[0] not in {f.principal for f in analyze(apply_to_snapshot(snap, plan)).findings}
