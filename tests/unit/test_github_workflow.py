"""docs/github-actions.yml: valid against the published workflow schema, and its steps run on the demo.

The schema is SchemaStore's github-workflow.json (tests/assets/README.md says where the copy comes
from). The workflow's `deescalate` steps run as one bash script (GitHub's `bash -e` for `run:`),
with the demo account standing in for what `deescalate collect` would write.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import deescalate
from deescalate.snapshot import demo_path

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "docs/github-actions.yml"


class _GitHubLoader(yaml.SafeLoader):
    """YAML as GitHub reads a workflow: only true/false are booleans (`on:` stays a key)."""


_GitHubLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_GitHubLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _workflow() -> dict[str, Any]:
    data = yaml.load(WORKFLOW.read_text(encoding="utf-8"), Loader=_GitHubLoader)  # a SafeLoader
    assert isinstance(data, dict)
    return data


def _steps() -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = _workflow()["jobs"]["scan"]["steps"]
    return steps


def test_the_workflow_is_valid_against_the_published_schema() -> None:
    schema = json.loads((ROOT / "tests/assets/github-workflow.schema.json").read_text(encoding="utf-8"))
    assert schema["$id"] == "https://json.schemastore.org/github-workflow.json"
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(_workflow()), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    # and the schema does reject a broken workflow (the test can fail)
    broken = _workflow()
    broken["permissions"]["security-events"] = "admin"
    assert list(validator.iter_errors(broken))


def test_permissions_for_oidc_and_the_sarif_upload() -> None:
    perms = _workflow()["permissions"]
    assert perms == {"contents": "read", "id-token": "write", "security-events": "write", "actions": "read"}


def test_every_action_is_pinned_to_a_release_or_a_commit() -> None:
    uses = [s["uses"] for s in _steps() if "uses" in s]
    assert len(uses) == 5
    for ref in uses:
        _, _, version = ref.partition("@")
        assert re.fullmatch(r"v\d+\.\d+\.\d+|[0-9a-f]{40}", version), f"{ref}: not pinned to a release or commit"


def test_it_installs_iam_deescalate_at_this_version_tag() -> None:
    install = next(s for s in _steps() if s.get("name") == "Install deescalate")
    assert install["run"] == (
        f'pip install "iam-deescalate @ git+https://github.com/OWNER/deescalate@v{deescalate.__version__}"'
    )
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "OWNER is a placeholder" in text
    assert f'pip install "iam-deescalate=={deescalate.__version__}"' in text


def test_comments_name_the_collector_policy_the_readme_names() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "SecurityAudit" not in text
    assert "policies/collector-readonly.json" in text
    assert (ROOT / "policies/collector-readonly.json").is_file()
    assert "policies/collector-readonly.json" in (ROOT / "README.md").read_text(encoding="utf-8")


def _script(snapshot_source: Path) -> tuple[str, list[str]]:
    """The workflow's deescalate steps as one bash script; collect replaced by a copy of the demo."""
    lines: list[str] = []
    commands: list[str] = []
    for step in _steps():
        run = step.get("run", "").strip()
        if not run.startswith("deescalate "):
            continue
        words = shlex.split(run)
        commands.append(words[1])
        if words[1] == "collect":
            out = words[words.index("-o") + 1]
            lines.append(f"cp -r {shlex.quote(str(snapshot_source))} {shlex.quote(out)}")
        else:
            lines.append(run)
    return "\n".join(lines) + "\n", commands


def _run(tmp_path: Path, suppressions: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / ".deescalate").mkdir(exist_ok=True)
    (tmp_path / ".deescalate/suppressions.yml").write_text(suppressions, encoding="utf-8")
    script, commands = _script(demo_path())
    assert commands == ["collect", "scan"]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env, text=True,
                          capture_output=True, timeout=300, check=False)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash, as GitHub's runners have")
def test_the_steps_run_on_the_demo_and_fail_on_new_findings(tmp_path: Path) -> None:
    done = _run(tmp_path, "suppressions: []\n")
    assert done.returncode == 1, done.stderr  # the demo's findings are critical and high: the job fails
    for name in ("deescalate.sarif", "deescalate.html", "deescalate.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    sarif = json.loads((tmp_path / "deescalate.sarif").read_text(encoding="utf-8"))
    schema = json.loads((ROOT / "tests/assets/sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(sarif)
    assert sarif["runs"][0]["results"]
    report = json.loads((tmp_path / "deescalate.json").read_text(encoding="utf-8"))
    assert {f["severity"] for f in report["findings"]} == {"critical", "high"}


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash, as GitHub's runners have")
def test_the_steps_pass_once_the_findings_are_accepted_risks(tmp_path: Path) -> None:
    accepted = {"suppressions": [
        {"principal": "arn:aws:iam::111111111111:*", "technique": technique,
         "reason": "demo account, reviewed (TEST-1)", "expires": "2099-12-31"}
        for technique in ("ec2-001", "iam-002", "iam-006", "sts-001")
    ]}
    done = _run(tmp_path, yaml.safe_dump(accepted))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "deescalate.sarif").is_file()
