"""Access-advisor data in the plan: never-used permissions are denied first, recent use warns or fails."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from access_advisor import as_json, report, service

from deescalate.cli import main
from deescalate.snapshot import demo_path, load_snapshot

ACCT = "111111111111"
ROLE_B = f"arn:aws:iam::{ACCT}:role/roleB"


def demo_with_usage(tmp_path: Path, services: list[dict]) -> Path:
    snap = tmp_path / "snap"
    shutil.copytree(demo_path(), snap)
    (snap / "iam" / "get-service-last-accessed-details.json").write_text(
        json.dumps({ROLE_B: as_json(report(services))}))
    return snap


def plan_of(snap: Path, tmp_path: Path, *extra: str) -> tuple[int, dict]:
    out = tmp_path / "plan.json"
    code = main(["plan", str(snap), "-o", str(out), *extra])
    return code, json.loads(out.read_text())


def denies(plan: dict) -> list[tuple[str, str]]:
    return sorted((d["action"], d["resource"]) for p in plan["principals"] for d in p["denies"])


def test_without_usage_the_hand_off_is_denied(tmp_path: Path) -> None:
    code, plan = plan_of(demo_path(), tmp_path)
    assert code == 0
    assert ("iam:PassRole", f"arn:aws:iam::{ACCT}:role/roleD") in denies(plan)
    assert all(d["usage"] == "usage unknown" for p in plan["principals"] for d in p["denies"])


def test_a_never_used_workload_action_is_denied_before_a_hand_off_in_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # roleB passes roles every few days but has never launched an instance in the tracking period.
    snap = demo_with_usage(tmp_path, [
        service("iam", "AWS Identity and Access Management", 2, ROLE_B,
                {"PassRole": 2, "CreateAccessKey": None, "UpdateLoginProfile": None}),
        service("ec2", "Amazon EC2", None, ROLE_B, {"RunInstances": None}),
    ])
    assert load_snapshot(snap).last_accessed[ROLE_B].services["ec2"].last_used is None
    code, plan = plan_of(snap, tmp_path)
    assert code == 0 and plan["verified"]
    chosen = denies(plan)
    assert ("ec2:RunInstances", f"arn:aws:ec2:*:{ACCT}:instance/*") in chosen
    assert not any(a == "iam:PassRole" for a, _ in chosen)
    run = next(d for p in plan["principals"] for d in p["denies"] if d["action"] == "ec2:RunInstances")
    assert run["usage"] == "last used: never (tracked since 2022-11-27)"
    assert "last used: never" in capsys.readouterr().out


def test_recent_use_warns_and_fail_on_impact_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # CreateAccessKey on userC is the only way to cut iam-002: it must be denied even though roleB used
    # it 5 days ago; the plan warns, and --fail-on-impact 7 turns that into exit 1.
    snap = demo_with_usage(tmp_path, [
        service("iam", "AWS Identity and Access Management", 5, ROLE_B,
                {"PassRole": None, "CreateAccessKey": 5, "UpdateLoginProfile": None}),
    ])
    code, _ = plan_of(snap, tmp_path)
    assert code == 0
    err = capsys.readouterr().err
    assert "warning: d1 denies iam:CreateAccessKey to role/roleB, which it uses (last used: 5 day(s) ago" in err
    code, _ = plan_of(snap, tmp_path, "--fail-on-impact", "7")
    assert code == 1
    assert "impact: d1 denies iam:CreateAccessKey" in capsys.readouterr().err
    code, _ = plan_of(snap, tmp_path, "--fail-on-impact", "3")
    assert code == 0


def test_a_malformed_usage_file_is_one_line_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = tmp_path / "snap"
    shutil.copytree(demo_path(), snap)
    (snap / "iam" / "get-service-last-accessed-details.json").write_text(
        json.dumps({ROLE_B: {"JobStatus": "COMPLETED", "ServicesLastAccessed": [{"ServiceNamespace": 7}]}}))
    assert main(["plan", str(snap)]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "get-service-last-accessed-details.json" in err


# ------------------------------------------------- the two cases of the issue, through the real analysis


def test_passrole_workers_keep_their_work_through_the_real_analysis() -> None:
    from builders import Account, allow, doc, role_arn, trust_service

    from deescalate.analysis.analyze import analyze
    from deescalate.remediate.plan import build_plan, default_analyze

    acct = Account()
    admins = [acct.admin_role(f"admin-{i}", trust_service("ec2.amazonaws.com", "lambda.amazonaws.com"),
                              profile=True) for i in range(5)]
    launcher = acct.user("launcher", doc(allow(["iam:PassRole", "ec2:RunInstances"])))
    builder = acct.user("builder", doc(allow(["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"])))
    snap = acct.build()
    plan = build_plan(snap, analyze(snap), default_analyze())
    assert plan.verified
    by_user = {p.principal: {(d.action, d.resource) for d in p.denies} for p in plan.principals}
    assert by_user[launcher] == {("iam:PassRole", a) for a in admins}
    assert by_user[builder] == {("iam:PassRole", a) for a in admins}
    assert all(d.disruption == 0 for p in plan.principals for d in p.denies)
    assert admins[0] == role_arn("admin-0")
