"""Which regions collect visits: every enabled one, or those asked for if they are enabled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deescalate.collect import run
from deescalate.collect.run import _check_arguments, _regions
from deescalate.collect.session import FailedCall, Failure
from deescalate.errors import CollectError, UsageError


class FakeAws:
    endpoint_url: str | None = None

    def __init__(self, enabled: list[str] | None) -> None:
        self.enabled = enabled

    def call(self, service: str, region: str, operation: str, **params: Any) -> dict[str, Any]:
        assert (service, operation) == ("ec2", "describe_regions")
        if self.enabled is None:
            raise Failure(
                FailedCall(
                    service="ec2",
                    operation="DescribeRegions",
                    region=region,
                    code="UnauthorizedOperation",
                    message="no",
                )
            )
        return {"Regions": [{"RegionName": r} for r in self.enabled]}


def test_default_is_every_enabled_region() -> None:
    assert _regions(FakeAws(["us-west-2", "eu-west-1"]), None) == ["eu-west-1", "us-west-2"]  # type: ignore[arg-type]


def test_asked_regions_are_kept_in_order_once() -> None:
    got = _regions(FakeAws(["eu-west-1", "us-east-1"]), ["us-east-1", "eu-west-1", "us-east-1"])  # type: ignore[arg-type]
    assert got == ["us-east-1", "eu-west-1"]


def test_a_region_not_enabled_is_refused() -> None:
    with pytest.raises(
        CollectError, match=r"^region ap-east-1 is not enabled for this account \(enabled: us-east-1\)$"
    ):
        _regions(FakeAws(["us-east-1"]), ["us-east-1", "ap-east-1"])  # type: ignore[arg-type]


def test_unreadable_region_list() -> None:
    with pytest.raises(
        CollectError, match=r"^cannot list the account's enabled regions \(UnauthorizedOperation: no\)"
    ):
        _regions(FakeAws(None), None)  # type: ignore[arg-type]
    assert _regions(FakeAws(None), ["eu-west-1"]) == ["eu-west-1"]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("regions", "endpoint", "message"),
    [
        (["us east"], None, "'us east' is not a region name (like us-east-1)"),
        (["us-east-1", "US-EAST-1"], None, "'US-EAST-1' is not a region name (like us-east-1)"),
        (None, "notaurl", "--endpoint-url 'notaurl' is not an http:// or https:// URL"),
    ],
)
def test_arguments_are_checked_before_any_call(
    regions: list[str] | None,
    endpoint: str | None,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """collect() refuses bad arguments before it opens a session or makes a call."""
    opened: list[object] = []

    class NoAws:
        def __init__(self, **kwargs: Any) -> None:
            opened.append(kwargs)

        def call(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            raise AssertionError(f"AWS called: {args}")

    monkeypatch.setattr(run, "Aws", NoAws)
    out = tmp_path / "snap"
    with pytest.raises(UsageError) as info:
        run.collect(out, regions=regions, endpoint_url=endpoint)
    assert str(info.value) == message and info.value.exit_code == 2
    assert opened == [] and not out.exists()


def test_real_region_names_pass() -> None:
    _check_arguments(
        ["us-east-1", "us-gov-west-1", "cn-north-1", "eu-central-2", "ap-southeast-5"], "https://x:4566"
    )
