"""`deescalate revert [--journal FILE | --all] [--yes] [--profile P] [--endpoint-url URL]`.

Dry run by default, like apply. `--journal` undoes what that journal records (newest first, each
undo marked in the journal); `--all` removes every `deescalate-…` policy in the account (every
page of users, roles, groups and customer managed policies). Exit 0 when everything was undone,
3 when some undo failed or was refused (each named on stderr; running revert again retries them).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from deescalate.errors import EXIT_RUNTIME, MissingInputError, UsageError
from deescalate.remediate.aws import connect
from deescalate.remediate.journal import Call, Journal, read_journal, records
from deescalate.remediate.revert import check_journal_account, execute_reverts, revert_all_calls, revert_calls


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "revert",
        help="undo an apply (dry run unless --yes)",
        description="Undo what apply did, from its journal, or remove every deescalate-… policy (--all).",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--journal", help="the journal apply wrote")
    which.add_argument("--all", action="store_true", help="every deescalate-… policy in the account")
    p.add_argument("--yes", action="store_true", help="make the calls (default: dry run)")
    p.add_argument("--profile", help="AWS profile (default: boto3's credential chain)")
    p.add_argument("--endpoint-url", help="an AWS-compatible IAM endpoint (e.g. a local moto server)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.journal and not args.all:
        raise UsageError("revert needs --journal FILE (undo one apply) or --all (every deescalate-… policy)")
    if args.journal and not Path(args.journal).exists():
        raise MissingInputError("journal", args.journal)
    clients = connect(profile=args.profile, endpoint_url=args.endpoint_url)
    if args.journal:
        recs = records(read_journal(args.journal))
        check_journal_account(clients.sts, recs)
        calls = revert_calls(recs)
    else:
        calls = [(0, c) for c in revert_all_calls(clients.iam)]
    if not calls:
        print("Nothing to revert.")
        return 0
    if not args.yes:
        print(f"Dry run: {len(calls)} undo call(s) would be made (re-run with --yes to make them):")
        for n, (_, call) in enumerate(calls, start=1):
            print(f"[{n}] {call.render()}")
        return 0

    def progress(n: int, call: Call, error: str | None) -> None:
        status = "FAILED" if error else "ok"
        print(f"[{n}/{len(calls)}] {call.render().splitlines()[0]}  {status}", flush=True)

    journal = Journal(args.journal) if args.journal else None
    result = execute_reverts(clients.iam, calls, journal=journal, progress=progress)
    for error in result.errors:
        print(f"deescalate: {error}", file=sys.stderr)
    if result.errors:
        failed = len(result.errors)
        print(f"Reverted {result.made} of {len(calls)}; {failed} failed (re-run revert to retry).")
        return EXIT_RUNTIME
    print(f"Reverted {result.made} call(s).")
    return 0
