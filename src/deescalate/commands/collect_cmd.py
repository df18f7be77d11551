"""`deescalate collect`: read the account with read-only calls into a snapshot directory.

Progress on stderr: a bar on a terminal; otherwise (a CI log) a line every few seconds. Either
says when a failing call is being retried.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from deescalate.collect import DEFAULT_MAX_ATTEMPTS, Retry, collect
from deescalate.collect.organization import DEFAULT_PARALLEL, DEFAULT_ROLE, collect_organization_dir
from deescalate.errors import EXIT_CLEAN, UsageError
from deescalate.terminal import clean


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "collect",
        help="collect a snapshot of an AWS account (read-only calls)",
        description="Collect IAM, Organizations and the resources escalation techniques go through into a "
        "snapshot directory, using boto3's normal credential chain and read-only calls only. A call that "
        "fails (AccessDenied, not supported) is recorded in manifest.json and collection goes on.",
    )
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="snapshot directory to write")
    p.add_argument("--profile", help="AWS profile (default: the normal credential chain)")
    p.add_argument(
        "--region",
        action="append",
        dest="regions",
        metavar="R",
        help="region to collect (repeatable; default: every region enabled for the account)",
    )
    p.add_argument(
        "--endpoint-url", help="AWS-compatible endpoint for every service (e.g. a local moto server)"
    )
    p.add_argument(
        "--max-attempts",
        type=int,
        default=DEFAULT_MAX_ATTEMPTS,
        metavar="N",
        help=f"attempts per call before giving up on throttling or errors (default {DEFAULT_MAX_ATTEMPTS})",
    )
    p.add_argument(
        "--last-accessed",
        action="store_true",
        help="also fetch IAM access advisor's last-used report (action level) for the principals at risk, "
        "so `plan` can prefer denying what they never use",
    )
    g = p.add_argument_group(
        "a whole organization",
        "Run from the management account or a delegated administrator: the organization's tree and "
        "SCPs/RCPs once, then each account through an assumed role into DIR/accounts/ID/. The caller's "
        "own account is collected with the caller's credentials. An account whose role cannot be "
        "assumed is recorded in DIR/manifest.json and skipped; a new run resumes.",
    )
    g.add_argument("--organization", action="store_true",
                   help="collect every account of the organization into DIR (see docs/snapshot.md)")
    g.add_argument("--role-name", metavar="NAME",
                   help=f"role to assume in each account (default {DEFAULT_ROLE}); only read through")
    g.add_argument("--role-arn-template", metavar="ARN",
                   help="role ARN to assume, {account} standing for the account id "
                   "(e.g. 'arn:aws:iam::{account}:role/audit/Reader')")
    g.add_argument("--accounts", metavar="ID,...", help="only these accounts (comma-separated ids)")
    g.add_argument("--ou", metavar="OU-ID", help="only the accounts below this OU (or root id)")
    g.add_argument("--refresh", action="store_true",
                   help="collect again the accounts an earlier run into DIR already collected")
    g.add_argument("--max-accounts-in-parallel", type=int, default=DEFAULT_PARALLEL, metavar="N",
                   help=f"accounts collected at the same time (default {DEFAULT_PARALLEL})")
    p.set_defaults(func=run)


ORG_ONLY = ("role_name", "role_arn_template", "accounts", "ou")


HEARTBEAT_SECONDS = 5.0  # without a terminal: one progress line at most this often


class _Bar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.width = 0
        self.done = 0
        self.total = 0

    def __call__(self, done: int, total: int, what: str) -> None:
        with self.lock:
            self.done, self.total = done, total
            self._draw(what[:60])

    def retry(self, retry: Retry) -> None:
        with self.lock:
            self._draw(retry.summary()[:90])

    def _draw(self, what: str) -> None:
        filled = int(30 * self.done / max(self.total, 1))
        line = f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} {what}"
        sys.stderr.write(line.ljust(self.width))
        self.width = len(line)
        sys.stderr.flush()

    def close(self, *, finished: bool = True) -> None:
        if self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


class _Heartbeat:
    """Without a terminal (a CI log): a progress line every HEARTBEAT_SECONDS while collection
    runs, with the retries since the previous line (how many, and the latest: which call, which
    attempt, after what error), so a slow region is never silent."""

    def __init__(self, interval: float, unit: str = "steps") -> None:
        self.interval = interval
        self.unit = unit
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.done = 0
        self.total = 0
        self.last = "starting"
        self.retrying: Retry | None = None
        self.retried = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="deescalate-progress", daemon=True)
        self.thread.start()

    def __call__(self, done: int, total: int, what: str) -> None:
        with self.lock:
            self.done, self.total, self.last = done, total, what

    def retry(self, retry: Retry) -> None:
        with self.lock:
            self.retrying = retry
            self.retried += 1

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            self._line()

    def _line(self) -> None:
        with self.lock:
            line = (f"deescalate: collect: {self.done}/{self.total or '?'} {self.unit}, "
                    f"{time.monotonic() - self.started:.0f}s; last: {self.last}")
            if self.retrying is not None:
                n = self.retried
                line += (f"; {n} retr{'y' if n == 1 else 'ies'} since the last line, latest: "
                         f"{self.retrying.summary()}")
                self.retrying, self.retried = None, 0
        print(line, file=sys.stderr, flush=True)

    def close(self, *, finished: bool = True) -> None:
        """Stop; when collection finished, say the retries since the last line (a failed run
        ends with its one-sentence error instead)."""
        self.stop.set()
        self.thread.join()
        if finished and self.retrying is not None:
            self._line()


def reporter(unit: str = "steps") -> _Bar | _Heartbeat:
    """The progress display for stderr as it is: a bar on a terminal, else a heartbeat line."""
    return _Bar() if sys.stderr.isatty() else _Heartbeat(HEARTBEAT_SECONDS, unit)


def run(args: argparse.Namespace) -> int:
    if args.organization:
        return run_organization(args)
    given = [f"--{name.replace('_', '-')}" for name in ORG_ONLY if getattr(args, name) is not None]
    given += ["--refresh"] if args.refresh else []
    if given:
        raise UsageError(f"{', '.join(given)}: only with --organization")
    shown = reporter()
    finished = False
    try:
        out = collect(
            args.output,
            profile=args.profile,
            regions=args.regions,
            endpoint_url=args.endpoint_url,
            progress=shown,
            max_attempts=max(1, args.max_attempts),
            on_retry=shown.retry,
        )
        finished = True
    finally:
        shown.close(finished=finished)
    if args.last_accessed:
        from deescalate.commands.usage_step import add_last_accessed

        add_last_accessed(out, profile=args.profile, endpoint_url=args.endpoint_url,
                          max_attempts=max(1, args.max_attempts))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    calls = sum(c["count"] for c in manifest["calls"])
    failed = manifest["failures"]
    print(
        f"collected account {manifest['account_id']} into {out}: {calls} calls in "
        f"{manifest['duration_seconds']}s, {len(manifest['regions'])} region(s), "
        f"organization {manifest['organization']}, {len(failed)} failed call(s)",
        file=sys.stderr,
    )
    for f in failed[:20]:
        print(f"  failed: {f['service']} {f['operation']} in {f['region']}: {f['code']}", file=sys.stderr)
    if len(failed) > 20:
        print(f"  ... and {len(failed) - 20} more (see {out}/manifest.json)", file=sys.stderr)
    return EXIT_CLEAN


def run_organization(args: argparse.Namespace) -> int:
    if args.last_accessed:
        raise UsageError("--last-accessed is not supported with --organization yet")
    accounts = None
    if args.accounts is not None:
        accounts = [a.strip() for a in args.accounts.split(",") if a.strip()]
    shown = reporter("accounts")
    finished = False
    try:
        result = collect_organization_dir(
            args.output,
            profile=args.profile,
            role_name=args.role_name,
            role_arn_template=args.role_arn_template,
            accounts=accounts,
            ou=args.ou,
            refresh=args.refresh,
            max_parallel=args.max_accounts_in_parallel,
            regions=args.regions,
            endpoint_url=args.endpoint_url,
            progress=shown,
            max_attempts=max(1, args.max_attempts),
            on_retry=shown.retry,
        )
        finished = True
    finally:
        shown.close(finished=finished)
    kept = f" ({len(result.kept)} kept from an earlier run)" if result.kept else ""
    print(
        f"collected organization {result.organization_id} into {result.out_dir}: "
        f"{len(result.accounts)} account(s), "
        f"{result.count('collected')} collected{kept}, {result.count('failed')} failed, "
        f"{result.count('skipped')} skipped, in {result.seconds:.1f}s",
        file=sys.stderr,
    )
    fresh = [a for a in result.accounts if a.collection == "collected" and a.id not in result.kept]
    failed_calls = {a.id: _failed_calls(result.out_dir / f"accounts/{a.id}") for a in fresh}
    if any(failed_calls.values()):
        n, where = sum(failed_calls.values()), sum(1 for v in failed_calls.values() if v)
        print(f"  {n} call(s) failed in {where} collected account(s), recorded in each one's "
              f"accounts/ID/manifest.json (the analysis lists what it could not examine)", file=sys.stderr)
    troubles = [a for a in result.accounts if a.collection in ("failed", "skipped")]
    for a in troubles[:20]:
        print(f"  {a.collection}: {a.id} ({clean(a.name)}): {clean(a.error or '')}", file=sys.stderr)
    if len(troubles) > 20:
        print(f"  ... and {len(troubles) - 20} more (see {result.out_dir}/manifest.json)", file=sys.stderr)
    pending = [a.id for a in result.accounts if a.collection == "pending"]
    if pending:
        print(f"  pending: {len(pending)} account(s) of an earlier run outside --accounts/--ou, not collected"
              f" yet ({', '.join(pending[:5])}{', ...' if len(pending) > 5 else ''}); collect without"
              " --accounts/--ou to add them", file=sys.stderr)
    for aid in result.gone:
        print(f"  dropped: {aid}: listed by the earlier manifest, no longer in organization"
              f" {result.organization_id} (its accounts/{aid} directory is left as it was)", file=sys.stderr)
    return EXIT_CLEAN


def _failed_calls(account_dir: Path) -> int:
    try:
        doc = json.loads((account_dir / "manifest.json").read_text(encoding="utf-8"))
        return len(doc.get("failures") or [])
    except (OSError, ValueError, AttributeError):
        return 0
