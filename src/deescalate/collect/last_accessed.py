"""`collect --last-accessed`: IAM access advisor's report for the principals at risk (read-only).

For each principal, `GenerateServiceLastAccessedDetails(Arn, Granularity=ACTION_LEVEL)` starts a
job; `GetServiceLastAccessedDetails(JobId)` is polled until the job is COMPLETED or FAILED (pages
merged through `Marker`). Both calls only read: IAM's Service Authorization Reference lists them
at access level Read. The jobs run in AWS concurrently, so every job is started first and then
polled, with a deadline for the whole batch; a job that fails or does not finish in time is
recorded in the manifest and the principal's usage stays unknown — never a reason to stop.
https://docs.aws.amazon.com/IAM/latest/APIReference/API_GenerateServiceLastAccessedDetails.html
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deescalate.collect.session import GLOBAL, Aws, FailedCall, Failure
from deescalate.collect.store import _default
from deescalate.errors import CollectError
from deescalate.snapshot import layout as L

POLL_SECONDS = 2.0
DEADLINE_SECONDS = 300.0


@dataclass(slots=True, kw_only=True)
class LastAccessedResult:
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)  # ARN -> merged response
    failures: list[FailedCall] = field(default_factory=list)


def fetch_last_accessed(
    aws: Aws,
    principals: Iterable[str],
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    deadline_seconds: float = DEADLINE_SECONDS,
    poll_seconds: float = POLL_SECONDS,
) -> LastAccessedResult:
    result = LastAccessedResult()
    jobs: dict[str, str] = {}
    for arn in sorted(set(principals)):
        try:
            resp = aws.call("iam", GLOBAL, "generate_service_last_accessed_details",
                            Arn=arn, Granularity="ACTION_LEVEL")
        except Failure as e:
            result.failures.append(e.call)
            continue
        job = resp.get("JobId")
        if isinstance(job, str) and job:
            jobs[arn] = job
        else:
            result.failures.append(
                _failed("GenerateServiceLastAccessedDetails", arn, "no JobId in the answer"))
    end = clock() + deadline_seconds
    pending = dict(jobs)
    while pending:
        for arn, job in list(pending.items()):
            try:
                first = aws.call("iam", GLOBAL, "get_service_last_accessed_details", JobId=job)
            except Failure as e:
                result.failures.append(e.call)
                del pending[arn]
                continue
            status = first.get("JobStatus")
            if status == "IN_PROGRESS":
                continue
            del pending[arn]
            if status != "COMPLETED":
                error = first.get("Error") or {}
                message = error.get("Message", "") if isinstance(error, dict) else str(error)
                result.failures.append(
                    _failed("GetServiceLastAccessedDetails", arn, f"job {status}: {message}"))
                continue
            try:
                result.reports[arn] = _all_pages(aws, job, first)
            except Failure as e:
                result.failures.append(e.call)
        if pending:
            if clock() >= end:
                for arn in pending:
                    result.failures.append(_failed(
                        "GetServiceLastAccessedDetails", arn,
                        f"the job had not finished after {deadline_seconds:.0f} s; usage stays unknown"))
                break
            sleep(poll_seconds)
    return result


def _all_pages(aws: Aws, job: str, first: dict[str, Any]) -> dict[str, Any]:
    merged = dict(first)
    services = list(first.get("ServicesLastAccessed") or [])
    page = first
    while page.get("IsTruncated") and page.get("Marker"):
        page = aws.call("iam", GLOBAL, "get_service_last_accessed_details", JobId=job, Marker=page["Marker"])
        services.extend(page.get("ServicesLastAccessed") or [])
    merged["ServicesLastAccessed"] = services
    merged.pop("IsTruncated", None)
    merged.pop("Marker", None)
    return merged


def _failed(operation: str, arn: str, message: str) -> FailedCall:
    return FailedCall(service="iam", operation=operation, region=GLOBAL, code="AccessAdvisor",
                      message=f"{arn}: {message}")


def write_last_accessed(snapshot_dir: Path, result: LastAccessedResult, aws: Aws) -> None:
    """Add the reports to a finished snapshot directory, and what was called (and failed) to its manifest."""
    target = snapshot_dir / L.IAM_LAST_ACCESSED
    manifest_path = snapshot_dir / L.MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        _atomic_write(target, result.reports)
        calls = [{"service": s, "operation": op, "region": r, "count": n}
                 for (s, op, r), n in sorted(aws.calls.items())]
        manifest["last_accessed"] = {
            "principals": sorted(result.reports),
            "calls": calls,
            "failures": [f.as_json() for f in result.failures],
        }
        _atomic_write(manifest_path, manifest)
    except (OSError, ValueError) as e:
        raise CollectError(f"{snapshot_dir}: cannot add the access-advisor report ({e})") from e


def _atomic_write(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, default=_default, ensure_ascii=False)
        f.write("\n")
    tmp.chmod(0o600)
    tmp.replace(path)
