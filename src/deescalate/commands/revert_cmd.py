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

`--organization`: `--journal` (repeatable) names journal files or directories (every
`*.journal.jsonl` in them); each journal is replayed in the account it records, with the caller's
credentials for the caller's account and an assumed role (`--role-name`, `--role-arn-template`)
for any other. `--all --organization --accounts ID,ID` removes every policy deescalate wrote in each
account named. An account that fails is reported in one line and the others go on; the exit code is
the largest among the failed accounts, 0 when all succeeded.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from deescalate.commands.apply_cmd import (
    add_organization_args,
    lock_dir,
    refuse_role_without_organization,
    report_accounts,
    role_arn_fn,
)
from deescalate.errors import EXIT_RUNTIME, ApplyError, MissingInputError, UsageError
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
    which.add_argument("--journal", action="append", metavar="FILE",
                       help="the journal apply wrote (with --organization: repeatable, files or directories)")
    which.add_argument("--all", action="store_true", help="every policy deescalate wrote in the account")
    p.add_argument("--yes", action="store_true", help="make the calls (default: dry run)")
    p.add_argument("--profile", help="AWS profile (default: boto3's credential chain)")
    p.add_argument("--endpoint-url", help="an AWS-compatible IAM endpoint (e.g. a local moto server)")
    p.add_argument("--accounts", metavar="ID,ID",
                   help="with --all --organization: the accounts whose deescalate policies to remove")
    add_organization_args(p, "revert")
    p.set_defaults(func=run)


def _foreign(foreign: tuple[str, ...]) -> None:
    for f in foreign:
        print(clean(f"deescalate: note: {f} is named like ours but deescalate did not write it; left alone"),
              file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    if not args.journal and not args.all:
        raise UsageError("revert needs --journal FILE (undo one apply) or --all (every deescalate-… policy)")
    refuse_role_without_organization(args)
    if args.accounts and not (args.all and args.organization):
        raise UsageError("--accounts goes with --all --organization")
    if args.organization:
        return _run_organization(args)
    if args.journal and len(args.journal) > 1:
        raise UsageError("give one --journal (several go with --organization)")
    args.journal = args.journal[0] if args.journal else None
    if args.journal and Path(args.journal).is_dir():
        raise UsageError(f"{args.journal} is a directory: revert the journals in it with --organization")
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


JOURNAL_SUFFIX = ".journal.jsonl"
_ACCOUNT_RE = re.compile(r"\d{12}\Z")


def journal_files(given: list[str]) -> list[Path]:
    """The journals named: files as given, directories by their `*.journal.jsonl` (no symlinks)."""
    out: list[Path] = []
    for name in given:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.name.endswith(JOURNAL_SUFFIX) and p.is_file()
                           and not p.is_symlink())
            if not found:
                raise UsageError(f"{name}: no journal (*{JOURNAL_SUFFIX}) in this directory")
            out += found
        elif not path.exists():
            raise MissingInputError("journal", name)
        else:
            out.append(path)
    return list(dict.fromkeys(out))


def _accounts(text: str) -> list[str]:
    accounts = [a.strip() for a in text.split(",") if a.strip()]
    bad = [a for a in accounts if not _ACCOUNT_RE.match(a)]
    if bad or not accounts:
        raise UsageError(f"--accounts {text!r}: give 12-digit account ids separated by commas")
    return list(dict.fromkeys(accounts))


def _run_organization(args: argparse.Namespace) -> int:
    from deescalate.errors import DeescalateError
    from deescalate.remediate.apply import account_of_caller, caller_principal
    from deescalate.remediate.aws import Clients
    from deescalate.remediate.journal import JournalRecord, journal_account
    from deescalate.remediate.orgapply import require_account, run_per_account

    def progress(n: int, total: int, call: Call, status: str) -> None:
        shown = status if status in ("ok", "already absent") else "FAILED"
        print(clean(f"[{n}/{total}] {call.render().splitlines()[0]}  {shown}"), flush=True)

    def show(result: RevertResult) -> RevertResult:
        total = result.made + result.absent + len(result.errors)
        absent = f" ({result.absent} already absent)" if result.absent else ""
        if not total:
            print("Nothing to revert.")
        elif result.errors:
            print(f"Reverted {result.made} of {total}{absent}; {len(result.errors)} failed "
                  "(re-run revert to retry).")
            raise ApplyError("\n".join(result.errors))
        else:
            print(f"Reverted {result.made} call(s){absent}.")
        return result

    def dry_calls(calls: list[Call]) -> None:
        if not calls:
            print("Nothing to revert.")
            return
        print(f"Dry run: {len(calls)} undo call(s) would be made (re-run with --yes to make them):")
        for n, call in enumerate(calls, start=1):
            print(clean(f"[{n}] {call.render()}", keep_newlines=True))

    def started(account: str, via: str) -> None:
        print(clean(f"== account {account} ({via})"), flush=True)

    base = connect(profile=args.profile, endpoint_url=args.endpoint_url)
    caller = caller_principal(base.sts)
    if args.all:
        if not args.accounts:
            raise UsageError("revert --all --organization needs --accounts ID,ID (the accounts to clean)")

        def clean_all(account: str, clients: Clients) -> RevertResult | None:
            require_account(account_of_caller(caller_principal(clients.sts)), account, "the role assumed")
            if not args.yes:
                own = scan_own_policies(clients.iam)
                _foreign(own.foreign)
                dry_calls(list(own.calls))
                return None
            own, result = revert_all(clients, lock_dir=lock_dir(), progress=progress)
            _foreign(own.foreign)
            return show(result)

        results = run_per_account(_accounts(args.accounts), base, clean_all, caller=caller,
                                  role_arn=role_arn_fn(args, caller), started=started)
        return report_accounts(results, "Reverted" if args.yes else "Dry run of")

    # every journal checked before any call; each journal holds one account
    by_account: dict[str, list[tuple[Path, list[JournalRecord]]]] = {}
    refused: dict[str, DeescalateError] = {}
    for path in journal_files(args.journal):
        try:
            recs = load_journal(path)
        except DeescalateError as e:
            refused[f"{path}"] = e
            continue
        account = journal_account(recs)
        if account is None:
            print(clean(f"  {path}: records no call; nothing to revert"))
            continue
        by_account.setdefault(account, []).append((path, recs))
    for name, error in refused.items():
        print(clean(f"deescalate: {name}: {error}", keep_newlines=True), file=sys.stderr)

    def undo(account: str, clients: Clients) -> None:
        for path, recs in by_account[account]:
            print(clean(f"  journal {path}"))
            if not args.yes:
                check_journal_account(clients.sts, recs)
                dry_calls([c for _, c in revert_calls(recs)])
            else:
                show(revert_journal(path, clients, lock_dir=lock_dir(), progress=progress))

    results = run_per_account(sorted(by_account), base, undo, caller=caller,
                              role_arn=role_arn_fn(args, caller), started=started)
    code = report_accounts(results, "Reverted" if args.yes else "Dry run of")
    if refused:
        print(clean(f"{len(refused)} journal(s) refused: {', '.join(refused)}"))
        code = max(code, EXIT_RUNTIME)
    return code
