"""`deescalate collect`: read the account with read-only calls into a snapshot directory."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import Any

from deescalate.collect import DEFAULT_MAX_ATTEMPTS, collect
from deescalate.errors import EXIT_CLEAN


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
    p.set_defaults(func=run)


class _Bar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.width = 0

    def __call__(self, done: int, total: int, what: str) -> None:
        with self.lock:
            filled = int(30 * done / max(total, 1))
            line = f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} {what[:60]}"
            sys.stderr.write(line.ljust(self.width))
            self.width = len(line)
            sys.stderr.flush()

    def close(self) -> None:
        if self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


def run(args: argparse.Namespace) -> int:
    bar = _Bar() if sys.stderr.isatty() else None
    try:
        out = collect(
            args.output,
            profile=args.profile,
            regions=args.regions,
            endpoint_url=args.endpoint_url,
            progress=bar,
            max_attempts=max(1, args.max_attempts),
        )
    finally:
        if bar is not None:
            bar.close()
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
