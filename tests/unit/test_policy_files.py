"""policies/*.json are valid IAM policies, and apply-write.json covers every IAM call apply/revert make.

The collector's read-only policy is checked against the calls actually made in
tests/e2e/test_collect.py; apply and revert's calls are read from their source here: every string
that is an IAM or STS operation name (with `{K}`/`{kind}` templates filled with the entity kinds the module names).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import botocore.session
import pytest

from deescalate.model import PolicyKind, PolicyRef
from deescalate.policy.parse import parse_policy

REPO = Path(__file__).resolve().parents[2]


def _actions(name: str) -> set[str]:
    doc = json.loads((REPO / "policies" / name).read_text())
    return {a for st in doc["Statement"] for a in st["Action"]}


@pytest.mark.parametrize("name", ["collector-readonly.json", "apply-write.json"])
def test_policy_files_are_valid_and_allow_only(name: str) -> None:
    text = (REPO / "policies" / name).read_text()
    pol = parse_policy(text, PolicyRef(kind=PolicyKind.MANAGED, name=name))
    assert pol.statements and all(s.effect.value == "Allow" for s in pol.statements)


def test_apply_write_covers_every_call_of_apply_and_revert() -> None:
    session = botocore.session.get_session()
    operations = {
        f"{svc}:{op}" for svc in ("iam", "sts") for op in session.get_service_model(svc).operation_names
    }
    used: set[str] = set()
    for module in ("apply.py", "revert.py", "aws.py", "journal.py"):
        source = (REPO / "src" / "deescalate" / "remediate" / module).read_text()
        # A template is filled with the kinds it stands for: f"Put{K}Policy" with a user's or role's
        # (apply writes to nothing else), f"Delete{kind}Policy" also with a group's (revert --all).
        for literal in re.findall(r'"([A-Z][A-Za-z{}.]+)"', source):
            for kind in ("User", "Role", "Group") if "{kind}" in literal else ("User", "Role"):
                name = re.sub(r"\{[A-Za-z_.]+\}", kind, literal)
                used |= {f"{svc}:{name}" for svc in ("iam", "sts")} & operations
    assert "iam:PutUserPolicy" in used and "sts:GetCallerIdentity" in used  # the scan sees the calls
    assert used - _actions("apply-write.json") == set()
    assert all(
        not a.split(":")[1].startswith(("Put", "Delete", "Create", "Attach", "Detach", "Set"))
        for a in _actions("collector-readonly.json")
    )
