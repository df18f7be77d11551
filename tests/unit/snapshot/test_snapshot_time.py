"""A raw get-account-authorization-details file's time: the newest CreateDate/UpdateDate in it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from snapshot_samples import arn, details, doc

from deescalate.analysis.analyze import analyze
from deescalate.snapshot import load_snapshot


def _raw(condition: dict[str, dict[str, str]], *, dated: bool = True) -> dict[str, Any]:
    """User u may CreatePolicyVersion (under `condition`) on the customer policy attached to it."""
    user: dict[str, Any] = {
        "UserName": "u", "UserId": "AIDAU", "Arn": arn("user", "u"), "Path": "/", "GroupList": [],
        "UserPolicyList": [{"PolicyName": "p", "PolicyDocument": doc(
            {"Effect": "Allow", "Action": "iam:CreatePolicyVersion", "Resource": "*", "Condition": condition})}],
        "AttachedManagedPolicies": [{"PolicyName": "mine", "PolicyArn": arn("policy", "mine")}],
    }
    version: dict[str, Any] = {"VersionId": "v1", "IsDefaultVersion": True,
                               "Document": doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})}
    policy: dict[str, Any] = {"PolicyName": "mine", "Arn": arn("policy", "mine"), "DefaultVersionId": "v1",
                              "PolicyVersionList": [version]}
    if dated:
        user["CreateDate"] = "2024-05-01T09:00:00Z"
        policy["CreateDate"] = "2024-05-01T09:00:00+00:00"
        policy["UpdateDate"] = version["CreateDate"] = "2024-05-02T10:00:00+00:00"
    return {"UserDetailList": [user], "GroupDetailList": [], "RoleDetailList": [], "Policies": [policy]}


def _load(tmp_path: Path, raw: dict[str, Any]) -> Any:
    f = tmp_path / "gaad.json"
    f.write_text(json.dumps(raw))
    return load_snapshot(f)


def _set(raw: dict[str, Any], path: str, value: str) -> None:
    *keys, last = path.split(".")
    obj: Any = raw
    for k in keys:
        obj = obj[int(k)] if k.isdigit() else obj[k]
    obj[last] = value


@pytest.mark.parametrize(
    "where",
    [
        "UserDetailList.0.CreateDate",
        "GroupDetailList.0.CreateDate",
        "RoleDetailList.0.CreateDate",
        "RoleDetailList.0.InstanceProfileList.0.CreateDate",
        "Policies.0.CreateDate",
        "Policies.0.UpdateDate",
        "Policies.0.PolicyVersionList.1.CreateDate",
    ],
)
def test_collected_at_is_the_newest_date_wherever_it_stands(tmp_path: Path, where: str) -> None:
    raw = details()
    for older in ("UserDetailList.0.CreateDate", "Policies.0.UpdateDate", "Policies.0.PolicyVersionList.0.CreateDate"):
        _set(raw, older, "2025-06-30T12:30:00+02:00")  # 10:30 UTC: later as text, earlier in time
    _set(raw, where, "2025-06-30T11:00:00.900+00:00")
    assert _load(tmp_path, raw).collected_at == "2025-06-30T11:00:00+00:00"  # cut to the second, not rounded up


def test_without_dates_or_with_unreadable_ones_there_is_no_time(tmp_path: Path) -> None:
    assert _load(tmp_path, details()).collected_at is None
    raw = details()
    _set(raw, "UserDetailList.0.CreateDate", "yesterday")
    raw["Policies"][0]["UpdateDate"] = 1700000000
    assert _load(tmp_path, raw).collected_at is None


def test_a_date_without_a_zone_is_utc(tmp_path: Path) -> None:
    raw = details()
    _set(raw, "GroupDetailList.0.CreateDate", "2023-01-02T03:04:05")
    assert _load(tmp_path, raw).collected_at == "2023-01-02T03:04:05+00:00"


def _user_edges(tmp_path: Path, raw: dict[str, Any]) -> list[Any]:
    return [e for e in analyze(_load(tmp_path, raw)).edges if e.source == arn("user", "u")]


def test_a_window_closed_before_the_newest_date_settles(tmp_path: Path) -> None:
    closed = {"DateLessThan": {"aws:CurrentTime": "2021-06-01T00:00:00Z"}}
    assert _user_edges(tmp_path, _raw(closed)) == []  # the file is from 2024 or later: never again
    (edge,) = _user_edges(tmp_path, _raw(closed, dated=False))  # no date: the time is unknown
    assert edge.technique == "iam-001" and edge.conditional
    opened = {"DateGreaterThan": {"aws:CurrentTime": "2021-06-01T00:00:00Z"}}
    (edge,) = _user_edges(tmp_path, _raw(opened))
    assert not edge.conditional  # opened before the file was taken: holds from then on


def test_a_window_after_the_newest_date_stays_conditional(tmp_path: Path) -> None:
    # The file may be much newer than its newest date: a later window is not decided by it.
    (edge,) = _user_edges(tmp_path, _raw({"DateGreaterThan": {"aws:CurrentTime": "2024-06-01T00:00:00Z"}}))
    assert edge.conditional
