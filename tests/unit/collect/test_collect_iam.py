"""IAM collection: an unreadable IAM stops collection; a failed per-user call leaves that user unknown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from deescalate.collect.iam import collect_iam
from deescalate.collect.session import FailedCall, Failure
from deescalate.collect.store import Store
from deescalate.errors import CollectError
from deescalate.snapshot import layout as L


class FakeAws:
    def __init__(self, fail: set[tuple[str, str]]) -> None:
        self.fail = fail  # (operation, user name or "") pairs that fail
        self.recorded: list[FailedCall] = []

    def _answer(self, operation: str, user: str) -> dict[str, Any]:
        if (operation, user) in self.fail:
            code = "NoSuchEntity" if operation == "get_login_profile" else "AccessDenied"
            raise Failure(
                FailedCall(service="iam", operation=operation, region="global", code=code, message="m")
            )
        return {
            "get_account_authorization_details": {"UserDetailList": [{"UserName": "a"}, {"UserName": "b"}]},
            "list_instance_profiles": {"InstanceProfiles": []},
            "list_access_keys": {"AccessKeyMetadata": [{"AccessKeyId": "AKIA" + user}]},
            "get_login_profile": {"LoginProfile": {"UserName": user}},
            "list_mfa_devices": {"MFADevices": []},
        }[operation]

    def call(self, service: str, region: str, operation: str, **params: Any) -> dict[str, Any]:
        return self._answer(operation, params.get("UserName", ""))

    def pages(self, service: str, region: str, operation: str, **params: Any) -> dict[str, Any]:
        return self._answer(operation, params.get("UserName", ""))

    def record(self, failed: FailedCall) -> None:
        self.recorded.append(failed)


def test_unreadable_iam_stops_collection(tmp_path: Path) -> None:
    aws = FakeAws({("get_account_authorization_details", "")})
    with pytest.raises(
        CollectError, match=r"^cannot read IAM: GetAccountAuthorizationDetails failed \(AccessDenied: m\)"
    ):
        collect_iam(aws, Store(tmp_path / "snap"), lambda what: None)  # type: ignore[arg-type]


def test_failed_user_call_leaves_the_user_unknown(tmp_path: Path) -> None:
    aws = FakeAws({("list_access_keys", "b"), ("get_login_profile", "b"), ("list_mfa_devices", "a")})
    store = Store(tmp_path / "snap")
    ticks: list[str] = []
    collect_iam(aws, store, ticks.append)  # type: ignore[arg-type]

    def read(rel: str) -> Any:
        return json.loads((store.work / rel).read_text())

    assert sorted(read(L.IAM_ACCESS_KEYS)) == ["a"]  # b's call failed: unknown, not "no keys"
    assert read(L.IAM_LOGIN_PROFILES) == {"a": {"LoginProfile": {"UserName": "a"}}, "b": None}  # NoSuchEntity
    assert sorted(read(L.IAM_MFA_DEVICES)) == ["b"]
    assert sorted((f.operation, f.code) for f in aws.recorded) == [
        ("list_access_keys", "AccessDenied"),
        ("list_mfa_devices", "AccessDenied"),
    ]
    assert ticks == ["iam: account authorization details", "iam: credentials of 2 users"]
