"""`deescalate scan`: analyse snapshot(s), or collect one first, and report who can escalate.

Exit codes: 0 nothing at risk (at or above `--fail-on`), 1 findings, 2 usage, 3 runtime error.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from deescalate.commands import report_output
from deescalate.commands.report_output import add_options, emit, parse_outputs
from deescalate.commands.snapshot_args import load_snapshot_args
from deescalate.errors import UsageError


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "scan",
        help="find principals that can escalate to admin (from snapshots, or collect first)",
        description="Analyse one or more snapshots (a collected directory or a plain "
        "`aws iam get-account-authorization-details` file) and report the principals that can reach an "
        "administrator or --target, with their paths. With no SNAPSHOT and --endpoint-url/--profile/"
        "--region, collect a snapshot first (read-only calls) into a temporary directory. "
        "Exit 0 when nothing is at risk, 1 when findings reach --fail-on, 2 usage error, 3 runtime error.",
    )
    p.add_argument("snapshots", nargs="*", metavar="SNAPSHOT", help="snapshot directory or file")
    p.add_argument("--endpoint-url", help="collect first from this AWS-compatible endpoint")
    p.add_argument("--profile", help="collect first with this AWS profile")
    p.add_argument("--region", action="append", dest="regions", metavar="R",
                   help="collect first, from this region (repeatable)")
    add_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    parse_outputs(args)  # a bad --output is a usage error before any collection or analysis
    live = bool(args.endpoint_url or args.profile or args.regions)
    if args.snapshots and live:
        raise UsageError("give SNAPSHOT paths or --endpoint-url/--profile/--region to collect, not both")
    if not args.snapshots and not live:
        raise UsageError("give a SNAPSHOT (directory or get-account-authorization-details file), or "
                         "--profile/--region/--endpoint-url to collect one first")
    if args.snapshots:
        return emit(report_output.analyze_snapshot(load_snapshot_args(args.snapshots), args), args)
    from deescalate.collect import collect

    with tempfile.TemporaryDirectory(prefix="deescalate-") as tmp:
        out = collect(Path(tmp) / "snapshot", profile=args.profile, regions=args.regions,
                      endpoint_url=args.endpoint_url)
        print(f"deescalate: collected a snapshot into {out} (temporary)", file=sys.stderr)
        return emit(report_output.analyze_snapshot(load_snapshot_args([str(out)]), args), args)
