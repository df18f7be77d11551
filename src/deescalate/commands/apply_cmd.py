"""`deescalate apply PLAN [--yes] [--profile P] [--endpoint-url URL] [--journal FILE]`.

Dry run by default: prints the exact IAM calls and documents that `--yes` would make (after the
same live checks: account, caller, staleness, ownership, what is already in place). With `--yes`
it makes them, journalling each call before and after (default journal: next to the plan,
`<plan>.journal.jsonl`). Exit 0 when done (or nothing to do), 3 when a check refuses or a call fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from deescalate.errors import UsageError
from deescalate.remediate.apply import execute, prepare
from deescalate.remediate.aws import connect
from deescalate.remediate.journal import Call, Journal, default_journal_path
from deescalate.remediate.planfile import read_plan
from deescalate.remediate.quotas import render_document


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "apply",
        help="apply a plan's denies to the account (dry run unless --yes)",
        description="Apply the denies of a plan file. Without --yes, print the exact calls only.",
    )
    p.add_argument("plan", help="the plan file written by `deescalate plan`")
    p.add_argument("--yes", action="store_true", help="make the calls (default: dry run)")
    p.add_argument("--profile", help="AWS profile (default: boto3's credential chain)")
    p.add_argument("--endpoint-url", help="an AWS-compatible IAM/STS endpoint (e.g. a local moto server)")
    p.add_argument("--journal", help="journal file (default: <plan>.journal.jsonl next to the plan)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    plan = read_plan(args.plan)
    if not plan.verified:
        print(
            f"deescalate: warning: this plan is not verified ({len(plan.remaining)} escalation "
            "edge(s) remain); `deescalate plan --check` lists them",
            file=sys.stderr,
        )
    for pp in plan.principals:
        rendered = render_document(pp.denies)
        recorded = json.loads(pp.document) if pp.document else {"Version": "2012-10-17", "Statement": []}
        if recorded != rendered and not pp.unfixable:
            raise UsageError(
                f"{args.plan}: the denies switched on for {pp.principal} differ from its verified "
                f"document: the plan was edited after it was checked. Run `deescalate plan --check "
                f"{args.plan} SNAPSHOT` first (it re-verifies the edit and records the result in the plan)"
            )
    clients = connect(profile=args.profile, endpoint_url=args.endpoint_url)
    prepared = prepare(plan, clients, where=args.plan)
    for note in prepared.notes:
        print(f"  {note}")
    calls = prepared.calls
    if not calls:
        print("Nothing to do: the account already matches the plan.")
        return 0
    if not args.yes:
        print(f"Dry run: {len(calls)} call(s) would be made (re-run with --yes to make them):")
        for n, call in enumerate(calls, start=1):
            print(f"[{n}] {call.render()}")
        return 0
    journal_path = args.journal or default_journal_path(args.plan)
    journal = Journal(journal_path)

    def progress(n: int, call: Call) -> None:
        print(f"[{n}/{len(calls)}] {call.render().splitlines()[0]}  ok", flush=True)

    made = execute(calls, clients.iam, journal, progress)
    print(f"Applied {made} call(s). Journal: {journal_path}")
    print(f"Undo with: deescalate revert --journal {journal_path} --yes")
    return 0
