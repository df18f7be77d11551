"""`collect()`: the order of collection, the thread pool over regions, and the manifest.

STS first (it proves the credentials and the endpoint, and gives the account id), then IAM, then
Organizations, then every (region, resource kind) pair concurrently. Only the first call can stop
collection; after it, a failed call is recorded and the rest goes on.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from deescalate import __version__
from deescalate.collect.iam import caller_identity, collect_iam
from deescalate.collect.org import collect_organization
from deescalate.collect.regional import KIND_COLLECTORS
from deescalate.collect.session import GLOBAL, Aws, FailedCall, Failure, RetryCallback, fatal
from deescalate.collect.store import Store
from deescalate.errors import CollectError, UsageError
from deescalate.snapshot import layout as L

Progress = Callable[[int, int, str], None]  # (steps done, steps in all, what was just done)
log = logging.getLogger("deescalate.collect")

REGION_WORKERS = 8
# The manifest's `organization` for an account of `collect --organization`: the organization's
# files are in the organization directory's organization/ (layout.ORG_FILES_DIR), not here.
ORG_ELSEWHERE = "in the organization directory"
DEFAULT_MAX_ATTEMPTS = 8


class _Ticker:
    def __init__(self, total: int, progress: Progress | None) -> None:
        self.done = 0
        self.total = total
        self.progress = progress

    def more(self, steps: int) -> None:
        self.total += steps

    def __call__(self, what: str) -> None:
        self.done += 1
        log.info("step %d/%d: %s", self.done, self.total, what)
        if self.progress is not None:
            self.progress(self.done, self.total, what)


REGION_NAME = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")


def _check_arguments(regions: Sequence[str] | None, endpoint_url: str | None) -> None:
    for region in regions or ():
        if not REGION_NAME.fullmatch(region):
            raise UsageError(f"{region!r} is not a region name (like us-east-1)")
    if endpoint_url is not None and not re.match(r"https?://[^/\s]+", endpoint_url):
        raise UsageError(f"--endpoint-url {endpoint_url!r} is not an http:// or https:// URL")


def _regions(aws: Aws, asked: Sequence[str] | None) -> list[str]:
    """The regions to collect: those asked for (checked against the enabled ones), else every enabled one."""
    try:
        resp = aws.call("ec2", "us-east-1", "describe_regions")
    except Failure as e:
        if asked:  # cannot check them; calls in a wrong region will fail and be recorded
            return list(dict.fromkeys(asked))
        raise CollectError(
            f"cannot list the account's enabled regions ({e.call.summary()}); name them with --region"
        ) from e
    enabled = sorted(r["RegionName"] for r in resp.get("Regions", []))
    if not asked:
        return enabled
    unknown = [r for r in asked if r not in enabled]
    if unknown and aws.endpoint_url is None:
        raise CollectError(
            f"region {', '.join(unknown)} is not enabled for this account (enabled: {', '.join(enabled)})"
        )
    return list(dict.fromkeys(asked))


def collect(
    out_dir: str | Path,
    *,
    profile: str | None = None,
    regions: Sequence[str] | None = None,
    endpoint_url: str | None = None,
    progress: Progress | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    on_retry: RetryCallback | None = None,
    session: Any = None,
    organization: bool = True,
) -> Path:
    """Collect a snapshot of the account into `out_dir` with read-only calls; returns the directory.

    `progress` is called after each step, from the calling thread; `on_retry` whenever a failed
    call is about to be sent again, from whichever thread makes it. `session` is a boto3 Session to
    use instead of `profile`'s (an assumed role's, for `collect --organization`); with
    `organization=False` no Organizations call is made (the organization's files are collected
    once for all accounts) and the manifest's `organization` says so.
    """
    started = time.monotonic()
    out = Path(out_dir)
    Store.check(out)
    _check_arguments(regions, endpoint_url)
    aws = Aws(profile=profile, endpoint_url=endpoint_url, max_attempts=max_attempts, on_retry=on_retry,
              session=session)
    log.info("collecting into %s from %s, regions %s, at most %d attempts per call", out,
             endpoint_url or "AWS", ", ".join(regions) if regions else "(every enabled one)", max_attempts)
    try:
        ident = caller_identity(aws)
    except Failure as e:
        raise fatal(e, endpoint_url) from e
    except Exception as e:  # NoCredentialsError and friends are raised before any request
        raise fatal(e, endpoint_url) from e
    account_id = str(ident.get("Account", ""))
    # With --endpoint-url the listed regions are taken as given (an emulator's list means little).
    region_list = list(dict.fromkeys(regions)) if regions and endpoint_url else _regions(aws, regions)
    log.info("account %s, caller %s; regions: %s", account_id, ident.get("Arn"), ", ".join(region_list))
    store = Store(out)
    try:
        store.write(L.CALLER_IDENTITY, ident)
        pairs = [(region, kind) for region in region_list for kind in KIND_COLLECTORS]
        # sts, iam details, iam credentials, org
        tick = _Ticker(3 + organization + len(pairs), progress)
        tick("sts: caller identity")
        collect_iam(aws, store, tick, tick.more)
        if organization:
            org_status = collect_organization(aws, store, account_id)
            tick(f"organizations: {org_status}")
        else:
            org_status = ORG_ELSEWHERE
        inventory = _collect_regions(aws, store, pairs, tick)
        store.write(
            L.MANIFEST,
            _manifest(
                aws,
                ident=ident,
                regions=region_list,
                org_status=org_status,
                inventory=inventory,
                endpoint_url=endpoint_url,
                seconds=time.monotonic() - started,
            ),
        )
        log.info("collected in %.1fs: %d calls, %d retried, %d failed", time.monotonic() - started,
                 sum(aws.calls.values()), aws.retries, len(aws.failures))
        return store.finish()
    except BaseException:
        store.abandon()
        raise


def _collect_regions(
    aws: Aws, store: Store, pairs: list[tuple[str, str]], tick: _Ticker
) -> list[dict[str, Any]]:
    def one(region: str, kind: str) -> dict[str, Any]:
        service, fn = KIND_COLLECTORS[kind]
        rec: dict[str, Any] = {"kind": kind, "region": region}
        if not aws.offered(service, region):
            # No endpoint there: calling would only wait out connection retries. Nothing can exist.
            return {**rec, "state": "ok", "note": f"{service} is not offered in {region}"}
        try:
            files = fn(aws, region)
        except Failure as e:
            aws.record(e.call)
            return {**rec, "state": "failed", "error": f"{e.call.operation}: {e.call.summary()}"}
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            # A response of a shape the collector does not expect: keep going, say so.
            aws.record(
                FailedCall(
                    service=service,
                    operation=kind,
                    region=region,
                    code="UnexpectedResponse",
                    message=f"{type(e).__name__}: {e}",
                )
            )
            return {**rec, "state": "failed", "error": f"UnexpectedResponse: {type(e).__name__}: {e}"}
        for command, data in files.items():
            store.write(L.regional(region, service, command), data)
        return {**rec, "state": "ok"}

    inventory: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=REGION_WORKERS) as pool:
        futures = {pool.submit(one, region, kind): (region, kind) for region, kind in pairs}
        for fut in as_completed(futures):
            rec = fut.result()
            inventory.append(rec)
            tick(f"{rec['region']}: {rec['kind']} {rec['state']}")
    inventory.sort(key=lambda r: (r["region"], r["kind"]))
    return inventory


def _manifest(
    aws: Aws,
    *,
    ident: dict[str, Any],
    regions: list[str],
    org_status: str,
    inventory: list[dict[str, Any]],
    endpoint_url: str | None,
    seconds: float,
) -> dict[str, Any]:
    calls = [
        {"service": s, "operation": op, "region": r, "count": n}
        for (s, op, r), n in sorted(aws.calls.items())
    ]
    failures = sorted(
        (f.as_json() for f in aws.failures), key=lambda f: (f["service"], f["operation"], f["region"])
    )
    return {
        "format": L.FORMAT_NAME,
        "format_version": L.FORMAT_VERSION,
        "account_id": str(ident.get("Account", "")),
        "caller_arn": ident.get("Arn"),
        "collected_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "collector": f"deescalate {__version__}",
        "endpoint_url": endpoint_url,
        "duration_seconds": round(seconds, 2),
        "regions": regions,
        "organization": org_status,
        "calls": calls,
        "failures": failures,
        "inventory": inventory,
    }


__all__ = ["GLOBAL", "Progress", "collect"]
