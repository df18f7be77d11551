"""Flags that agree across subcommands, each through `main([...])` (issue 16).

`scan --demo`; `plan` over several snapshots; `plan --principal` in explain's forms; `-o` never
writes over an input; a multi-account header; one exit code (2) for a missing input of any kind;
"empty file" for an empty one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deescalate.cli import main
from deescalate.snapshot import demo_path

A, B = "111111111111", "444444444444"
DEV = f"arn:aws:iam::{A}:user/dev"
OPS = f"arn:aws:iam::{B}:role/ops"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _details(users: list[dict[str, Any]], roles: list[dict[str, Any]]) -> dict[str, Any]:
    return {"UserDetailList": users, "GroupDetailList": [], "RoleDetailList": roles, "Policies": []}


def _user(account: str, name: str, *statements: dict[str, Any]) -> dict[str, Any]:
    return {"UserName": name, "UserId": f"AIDA{name.upper()}", "Path": "/",
            "Arn": f"arn:aws:iam::{account}:user/{name}", "CreateDate": "2024-01-01T00:00:00Z",
            "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": _doc(*statements)}] if statements else [],
            "GroupList": [], "AttachedManagedPolicies": []}


def _role(account: str, name: str, trusted: str, *statements: dict[str, Any]) -> dict[str, Any]:
    return {"RoleName": name, "RoleId": f"AROA{name.upper()}", "Path": "/",
            "Arn": f"arn:aws:iam::{account}:role/{name}", "CreateDate": "2024-01-01T00:00:00Z",
            "AssumeRolePolicyDocument": _doc({"Effect": "Allow", "Principal": {"AWS": trusted},
                                              "Action": "sts:AssumeRole"}),
            "RolePolicyList": [{"PolicyName": "p", "PolicyDocument": _doc(*statements)}],
            "AttachedManagedPolicies": [], "InstanceProfileList": []}


@pytest.fixture
def two_accounts(tmp_path: Path) -> tuple[Path, Path]:
    """dev (account A) may assume ops (account B), which is admin in B: a cross-account path."""
    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    a.write_text(json.dumps(_details(
        [_user(A, "dev", {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": OPS}),
         _user(A, "ops", {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})], [])))
    b.write_text(json.dumps(_details([], [
        _role(B, "ops", DEV, {"Effect": "Allow", "Action": "*", "Resource": "*"})])))
    return a, b


# --------------------------------------------------------------------------- scan --demo


def test_scan_demo_is_the_demo_report_with_scans_gate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    demo = capsys.readouterr().out
    assert main(["scan", "--demo"]) == 1  # scan's gate defaults to --fail-on any
    scan = capsys.readouterr().out
    assert scan.splitlines()[:-1] == demo.splitlines()[:-1]
    assert scan.splitlines()[-1].startswith("Gate --fail-on any: FAIL")
    assert main(["scan", "--demo", "--fail-on", "none"]) == 0
    assert capsys.readouterr().out == demo


def test_scan_demo_with_a_snapshot_or_collection_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--demo", str(demo_path())]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["scan", "--demo", "--endpoint-url", "http://127.0.0.1:1"]) == 2
    assert "not both" in capsys.readouterr().err


# --------------------------------------------------------------------------- several accounts


def test_scan_header_names_every_account(two_accounts: tuple[Path, Path],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    a, b = two_accounts
    assert main(["scan", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"deescalate scan of 2 accounts: {A}, {B} ({a}, {b})"
    assert f"{DEV} --sts-001--> {OPS}" in out
    assert main(["scan", str(a), str(b), "--format", "html"]) == 1
    assert f"<h1>Privilege escalation report: 2 accounts {A}, {B}</h1>" in capsys.readouterr().out


def test_plan_takes_several_snapshots_and_cuts_the_cross_account_path(
        two_accounts: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = two_accounts
    out = tmp_path / "plan.json"
    assert main(["plan", str(a), str(b), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].startswith(f"Plan for 2 accounts: {A}, {B} (snapshots {a}, {b}): 1 principal")
    assert "Verified" in text
    plan = json.loads(out.read_text())
    [pp] = plan["principals"]
    assert pp["principal"] == DEV
    assert [(d["action"], d["resource"]) for d in pp["denies"]] == [("sts:AssumeRole", OPS)]
    # with one account's snapshot only, the path is not there to plan
    assert main(["plan", str(a)]) == 0
    assert json.loads(capsys.readouterr().out)["principals"] == []
    # and --check takes the same snapshots
    assert main(["plan", "--check", str(out), str(a), str(b)]) == 0
    assert "Verified" in capsys.readouterr().out


# --------------------------------------------------------------------------- plan --principal


def test_plan_principal_takes_an_arn_or_a_unique_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--demo", "--principal", "userA"]) == 0
    by_name = json.loads(capsys.readouterr().out)
    assert main(["plan", "--demo", "--principal", f"arn:aws:iam::{A}:user/userA"]) == 0
    by_arn = json.loads(capsys.readouterr().out)
    assert by_name == by_arn
    # userA escalates only through roleB: planning userA fixes roleB
    assert [p["principal"] for p in by_name["principals"]] == [f"arn:aws:iam::{A}:role/roleB"]


def test_plan_principal_unknown_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan.json"
    assert main(["plan", "--demo", "--principal", "usera", "-o", str(out)]) == 2
    err = capsys.readouterr()
    assert "principal 'usera' is not a user or role in the snapshot demo" in err.err
    assert "Verified" not in err.out
    assert not out.exists()


def test_plan_principal_ambiguous_name_is_a_usage_error(two_accounts: tuple[Path, Path],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    a, b = two_accounts
    assert main(["plan", str(a), str(b), "--principal", "ops"]) == 2
    assert "is ambiguous" in capsys.readouterr().err


def test_plan_principal_without_a_finding_is_noted(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--demo", "--principal", "userE"]) == 0
    captured = capsys.readouterr()
    assert "userE has no finding in this snapshot" in captured.err
    assert json.loads(captured.out)["principals"] == []


# --------------------------------------------------------------------------- -o never over an input


def test_outputs_never_overwrite_an_input(two_accounts: tuple[Path, Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    a, b = two_accounts
    before = a.read_bytes()
    sup = tmp_path / "s.yml"
    sup.write_text("suppressions: []\n")
    cases = [
        ["scan", str(a), "-o", str(a)],
        ["scan", str(a), str(b), "--output", f"json={b}"],
        ["scan", str(a), "--suppressions", str(sup), "--output", f"sarif={sup}"],
        ["scan", str(a), "-o", str(tmp_path / "." / "a.json")],
        ["demo", "-o", str(demo_path() / "report.txt")],
        ["scan", "--demo", "--output", f"html={demo_path() / 'manifest.json'}"],
        ["plan", str(a), str(b), "-o", str(a)],
        ["plan", "--demo", "-o", str(demo_path() / "plan.json")],
        ["demo", "-o", str(tmp_path / "r.txt"), "--output", f"text={tmp_path / 'r.txt'}"],
    ]
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "refusing" in err or "the same file" in err, (argv, err)
    assert a.read_bytes() == before
    assert sup.read_text() == "suppressions: []\n"
    assert not (demo_path() / "report.txt").exists() and not (demo_path() / "plan.json").exists()


def test_snapshot_directory_is_an_input_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    snap = tmp_path / "snap"
    shutil.copytree(demo_path(), snap)
    assert main(["scan", str(snap), "-o", str(snap / "iam" / "get-account-authorization-details.json")]) == 2
    assert f"inside the snapshot directory {snap}" in capsys.readouterr().err
    assert main(["scan", str(snap), "-o", str(tmp_path / "report.txt"), "--fail-on", "none"]) == 0


# --------------------------------------------------------------------------- missing and empty inputs


def test_a_missing_input_of_any_kind_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nope = tmp_path / "nope.json"
    cases = [
        (["scan", str(nope)], f"snapshot {nope}: no such file or directory"),
        (["plan", str(nope)], f"snapshot {nope}: no such file or directory"),
        (["explain", str(nope), "--principal", "x", "--action", "s3:GetObject"],
         f"snapshot {nope}: no such file or directory"),
        (["plan", "--check", str(nope), "--demo"], f"plan {nope}: no such file or directory"),
        (["apply", str(nope)], f"plan {nope}: no such file or directory"),
        (["demo", "--suppressions", str(nope)], f"suppression file {nope}: no such file or directory"),
        (["revert", "--journal", str(nope)], f"journal {nope}: no such file or directory"),
        (["explain", "--demo", "--principal", "userA", "--action", "s3:GetObject",
          "--session-policy", str(nope)], f"session policy {nope}: no such file or directory"),
        (["explain", "--demo", "--batch", str(nope)], f"batch file {nope}: no such file or directory"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        assert capsys.readouterr().err.strip() == f"deescalate: {message}", argv


def test_an_empty_file_says_empty_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty_json = tmp_path / "empty.json"
    empty_json.write_text("")
    blank_yml = tmp_path / "blank.yml"
    blank_yml.write_text("\n  \n")
    cases = [
        (["scan", str(empty_json)], 3),  # a bad snapshot is a runtime error, as any malformed one
        (["plan", "--check", str(empty_json), "--demo"], 2),
        (["apply", str(empty_json)], 2),
        (["demo", "--suppressions", str(empty_json)], 2),
        (["demo", "--suppressions", str(blank_yml)], 2),
        (["explain", "--demo", "--principal", "userA", "--action", "s3:GetObject",
          "--session-policy", str(empty_json)], 2),
    ]
    for argv, code in cases:
        assert main(argv) == code, argv
        err = capsys.readouterr().err
        assert "empty file" in err and "Expecting value" not in err, (argv, err)
    snap = tmp_path / "snap"
    import shutil

    shutil.copytree(demo_path(), snap)
    (snap / "manifest.json").write_text("")
    assert main(["scan", str(snap)]) == 3
    assert capsys.readouterr().err.strip() == f"deescalate: {snap / 'manifest.json'}: empty file"
