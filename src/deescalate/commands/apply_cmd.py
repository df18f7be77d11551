"""`deescalate apply PLAN [--yes] [--allow-manual] [--profile P] [--endpoint-url URL] [--journal FILE]`.

Dry run by default: prints the exact IAM calls and documents that `--yes` would make (after the
same checks: the plan file's digest, the library's plan vetting, and the live checks of account,
caller, staleness, ownership, what is already in place), and flags every hand-written deny (not
tied to an escalation edge of a finding), which `--yes` applies only with `--allow-manual`.
With `--yes` it makes the calls while holding the journal's and the account's locks, journalling
each call before and after (default journal: next to the plan, `<plan>.journal.jsonl`, mode 0600).
Exit 0 when done (or nothing to do), 2 when the plan is refused (malformed, edited after its check,
unsafe), 3 when a live check refuses or a call fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from deescalate.remediate.apply import apply_plan, prepare
from deescalate.remediate.aws import connect
from deescalate.remediate.journal import Call, default_journal_path
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
    p.set_defaults(func=run)


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
