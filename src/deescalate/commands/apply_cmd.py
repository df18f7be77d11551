"""`deescalate apply PLAN [--yes] [--allow-manual] [--profile P] [--endpoint-url URL] [--journal FILE]`.

Dry run by default: prints the exact IAM calls and documents that `--yes` would make (after the
same checks: the plan file's digest, the library's plan vetting, and the live checks of account,
caller, staleness, ownership, what is already in place), and flags every hand-written deny (not
tied to an escalation edge of a finding), which `--yes` applies only with `--allow-manual`.
With `--yes` it makes the calls while holding the journal's and the account's locks, journalling
each call before and after (default journal: next to the plan, `<plan>.journal.jsonl`, mode 0600).
Exit 0 when done (or nothing to do), 2 when the plan is refused (malformed, edited after its check,
unsafe), 3 when a live check refuses or a call fails.

`--organization` (PLAN a directory of per-account plan files, or one plan holding several
accounts): each account in turn, the caller's own with its credentials, any other through
sts:AssumeRole of `--role-name` (default OrganizationAccountAccessRole) or `--role-arn-template`;
one journal and one lock per account (`DIR/<ACCOUNT>.plan.journal.jsonl`, or
`<plan>.<ACCOUNT>.journal.jsonl` beside a single plan file). An account that fails is reported in one
line and the others go on; the exit code is then the largest among the failed accounts (2 a plan
refused, 3 a live failure), 0 when every account succeeded.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from deescalate.errors import DeescalateError, UsageError
from deescalate.model import Plan
from deescalate.remediate.apply import Applied, Prepared, apply_plan, caller_principal, prepare
from deescalate.remediate.aws import Clients, connect
from deescalate.remediate.journal import Call, default_journal_path
from deescalate.remediate.orgapply import AccountResult, run_per_account, worst_exit
from deescalate.remediate.planfile import read_checked_plan
from deescalate.remediate.safety import ManualDeny
from deescalate.terminal import clean


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "apply",
        help="apply a plan's denies to the account (dry run unless --yes)",
        description="Apply the denies of a plan file. Without --yes, print the exact calls only.",
    )
    p.add_argument("plan", help="the plan file written by `deescalate plan`")
    p.add_argument("--yes", action="store_true", help="make the calls (default: dry run)")
    p.add_argument("--allow-manual", action="store_true",
                   help="also apply hand-written denies (not tied to an escalation edge of a finding)")
    p.add_argument("--profile", help="AWS profile (default: boto3's credential chain)")
    p.add_argument("--endpoint-url", help="an AWS-compatible IAM/STS endpoint (e.g. a local moto server)")
    p.add_argument("--journal", help="journal file (default: <plan>.journal.jsonl next to the plan)")
    add_organization_args(p, "apply")
    p.set_defaults(func=run)


def add_organization_args(p: argparse.ArgumentParser, verb: str) -> None:
    """--organization, --role-name, --role-arn-template (shared by apply and revert)."""
    p.add_argument("--organization", action="store_true",
                   help=f"{verb} account by account, assuming a role in every account but the caller's "
                   "(one journal and one lock per account)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--role-name", metavar="NAME",
                       help="with --organization: the role to assume in each account "
                       "(default OrganizationAccountAccessRole)")
    which.add_argument("--role-arn-template", metavar="ARN",
                       help="with --organization: the role ARN to assume, {account} standing for the "
                       "account id, e.g. arn:aws:iam::{account}:role/Remediator")


def role_arn_fn(args: argparse.Namespace, caller: str) -> Callable[[str], str]:
    from deescalate.arn import partition_of
    from deescalate.remediate.orgapply import role_arn_for

    partition = partition_of(caller)
    return lambda account: role_arn_for(account, partition=partition, role_name=args.role_name,
                                        template=args.role_arn_template)


def refuse_role_without_organization(args: argparse.Namespace) -> None:
    if not args.organization and (args.role_name or args.role_arn_template):
        raise UsageError("--role-name and --role-arn-template go with --organization")


def report_accounts(results: Sequence[AccountResult[Any]], verb: str) -> int:
    """One line per failed account (details, when several lines, first); the exit code."""
    failed = [r for r in results if r.error is not None]
    for r in failed:
        if "\n" in str(r.error):
            print(clean(f"deescalate: account {r.account}: {r.error}", keep_newlines=True), file=sys.stderr)
    for r in failed:
        print(clean(f"deescalate: {r.error_line()}"), file=sys.stderr)
    done = len(results) - len(failed)
    tail = f"; {len(failed)} failed: {', '.join(r.account for r in failed)}" if failed else ""
    print(clean(f"{verb} {done} of {len(results)} account(s){tail}."))
    return worst_exit(results)


def lock_dir() -> Path:
    """Where the per-account locks live: a per-user directory under the system's temporary directory."""
    return Path(tempfile.gettempdir()) / f"deescalate-{os.getuid()}"


def _manual_lines(manual: tuple[ManualDeny, ...], allowed: bool) -> list[str]:
    if not manual:
        return []
    verdict = "applied because of --allow-manual" if allowed else "applied only with --allow-manual"
    lines = [f"Manual: {len(manual)} deny(ies) are not tied to an escalation edge of a finding "
             f"(hand-written); {verdict}:"]
    lines += [f"  {m.deny.id} deny {m.deny.action} on {m.deny.resource} for {m.principal}" for m in manual]
    return lines


def run(args: argparse.Namespace) -> int:
    refuse_role_without_organization(args)
    if args.organization:
        return _run_organization(args)
    if Path(args.plan).is_dir():
        raise UsageError(f"{args.plan} is a directory of per-account plans: apply it with --organization")
    plan = read_checked_plan(args.plan)
    if not plan.verified:
        print(
            f"deescalate: warning: this plan is not verified ({len(plan.remaining)} escalation "
            "edge(s) remain); `deescalate plan --check` lists them",
            file=sys.stderr,
        )
    clients = connect(profile=args.profile, endpoint_url=args.endpoint_url)
    if not args.yes:
        prepared = prepare(plan, clients, allow_manual=args.allow_manual, where=args.plan)
        for note in prepared.notes:
            print(clean(f"  {note}"))
        if not prepared.calls:
            print("Nothing to do: the account already matches the plan.")
            return 0
        calls = prepared.calls
        print(f"Dry run: {len(calls)} call(s) would be made (re-run with --yes to make them):")
        manual_principals = {m.principal for m in prepared.manual}
        for n, call in enumerate(calls, start=1):
            flag = "  [MANUAL deny]" if call.principal in manual_principals else ""
            print(clean(f"[{n}] {call.render()}{flag}", keep_newlines=True))
        for line in _manual_lines(prepared.manual, args.allow_manual):
            print(clean(line))
        return 0
    journal_path = args.journal or default_journal_path(args.plan)

    def progress(n: int, total: int, call: Call) -> None:
        print(clean(f"[{n}/{total}] {call.render().splitlines()[0]}  ok"), flush=True)

    applied = apply_plan(plan, clients, journal_path=journal_path, lock_dir=lock_dir(),
                         allow_manual=args.allow_manual, progress=progress, where=args.plan)
    for note in applied.prepared.notes:
        print(clean(f"  {note}"))
    for line in _manual_lines(applied.prepared.manual, args.allow_manual):
        print(clean(line))
    if not applied.made:
        print("Nothing to do: the account already matches the plan.")
        return 0
    print(clean(f"Applied {applied.made} call(s). Journal: {journal_path}"))
    print(clean(f"Undo with: deescalate revert --journal {journal_path} --yes"))
    return 0


def _dry_run_lines(prepared: Prepared, allow_manual: bool) -> list[str]:
    lines = [f"  {note}" for note in prepared.notes]
    if not prepared.calls:
        return [*lines, "Nothing to do: the account already matches the plan."]
    lines.append(f"Dry run: {len(prepared.calls)} call(s) would be made (re-run with --yes to make them):")
    manual_principals = {m.principal for m in prepared.manual}
    for n, call in enumerate(prepared.calls, start=1):
        flag = "  [MANUAL deny]" if call.principal in manual_principals else ""
        lines.append(f"[{n}] {call.render()}{flag}")
    return [*lines, *_manual_lines(prepared.manual, allow_manual)]


def organization_plans(source: Path) -> tuple[dict[str, Plan], dict[str, DeescalateError], dict[str, Path]]:
    """Each account's checked plan (or why it was refused) and its journal path.

    A directory: DIR/<ACCOUNT>.plan.json, journals beside them. One plan file holding several
    accounts: split in memory (its digest covers them all), journals `<plan>.<ACCOUNT>.journal.jsonl`.
    """
    from deescalate.remediate.accounts import plan_dir_files, read_plan_file, split_plan

    plans: dict[str, Plan] = {}
    refused: dict[str, DeescalateError] = {}
    journals: dict[str, Path] = {}
    if source.is_dir():
        for account, path in plan_dir_files(source).items():
            journals[account] = default_journal_path(path)
            try:
                plans[account] = read_plan_file(account, path, checked=True)
            except DeescalateError as e:
                refused[account] = e
    else:
        for account, part in split_plan(read_checked_plan(source)).items():
            plans[account] = part
            journals[account] = source.with_name(f"{source.stem}.{account}.journal.jsonl")
    return plans, refused, journals


def _run_organization(args: argparse.Namespace) -> int:
    if args.journal:
        raise UsageError("--journal names one account's journal; with --organization each account's journal "
                         "is written beside its plan file")
    plans, refused, journals = organization_plans(Path(args.plan))
    if not plans:  # every file refused: nothing to ask AWS
        failed: list[AccountResult[Applied]] = [AccountResult(account=a, via="", error=e)
                                                for a, e in sorted(refused.items())]
        return report_accounts(failed, "Applied to" if args.yes else "Dry run of")
    base = connect(profile=args.profile, endpoint_url=args.endpoint_url)
    caller = caller_principal(base.sts)

    def started(account: str, via: str) -> None:
        print(clean(f"== account {account} ({via})"), flush=True)

    def dry(account: str, clients: Clients) -> Prepared:
        prepared = prepare(plans[account], clients, allow_manual=args.allow_manual, where=str(args.plan))
        for line in _dry_run_lines(prepared, args.allow_manual):
            print(clean(line, keep_newlines=True))
        return prepared

    def real(account: str, clients: Clients) -> Applied:
        journal = journals[account]

        def progress(n: int, total: int, call: Call) -> None:
            print(clean(f"[{n}/{total}] {call.render().splitlines()[0]}  ok"), flush=True)

        applied = apply_plan(plans[account], clients, journal_path=journal, lock_dir=lock_dir(),
                             allow_manual=args.allow_manual, progress=progress, where=str(args.plan))
        for note in applied.prepared.notes:
            print(clean(f"  {note}"))
        for line in _manual_lines(applied.prepared.manual, args.allow_manual):
            print(clean(line))
        if applied.made:
            print(clean(f"Applied {applied.made} call(s). Journal: {journal}"))
        else:
            print("Nothing to do: the account already matches the plan.")
        return applied

    accounts = sorted(set(plans) | set(refused))
    work: Callable[[str, Clients], Any] = real if args.yes else dry
    results = run_per_account(accounts, base, work, caller=caller, role_arn=role_arn_fn(args, caller),
                              refused=refused, started=started)
    code = report_accounts(results, "Applied to" if args.yes else "Dry run of")
    if args.yes and any(r.value is not None and r.value.made for r in results):
        if Path(args.plan).is_dir():
            where = f"--journal {args.plan}"
        else:
            where = " ".join(f"--journal {journals[r.account]}" for r in results
                             if r.value is not None and r.value.made)
        print(clean(f"Undo with: deescalate revert --organization {where} --yes{_role_args(args)}"))
    return code


def _role_args(args: argparse.Namespace) -> str:
    if args.role_arn_template:
        return f" --role-arn-template '{args.role_arn_template}'"
    return f" --role-name {args.role_name}" if args.role_name else ""
