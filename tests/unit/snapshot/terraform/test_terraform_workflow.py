"""The terraform-plan job of docs/github-actions.yml: its `deescalate` step runs on plan fixtures.

`terraform plan` / `terraform show -json` are replaced by a copy of a hand-written plan; the step
itself runs as written, under `bash -e` as GitHub runs it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import deescalate

ROOT = Path(__file__).resolve().parents[4]
ASSETS = ROOT / "tests/assets/terraform"


def _job() -> dict[str, Any]:
    text = (ROOT / "docs/github-actions.yml").read_text(encoding="utf-8")
    job: dict[str, Any] = yaml.safe_load(text)["jobs"]["terraform-plan"]
    return job


def test_the_job_plans_shows_json_and_uploads_sarif() -> None:
    steps = _job()["steps"]
    plan = next(s for s in steps if s.get("name") == "Terraform plan")["run"]
    assert "terraform plan" in plan and "terraform show -json tfplan > plan.json" in plan
    setup = next(s for s in steps if s.get("uses", "").startswith("hashicorp/setup-terraform@"))
    assert setup["with"]["terraform_wrapper"] is False  # the wrapper would pollute the JSON
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert upload["with"]["sarif_file"] == "deescalate-plan.sarif"
    install = next(s for s in steps if s.get("name") == "Install deescalate")
    assert f"@v{deescalate.__version__}" in install["run"]


def _run(tmp_path: Path, plan: Path) -> subprocess.CompletedProcess[str]:
    step = next(s for s in _job()["steps"] if str(s.get("run", "")).startswith("deescalate "))
    shutil.copy(plan, tmp_path / "plan.json")
    (tmp_path / ".deescalate").mkdir(exist_ok=True)
    (tmp_path / ".deescalate/suppressions.yml").write_text("suppressions: []\n", encoding="utf-8")
    (tmp_path / "main.tf").write_text('resource "aws_iam_user_policy" "dev" {\n}\n', encoding="utf-8")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=tmp_path,
        env=env,
        text=True,
        capture_output=True,
        timeout=300,
        check=False,
    )


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash, as GitHub's runners have")
def test_the_step_fails_on_introduced_findings_with_sarif_at_the_tf_line(tmp_path: Path) -> None:
    done = _run(tmp_path, ASSETS / "change_plan.json")
    assert done.returncode == 1, done.stderr
    sarif = json.loads((tmp_path / "deescalate-plan.sarif").read_text(encoding="utf-8"))
    schema = json.loads((ROOT / "tests/assets/sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(sarif)
    located = [
        r["locations"][0]["physicalLocation"]
        for r in sarif["runs"][0]["results"]
        if r["properties"].get("introduced")
    ]
    assert {"artifactLocation": {"uri": "main.tf"}, "region": {"startLine": 1}} in located


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash, as GitHub's runners have")
def test_the_step_passes_when_the_change_introduces_nothing(tmp_path: Path) -> None:
    plan = json.loads((ASSETS / "change_plan.json").read_text())
    # Keep only the changes that resolve findings: legacy's policy deleted, ops's group policy replaced.
    plan["resource_changes"] = [
        rc
        for rc in plan["resource_changes"]
        if rc["address"] in ("aws_iam_user_policy.legacy", "aws_iam_group_policy.ops")
    ]
    path = tmp_path / "resolving.json"
    path.write_text(json.dumps(plan))
    done = _run(tmp_path, path)
    assert done.returncode == 0, done.stderr  # stable is still at risk, but not because of this change
    report = json.loads((tmp_path / "deescalate-plan.json").read_text(encoding="utf-8"))
    assert report["change"]["introduced"] == []
    assert len(report["change"]["resolved"]) == 2 and report["findings"]
