"""Organizations collection is all or nothing: one failed call writes no Organizations file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deescalate.collect.org import collect_organization
from deescalate.collect.session import FailedCall, Failure
from deescalate.collect.store import Store
from deescalate.snapshot import layout as L


class FakeAws:
    """Answers Organizations calls from a table; an entry that is a string is an error code."""

    def __init__(self, answers: dict[tuple[str, str], Any]) -> None:
        self.answers = answers
        self.recorded: list[FailedCall] = []

    def _answer(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        key = (operation, str(next(iter(params.values()), "")))
        answer = self.answers.get(key, self.answers.get((operation, "")))
        if isinstance(answer, str):
            raise Failure(
                FailedCall(
                    service="organizations", operation=operation, region="global", code=answer, message="no"
                )
            )
        assert answer is not None, key
        return dict(answer)

    def call(self, service: str, region: str, operation: str, **params: Any) -> dict[str, Any]:
        return self._answer(operation, params)

    def pages(self, service: str, region: str, operation: str, **params: Any) -> dict[str, Any]:
        return self._answer(operation, params)

    def record(self, failed: FailedCall) -> None:
        self.recorded.append(failed)


ROOT = {"Roots": [{"Id": "r-1", "Name": "Root", "PolicyTypes": [{"Type": L.SCP_TYPE, "Status": "ENABLED"}]}]}


def _store(tmp_path: Path) -> Store:
    return Store(tmp_path / "snap")


def test_not_in_use_is_not_a_failure(tmp_path: Path) -> None:
    aws = FakeAws({("describe_organization", ""): "AWSOrganizationsNotInUseException"})
    store = _store(tmp_path)
    assert collect_organization(aws, store, "111111111111") == "not in use"  # type: ignore[arg-type]
    assert aws.recorded == [] and list(store.work.iterdir()) == []


def test_a_member_account_that_cannot_list_the_tree_writes_nothing(tmp_path: Path) -> None:
    aws = FakeAws(
        {
            ("describe_organization", ""): {"Organization": {"Id": "o-1"}},
            ("list_roots", ""): "AccessDeniedException",
        }
    )
    store = _store(tmp_path)
    status = collect_organization(aws, store, "111111111111")  # type: ignore[arg-type]
    assert status == "failed: list_roots AccessDeniedException: no"
    assert [f.code for f in aws.recorded] == ["AccessDeniedException"]
    assert list(store.work.iterdir()) == []


def test_a_failure_deep_in_the_tree_writes_nothing(tmp_path: Path) -> None:
    aws = FakeAws(
        {
            ("describe_organization", ""): {"Organization": {"Id": "o-1"}},
            ("list_roots", ""): ROOT,
            ("list_parents", "111111111111"): {"Parents": [{"Id": "r-1", "Type": "ROOT"}]},
            ("list_policies_for_target", "r-1"): {"Policies": [{"Id": "p-1", "Name": "Full"}]},
            ("list_policies_for_target", "111111111111"): "TooManyRequestsException",
            ("describe_policy", "p-1"): {"Policy": {"Content": "{}"}},
        }
    )
    store = _store(tmp_path)
    status = collect_organization(aws, store, "111111111111")  # type: ignore[arg-type]
    assert status.startswith("failed: list_policies_for_target TooManyRequestsException")
    assert list(store.work.iterdir()) == []
