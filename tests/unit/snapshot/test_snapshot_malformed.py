"""Malformed snapshots fail with one message naming the file and the place in it."""

from __future__ import annotations

import json
import re
import shutil
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from snapshot_samples import details

from deescalate.errors import (
    EXIT_RUNTIME,
    EXIT_USAGE,
    DeescalateError,
    MissingInputError,
    PolicyError,
    SnapshotError,
)
from deescalate.snapshot import demo_path, load_snapshot
from deescalate.snapshot import layout as L


def write(tmp_path: Path, data: Any, name: str = "gaad.json") -> Path:
    f = tmp_path / name
    f.write_text(data if isinstance(data, str) else json.dumps(data))
    return f


def error_of(path: Path) -> DeescalateError:
    with pytest.raises(DeescalateError) as info:
        load_snapshot(path)
    assert info.value.exit_code == EXIT_RUNTIME
    assert "Traceback" not in str(info.value)
    return info.value


def test_truncated_json_names_file_line_and_column(tmp_path: Path) -> None:
    text = json.dumps(details(), indent=1)
    f = write(tmp_path, text[: len(text) // 2])
    err = error_of(f)
    assert isinstance(err, SnapshotError)
    assert re.fullmatch(
        rf"{re.escape(str(f))}: not valid JSON: .+ \(line \d+, column \d+\); the file ends before its JSON does \(truncated\?\)",
        str(err),
    )


def test_not_json_at_all(tmp_path: Path) -> None:
    f = write(tmp_path, "hello")
    assert str(error_of(f)).startswith(f"{f}: not valid JSON: Expecting value (line 1, column 1)")


def test_json_that_is_not_a_snapshot(tmp_path: Path) -> None:
    f = write(tmp_path, {"Users": []})
    assert "neither a snapshot directory's manifest nor the output of" in str(error_of(f))


def test_list_of_wrong_type(tmp_path: Path) -> None:
    d = details()
    d["UserDetailList"] = {"UserName": "alice"}
    f = write(tmp_path, d)
    assert str(error_of(f)) == f"{f}: UserDetailList: expected a list, found an object"


def test_nested_list_of_wrong_type_names_the_user(tmp_path: Path) -> None:
    d = details()
    d["UserDetailList"][0]["UserPolicyList"] = "p1"
    f = write(tmp_path, d)
    assert (
        str(error_of(f))
        == f"{f}: UserDetailList[0].UserPolicyList (user alice): expected a list, found a string"
    )


def test_item_of_wrong_type(tmp_path: Path) -> None:
    d = details()
    d["RoleDetailList"].append(42)
    f = write(tmp_path, d)
    assert str(error_of(f)) == f"{f}: RoleDetailList[1]: expected an object, found a number"


def test_missing_field(tmp_path: Path) -> None:
    d = details()
    del d["Policies"][0]["DefaultVersionId"]
    f = write(tmp_path, d)
    assert (
        str(error_of(f)) == f"{f}: Policies[0].DefaultVersionId (policy Custom): missing (expected a string)"
    )


def test_policy_document_not_valid_json(tmp_path: Path) -> None:
    d = details()
    d["UserDetailList"][0]["UserPolicyList"][0]["PolicyDocument"] = '{"Version": "2012-10-17", "Statement": ['
    f = write(tmp_path, d)
    err = error_of(f)
    assert isinstance(err, PolicyError)
    assert str(err).startswith(
        f"{f}: UserDetailList[0].UserPolicyList[0].PolicyDocument (user alice, policy p1): "
        "the policy document is not valid JSON"
    )


def test_policy_document_invalid_grammar_names_version(tmp_path: Path) -> None:
    d = details()
    d["Policies"][0]["PolicyVersionList"][0]["Document"] = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Maybe", "Action": "*"}],
    }
    f = write(tmp_path, d)
    err = error_of(f)
    assert isinstance(err, PolicyError)
    assert str(err).startswith(
        f"{f}: Policies[0].PolicyVersionList[0].Document (policy Custom, version v1), statement 0: Effect must be"
    )


def test_url_encoded_policy_document_is_decoded(tmp_path: Path) -> None:
    d = details()
    inline = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": "arn:aws:iam::222222222222:role/r1"}
        ],
    }
    d["UserDetailList"][0]["UserPolicyList"][0]["PolicyDocument"] = urllib.parse.quote(json.dumps(inline))
    s = load_snapshot(write(tmp_path, d))
    (user,) = s.users.values()
    assert user.inline_policies[0].statements[0].actions == ("iam:PassRole",)
    assert user.inline_policies[0].document_json() == inline


def test_default_version_not_listed(tmp_path: Path) -> None:
    d = details()
    d["Policies"][0]["DefaultVersionId"] = "v9"
    f = write(tmp_path, d)
    assert str(error_of(f)) == (
        f"{f}: Policies[0].DefaultVersionId (policy Custom): default version 'v9' is not in PolicyVersionList"
    )


def test_missing_path(tmp_path: Path) -> None:
    # a path that is not there is a usage error (exit 2), as for every kind of input
    p = tmp_path / "nope"
    with pytest.raises(MissingInputError) as info:
        load_snapshot(p)
    assert info.value.exit_code == EXIT_USAGE
    assert str(info.value) == f"snapshot {p}: no such file or directory"


def test_empty_file(tmp_path: Path) -> None:
    assert str(error_of(write(tmp_path, " \n"))) == f"{tmp_path / 'gaad.json'}: empty file"


def _snapdir(tmp_path: Path) -> Path:
    d = tmp_path / "snap"
    shutil.copytree(demo_path(), d)
    return d


@pytest.mark.parametrize(
    ("version", "why"),
    [
        (2, "format version 2 is not one this deescalate reads (1)"),
        ("1", "expected a format version number, found '1'"),
        (None, "expected a format version number, found None"),
    ],
)
def test_unknown_format_version(tmp_path: Path, version: Any, why: str) -> None:
    d = _snapdir(tmp_path)
    man = json.loads((d / L.MANIFEST).read_text())
    man["format_version"] = version
    (d / L.MANIFEST).write_text(json.dumps(man))
    assert str(error_of(d)).startswith(f"{d}/manifest.json: format_version: {why}")


def test_truncated_file_inside_a_directory(tmp_path: Path) -> None:
    d = _snapdir(tmp_path)
    f = d / L.IAM_ACCESS_KEYS
    f.write_text(f.read_text()[:40])
    assert str(error_of(d)).startswith(f"{d}/{L.IAM_ACCESS_KEYS}: not valid JSON")


def test_wrong_type_in_a_regional_file(tmp_path: Path) -> None:
    d = _snapdir(tmp_path)
    f = d / L.regional("us-east-1", "ec2", "describe-instances")
    f.parent.mkdir(parents=True)
    f.write_text(
        json.dumps({"Reservations": [{"Instances": [{"InstanceId": "i-1", "IamInstanceProfile": []}]}]})
    )
    assert str(error_of(d)) == (
        f"{f}: Reservations[0].Instances[0].IamInstanceProfile (instance i-1): "
        "expected an object, found a list"
    )


def test_bad_lambda_resource_policy(tmp_path: Path) -> None:
    d = _snapdir(tmp_path)
    f = d / L.regional("us-east-1", "lambda", "list-functions")
    f.parent.mkdir(parents=True)
    f.write_text(
        json.dumps(
            {"Functions": [{"FunctionName": "f", "FunctionArn": "arn:aws:lambda:us-east-1:1:function:f"}]}
        )
    )
    (f.parent / "get-policy.json").write_text(json.dumps({"f": {"Policy": "{oops"}}))
    err = error_of(d)
    assert isinstance(err, PolicyError)
    assert str(err).startswith(
        f"{f.parent / 'get-policy.json'}: f.Policy: the policy document is not valid JSON"
    )


def test_unknown_inventory_state(tmp_path: Path) -> None:
    d = _snapdir(tmp_path)
    man = json.loads((d / L.MANIFEST).read_text())
    man["inventory"][0]["state"] = "maybe"
    (d / L.MANIFEST).write_text(json.dumps(man))
    assert str(error_of(d)).startswith(f"{d}/manifest.json: inventory[0].state: unknown state 'maybe'")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"UserDetailList": [', "not valid JSON: Expecting value (line 1, column 21); the file ends before"),
        ('{"UserDetailList": 3}', "UserDetailList: expected a list, found a number"),
        (
            '{"RoleDetailList": [{"RoleName": "r", "Arn": "arn:aws:iam::111111111111:role/r", "AssumeRolePolicyDocument": "%7Bx"}]}',
            "RoleDetailList[0].AssumeRolePolicyDocument (role r): the policy document is not valid JSON",
        ),
    ],
)
def test_scan_of_a_malformed_file_exits_3_with_the_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    from deescalate.cli import main

    f = write(tmp_path, content)
    assert main(["scan", str(f)]) == EXIT_RUNTIME
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"deescalate: {f}: {expected}")
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_details_file_with_a_byte_order_mark_loads(tmp_path: Path, encoding: str) -> None:
    f = tmp_path / "gaad.json"
    f.write_bytes(json.dumps(details()).encode(encoding))  # what PowerShell's `>` writes, and some editors
    assert len(load_snapshot(f).users) == 1


def test_binary_file(tmp_path: Path) -> None:
    f = tmp_path / "gaad.json"
    f.write_bytes(b'{"UserDetailList": [\xff\xfe\x00]}')
    assert str(error_of(f)) == f"{f}: not UTF-8 text (a bad byte at offset 20)"


@pytest.mark.parametrize(
    ("field", "bad", "kind"),
    [
        ("UserDetailList", "arn:aws:iam", "user"),  # too few fields
        ("UserDetailList", "alice", "user"),  # not an ARN
        ("UserDetailList", "arn:aws:iam::222222222222:role/alice", "user"),  # would shadow a role
        ("RoleDetailList", "arn:aws:iam::role/r", "role"),
        ("GroupDetailList", "arn:aws:s3:::devs", "group"),
        ("Policies", "arn:aws:iam:::policy/Custom", "policy"),  # no account
    ],
)
def test_principal_arns_are_checked(tmp_path: Path, field: str, bad: str, kind: str) -> None:
    d = details()
    d[field][0]["Arn"] = bad
    f = write(tmp_path, d)
    message = str(error_of(f))
    assert message.startswith(f"{f}: {field}[0].Arn")
    assert message.endswith(f"{bad!r} is not an IAM {kind} ARN (arn:PARTITION:iam::ACCOUNT:{kind}/NAME)")
    assert "\n" not in message
