"""`deescalate revert [--journal FILE | --all] [--yes] [--profile P] [--endpoint-url URL]`.

Dry run by default, like apply. `--journal` undoes what that journal records (newest first, each
undo marked in the journal) after checking every line: a journal with any line apply did not write
(forged, edited, truncated in the middle, a call apply never makes) is refused whole, before any
call, exit 3. `--all` removes every policy deescalate wrote in the account (every page of users,
roles, groups and customer managed policies); look-alikes under the `deescalate-` prefix that
deescalate did not write are listed and left alone. Each undo prints "ok", "already absent"
(nothing left to undo) or the error. Exit 0 when everything was undone (or only look-alikes were
found), 3 when some undo failed or was refused (each named on stderr; running revert again retries
them) or the journal was refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from deescalate.commands.apply_cmd import lock_dir
from deescalate.errors import EXIT_RUNTIME, MissingInputError, UsageError
from deescalate.remediate.aws import connect
from deescalate.remediate.journal import Call, load_journal
from deescalate.remediate.revert import (
    RevertResult,
    check_journal_account,
    revert_all,
    revert_calls,
    revert_journal,
    scan_own_policies,
)
from deescalate.terminal import clean


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "revert",
        help="undo an apply (dry run unless --yes)",
        description="Undo what apply did, from its journal, or remove every deescalate-… policy (--all).",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--journal", help="the journal apply wrote")
    which.add_argument("--all", action="store_true", help="every policy deescalate wrote in the account")
    p.add_argument("--yes", action="store_true", help="make the calls (default: dry run)")
    p.add_argument("--profile", help="AWS profile (default: boto3's credential chain)")
    p.add_argument("--endpoint-url", help="an AWS-compatible IAM endpoint (e.g. a local moto server)")
    p.set_defaults(func=run)


def _foreign(foreign: tuple[str, ...]) -> None:
    for f in foreign:
        print(clean(f"deescalate: note: {f} is named like ours but deescalate did not write it; left alone"),
              file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    if not args.journal and not args.all:
        raise UsageError("revert needs --journal FILE (undo one apply) or --all (every deescalate-… policy)")
    if args.journal and not Path(args.journal).exists():
        raise MissingInputError("journal", args.journal)
    recs = load_journal(args.journal) if args.journal else []  # every line checked before any call
    clients = connect(profile=args.profile, endpoint_url=args.endpoint_url)
    if not args.yes:
        if args.journal:
            check_journal_account(clients.sts, recs)
            calls = [c for _, c in revert_calls(recs)]
        else:
            own = scan_own_policies(clients.iam)
            _foreign(own.foreign)
            calls = list(own.calls)
        if not calls:
            print("Nothing to revert.")
            return 0
        print(f"Dry run: {len(calls)} undo call(s) would be made (re-run with --yes to make them):")
        for n, call in enumerate(calls, start=1):
            print(clean(f"[{n}] {call.render()}", keep_newlines=True))
        return 0

    def progress(n: int, total: int, call: Call, status: str) -> None:
        shown = status if status in ("ok", "already absent") else "FAILED"
        print(clean(f"[{n}/{total}] {call.render().splitlines()[0]}  {shown}"), flush=True)

    result: RevertResult
    if args.journal:
        result = revert_journal(args.journal, clients, lock_dir=lock_dir(), progress=progress)
    else:
        own, result = revert_all(clients, lock_dir=lock_dir(), progress=progress)
        _foreign(own.foreign)
    total = result.made + result.absent + len(result.errors)
    if not total:
        print("Nothing to revert.")
        return 0
    for error in result.errors:
        print(f"deescalate: {clean(error, keep_newlines=True)}", file=sys.stderr)
    absent = f" ({result.absent} already absent)" if result.absent else ""
    if result.errors:
        failed = len(result.errors)
        print(f"Reverted {result.made} of {total}{absent}; {failed} failed (re-run revert to retry).")
        return EXIT_RUNTIME
    print(f"Reverted {result.made} call(s){absent}.")
    return 0
