"""`deescalate explain`, run in-process: text, JSON, batch, and every exit code."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from deescalate.cli import main

ACCT = "111111111111"
ALICE = f"arn:aws:iam::{ACCT}:user/alice"


def _details(tmp_path: Path, *, condition_operator: str = "IpAddress") -> Path:
    """A plain get-account-authorization-details file with one user and two inline policies."""
    doc = {
        "UserDetailList": [{
            "UserName": "alice", "UserId": "AIDAALICE", "Arn": ALICE, "Path": "/",
            "UserPolicyList": [
                {"PolicyName": "s3-read", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}},
                {"PolicyName": "office-only", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "ec2:*", "Resource": "*",
                     "Condition": {condition_operator: {"aws:SourceIp": "203.0.113.0/24"}}}]}},
            ],
            "GroupList": [], "AttachedManagedPolicies": [], "Tags": [],
        }],
        "GroupDetailList": [], "RoleDetailList": [], "Policies": [],
    }
    path = tmp_path / "details.json"
    path.write_text(json.dumps(doc))
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["explain", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_allow_names_the_statement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(_details(tmp_path)), "--principal", ALICE, "--action", "S3:GetObject",
                        "--resource", "arn:aws:s3:::b/k")
    assert code == 0
    assert out.startswith("ALLOW:")
    assert "s3-read" in out and "(Read)" in out


def test_json_conditional_names_the_condition(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, str(_details(tmp_path)), "--principal", "alice", "--action",
                        "ec2:RunInstances", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["decision"] == "conditional"
    assert any("aws:SourceIp" in c for c in data["conditions"])
    assert data["statements"][0]["name"] == "office-only"


def test_context_resolves_the_condition(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = str(_details(tmp_path))
    code, out, _ = _run(capsys, snap, "--principal", ALICE, "--action", "ec2:RunInstances",
                        "--context", "aws:SourceIp=203.0.113.9", "--format", "json")
    assert code == 0 and json.loads(out)["decision"] == "allow"
    code, out, _ = _run(capsys, snap, "--principal", ALICE, "--action", "ec2:RunInstances",
                        "--context", "aws:SourceIp=198.51.100.1", "--format", "json")
    assert code == 0 and json.loads(out)["decision"] == "deny"


def test_demo_assume_role(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--demo", "--principal", "userA", "--action", "sts:AssumeRole",
                        "--resource", f"arn:aws:iam::{ACCT}:role/roleB", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["decision"] == "allow"
    assert {s["kind"] for s in data["statements"]} == {"inline", "trust"}


def test_batch_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    batch = tmp_path / "requests.jsonl"
    lines: list[dict[str, Any]] = [
        {"principal": ALICE, "action": "s3:GetObject", "resource": "arn:aws:s3:::b/k"},
        {"principal": ALICE, "action": "iam:PassRole"},
        {"principal": ALICE, "action": "ec2:RunInstances", "context": {"aws:SourceIp": "203.0.113.1"}},
    ]
    batch.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    code, out, _ = _run(capsys, str(_details(tmp_path)), "--batch", str(batch))
    assert code == 0
    results = [json.loads(x) for x in out.splitlines()]
    assert [r["decision"] for r in results] == ["allow", "deny", "allow"]
    assert [r["line"] for r in results] == [1, 2, 3]


def test_batch_stdin_bad_lines_continue(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    text = "{not json\n" + json.dumps({"principal": "nobody", "action": "s3:GetObject"}) + "\n" + \
        json.dumps({"principal": ALICE, "action": "s3:GetObject"}) + "\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    code, out, _ = _run(capsys, str(_details(tmp_path)), "--batch", "-")
    results = [json.loads(x) for x in out.splitlines()]
    assert code == 2
    assert "error" in results[0] and "not a user or role" in results[1]["error"]
    assert results[2]["decision"] == "allow"


def test_unknown_operator_names_policy_and_principal(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, str(_details(tmp_path, condition_operator="IpAddressMaybe")),
                        "--principal", ALICE, "--action", "ec2:RunInstances")
    assert code == 3
    assert "office-only" in err and ALICE in err and "IpAddressMaybe" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("argv", [
    ["--principal", ALICE],  # no action
    ["--action", "s3:GetObject"],  # no principal
    ["--principal", "nobody", "--action", "s3:GetObject"],  # unknown principal
    ["--principal", ALICE, "--action", "s3:GetObject", "--context", "novalue"],
    ["--principal", ALICE, "--action", "s3:GetObject", "--demo"],  # SNAPSHOT and --demo
    ["--batch", "/nonexistent/requests.jsonl"],
    ["--batch", "-", "--principal", ALICE],
])
def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = _run(capsys, str(_details(tmp_path)), *argv)
    assert code == 2, err
    assert out == "" and err.startswith("deescalate:")


def test_no_snapshot_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "--principal", ALICE, "--action", "s3:GetObject")
    assert code == 2 and "SNAPSHOT" in err


def test_missing_snapshot_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, str(tmp_path / "absent"), "--principal", ALICE, "--action", "s3:GetObject")
    assert code == 2 and "absent: no such file or directory" in err


def test_session_policy_limits_a_role_session(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    session = tmp_path / "session.json"
    session.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    role = f"arn:aws:iam::{ACCT}:role/roleD"  # AdministratorAccess in the demo
    code, out, _ = _run(capsys, "--demo", "--principal", role, "--action", "iam:CreateUser",
                        "--session-policy", str(session), "--format", "json")
    assert code == 0 and json.loads(out)["reason"] == "session policy"
    code, out, _ = _run(capsys, "--demo", "--principal", role, "--action", "s3:GetObject",
                        "--session-policy", str(session), "--format", "json")
    assert code == 0 and json.loads(out)["decision"] == "allow"
    bad = tmp_path / "bad.json"
    bad.write_text('{"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}')
    code, _, err = _run(capsys, "--demo", "--principal", role, "--action", "s3:GetObject",
                        "--session-policy", str(bad))
    assert code == 2 and "Effect" in err
    code, _, err = _run(capsys, "--demo", "--principal", "userA", "--action", "s3:GetObject",
                        "--session-policy", str(session))
    assert code == 2 and "role" in err


def _details_file(path: Path, users: list[dict[str, Any]], roles: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"UserDetailList": users, "GroupDetailList": [], "RoleDetailList": roles,
                                "Policies": []}))
    return path


def test_two_snapshots_cross_account_assume_role(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = "222222222222"
    target = f"arn:aws:iam::{other}:role/deploy"
    bob = f"arn:aws:iam::{ACCT}:user/bob"
    a = _details_file(tmp_path / "a.json", users=[
        {"UserName": "alice", "UserId": "AIDAALICE", "Arn": ALICE, "Path": "/", "GroupList": [],
         "AttachedManagedPolicies": [], "UserPolicyList": [{"PolicyName": "hop", "PolicyDocument": {
             "Version": "2012-10-17", "Statement": [
                 {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": target}]}}]},
        {"UserName": "bob", "UserId": "AIDABOB", "Arn": bob, "Path": "/", "GroupList": [],
         "AttachedManagedPolicies": [], "UserPolicyList": []},
    ], roles=[])
    b = _details_file(tmp_path / "b.json", users=[], roles=[
        {"RoleName": "deploy", "RoleId": "AROADEPLOY", "Arn": target, "Path": "/",
         "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
             {"Effect": "Allow", "Principal": {"AWS": ACCT}, "Action": "sts:AssumeRole"},
             {"Effect": "Allow", "Principal": {"AWS": bob}, "Action": "sts:AssumeRole"}]},
         "RolePolicyList": [], "AttachedManagedPolicies": [], "InstanceProfileList": [], "Tags": []},
    ])

    def ask(who: str) -> dict[str, Any]:
        code, out, err = _run(capsys, str(a), str(b), "--principal", who, "--action", "sts:AssumeRole",
                              "--resource", target, "--format", "json")
        assert code == 0, err
        return json.loads(out)  # type: ignore[no-any-return]

    assert ask(ALICE)["decision"] == "allow"  # identity allow + trust naming her account
    bob_answer = ask(bob)  # trust names bob, but cross-account also needs his identity policy
    assert bob_answer["decision"] == "deny" and bob_answer["reason"] == "no allow"


# ---------------------------------------------------------------- --complete-context (issue 11)


def test_complete_context_answers_allow_or_deny(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    snap = str(_details(tmp_path))
    # Without the flag: conditional on aws:SourceIp. With it: the key is absent, so IpAddress fails.
    code, out, _ = _run(capsys, snap, "--principal", ALICE, "--action", "ec2:RunInstances",
                        "--complete-context", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["decision"] == "deny" and data["complete_context"] is True
    code, out, _ = _run(capsys, snap, "--principal", ALICE, "--action", "ec2:RunInstances",
                        "--complete-context", "--context", "aws:SourceIp=203.0.113.9")
    assert code == 0 and out.startswith("ALLOW:")


def test_complete_context_in_batch_flag_and_per_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    batch = tmp_path / "requests.jsonl"
    lines: list[dict[str, Any]] = [
        {"principal": ALICE, "action": "ec2:RunInstances"},
        {"principal": ALICE, "action": "ec2:RunInstances", "complete_context": True},
        {"principal": ALICE, "action": "ec2:RunInstances", "complete_context": False},
        {"principal": ALICE, "action": "ec2:RunInstances", "complete_context": "yes"},
    ]
    batch.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    code, out, _ = _run(capsys, str(_details(tmp_path)), "--batch", str(batch))
    results = [json.loads(x) for x in out.splitlines()]
    assert [r.get("decision") for r in results] == ["conditional", "deny", "conditional", None]
    assert "complete_context" in results[3]["error"] and code == 2
    code, out, _ = _run(capsys, str(_details(tmp_path)), "--batch", str(batch), "--complete-context")
    results = [json.loads(x) for x in out.splitlines()]
    assert [r.get("decision") for r in results] == ["deny", "deny", "conditional", None]


@pytest.mark.parametrize(("action", "suggestion"), [
    ("iam:PassRol", "iam:PassRole"),
    ("s3:GetObjekt", "s3:GetObject"),
    ("PassRole", "iam:PassRole"),
])
def test_unknown_action_is_a_usage_error_naming_the_closest(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], action: str, suggestion: str) -> None:
    code, out, err = _run(capsys, str(_details(tmp_path)), "--principal", ALICE, "--action", action)
    assert code == 2 and out == ""
    assert action in err and suggestion in err and len(err.strip().splitlines()) == 1


def test_unknown_action_in_batch_is_a_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    batch = tmp_path / "requests.jsonl"
    batch.write_text(json.dumps({"principal": ALICE, "action": "iam:PassRol"}) + "\n"
                     + json.dumps({"principal": ALICE, "action": "s3:GetObject"}) + "\n")
    code, out, _ = _run(capsys, str(_details(tmp_path)), "--batch", str(batch))
    results = [json.loads(x) for x in out.splitlines()]
    assert code == 2 and "iam:PassRole" in results[0]["error"] and results[1]["decision"] == "allow"
