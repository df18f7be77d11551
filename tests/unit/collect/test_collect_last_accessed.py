"""collect --last-accessed: jobs started, polled to completion, pages merged, failures recorded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from access_advisor import report, service
from botocore.stub import Stubber

from deescalate.collect.last_accessed import fetch_last_accessed, write_last_accessed
from deescalate.collect.session import GLOBAL, Aws
from deescalate.snapshot.usage import parse_last_accessed

ALICE = "arn:aws:iam::123456789012:user/alice"
BOB = "arn:aws:iam::123456789012:user/bob"
CAROL = "arn:aws:iam::123456789012:role/carol"
JA = "11111111-2222-3333-4444-555555555555"
JB = "66666666-7777-8888-9999-000000000000"


@pytest.fixture
def stubbed() -> tuple[Aws, Stubber]:
    aws = Aws(profile=None, endpoint_url="http://127.0.0.1:9", max_attempts=1)
    stub = Stubber(aws.client("iam", GLOBAL))
    stub.activate()
    return aws, stub


def test_jobs_are_polled_pages_merged_and_failures_recorded(stubbed: tuple[Aws, Stubber], tmp_path: Path) -> None:
    aws, stub = stubbed
    # Jobs start in ARN order (role/carol first), then are polled in that order.
    stub.add_client_error("generate_service_last_accessed_details", "AccessDenied", "not allowed",
                          expected_params={"Arn": CAROL, "Granularity": "ACTION_LEVEL"})
    for arn, job in ((ALICE, JA), (BOB, JB)):
        stub.add_response("generate_service_last_accessed_details", {"JobId": job},
                          {"Arn": arn, "Granularity": "ACTION_LEVEL"})
    # Alice: in progress once, then two pages.
    stub.add_response("get_service_last_accessed_details", {**report([], status="IN_PROGRESS"),
                      "ServicesLastAccessed": []}, {"JobId": JA})
    stub.add_response("get_service_last_accessed_details", {**report([], status="FAILED"),
                      "Error": {"Message": "internal", "Code": "x"}}, {"JobId": JB})
    page1 = {**report([service("iam", "AWS Identity and Access Management", 3, ALICE,
                               {"PassRole": 3, "CreateAccessKey": None})]), "IsTruncated": True, "Marker": "m1"}
    page2 = report([service("ec2", "Amazon EC2", None, ALICE, {"RunInstances": None})])
    stub.add_response("get_service_last_accessed_details", page1, {"JobId": JA})
    stub.add_response("get_service_last_accessed_details", page2, {"JobId": JA, "Marker": "m1"})
    slept: list[float] = []
    result = fetch_last_accessed(aws, [CAROL, BOB, ALICE], sleep=slept.append)
    stub.assert_no_pending_responses()
    assert slept == [2.0]  # one wait while Alice's job ran
    assert set(result.reports) == {ALICE}
    assert [s["ServiceNamespace"] for s in result.reports[ALICE]["ServicesLastAccessed"]] == ["iam", "ec2"]
    assert sorted(f.operation for f in result.failures) == ["GenerateServiceLastAccessedDetails",
                                                            "GetServiceLastAccessedDetails"]
    assert any("FAILED" in f.message and BOB in f.message for f in result.failures)

    (tmp_path / "iam").mkdir()
    (tmp_path / "manifest.json").write_text(json.dumps({"account_id": "123456789012"}))
    write_last_accessed(tmp_path, result, aws)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["last_accessed"]["principals"] == [ALICE] and len(manifest["last_accessed"]["failures"]) == 2
    written = tmp_path / "iam" / "get-service-last-accessed-details.json"
    assert written.stat().st_mode & 0o777 == 0o600
    parsed = parse_last_accessed(json.loads(written.read_text()), str(written))
    iam = parsed[ALICE].services["iam"]
    assert iam.actions is not None and iam.actions["passrole"] is not None and iam.actions["createaccesskey"] is None
    assert parsed[ALICE].services["ec2"].last_used is None


def test_a_job_that_never_finishes_is_recorded_not_waited_on_forever(stubbed: tuple[Aws, Stubber]) -> None:
    aws, stub = stubbed
    stub.add_response("generate_service_last_accessed_details", {"JobId": JA},
                      {"Arn": ALICE, "Granularity": "ACTION_LEVEL"})
    for _ in range(4):
        stub.add_response("get_service_last_accessed_details", {**report([], status="IN_PROGRESS")}, {"JobId": JA})
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    result = fetch_last_accessed(aws, [ALICE], sleep=sleep, clock=lambda: now[0], deadline_seconds=5.0)
    assert result.reports == {}
    assert len(result.failures) == 1 and "had not finished after 5 s" in result.failures[0].message
