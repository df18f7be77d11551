"""`deescalate scan`: analyse snapshot(s), or collect one first, and report who can escalate.

Exit codes: 0 nothing at risk (at or above `--fail-on`), 1 findings, 2 usage, 3 runtime error.
"""

from __future__ import annotations

import argparse
import gc
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from deescalate.commands import parallel, report_output
from deescalate.commands.report_output import add_options, emit, parse_outputs
from deescalate.commands.snapshot_args import load_snapshot_args
from deescalate.errors import UsageError
from deescalate.gctune import fewer_full_collections


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
    p.add_argument("snapshots", nargs="*", metavar="SNAPSHOT",
                   help="snapshot directory or get-account-authorization-details file; several "
                   "(one per account) are analysed together")
    p.add_argument("--demo", action="store_true", help="use the packaged demo account as SNAPSHOT")
    p.add_argument("--endpoint-url", help="collect first from this AWS-compatible endpoint")
    p.add_argument("--profile", help="collect first with this AWS profile")
    p.add_argument("--region", action="append", dest="regions", metavar="R",
                   help="collect first, from this region (repeatable)")
    p.add_argument("--terraform-plan", metavar="PLAN.json",
                   help="scan the account as this Terraform plan leaves it (`terraform show -json tfplan` "
                   "output), on top of SNAPSHOT when given, and report what the change introduces and "
                   "resolves")
    p.add_argument("--account-id", metavar="ID",
                   help="with --terraform-plan: the AWS account id, when the plan does not tell it")
    p.add_argument("--terraform-dir", metavar="DIR",
                   help="with --terraform-plan: the Terraform configuration, to point reports at the .tf "
                   "file and line of each resource that opens an escalation")
    add_options(p)
    parallel.add_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    parse_outputs(args)  # a bad --output is a usage error before any collection or analysis
    if args.terraform_plan:
        with fewer_full_collections():  # files only (gctune.py)
            return _run_plan(args)
    if args.account_id or args.terraform_dir:
        raise UsageError("--account-id and --terraform-dir go with --terraform-plan")
    if args.fail_on == "new":
        raise UsageError("--fail-on new needs --terraform-plan: without a change no finding is new")
    live = bool(args.endpoint_url or args.profile or args.regions)
    if (args.snapshots or args.demo) and live:
        raise UsageError("give SNAPSHOT paths (or --demo) or --endpoint-url/--profile/--region to collect, "
                         "not both")
    if not args.snapshots and not args.demo and not live:
        raise UsageError("give a SNAPSHOT (directory or get-account-authorization-details file), --demo, "
                         "or --profile/--region/--endpoint-url to collect one first")
    report_output.check_outputs(args, args.snapshots, demo=args.demo)
    organization = parallel.organization_dir(args)
    if organization is not None and not args.with_plan:
        with fewer_full_collections():  # files only (gctune.py)
            return emit(parallel.analyze_organization(organization, args), args,
                        sources=report_output.iam_files(args.snapshots))
    if args.snapshots or args.demo:
        with fewer_full_collections():
            snapshot = load_snapshot_args(args.snapshots, demo=args.demo)
            return emit(report_output.analyze_snapshot(snapshot, args), args,
                        sources=report_output.iam_files(args.snapshots, demo=args.demo))
    return _collect_and_scan(args)


def _collect_and_scan(args: argparse.Namespace) -> int:
    """Collect into a temporary directory with the interpreter's own collection thresholds (boto3
    clients and thread pools leave reference cycles behind), free them, then analyse as above."""
    from deescalate.collect import collect

    with tempfile.TemporaryDirectory(prefix="deescalate-") as tmp:
        from deescalate.commands.collect_cmd import reporter

        shown = reporter()
        finished = False
        try:
            out = collect(Path(tmp) / "snapshot", profile=args.profile, regions=args.regions,
                          endpoint_url=args.endpoint_url, progress=shown, on_retry=shown.retry)
            finished = True
        finally:
            shown.close(finished=finished)
        print(f"deescalate: collected a snapshot into {out} (temporary)", file=sys.stderr)
        # SARIF names the collected IAM file relative to a base id: the directory is gone afterwards.
        from deescalate.report.locate import IamFile
        from deescalate.report.sarif import COLLECTED_BASE
        from deescalate.snapshot.layout import IAM_DETAILS

        collected = IamFile(path=Path(out) / IAM_DETAILS, uri=IAM_DETAILS, uri_base_id=COLLECTED_BASE)
        gc.collect()  # the collection's cycles, before the analysis keeps them for its whole run
        with fewer_full_collections():
            return emit(report_output.analyze_snapshot(load_snapshot_args([str(out)]), args), args,
                        sources=[collected])


def _run_plan(args: argparse.Namespace) -> int:
    """`scan --terraform-plan PLAN.json [SNAPSHOT ...]`: the account after the change, and the change."""
    if args.endpoint_url or args.profile or args.regions:
        raise UsageError("--terraform-plan reads SNAPSHOT files, it does not collect: drop "
                         "--endpoint-url/--profile/--region (collect first, then give the snapshot)")
    if args.account_id is not None and not re.fullmatch(r"\d{12}", args.account_id):
        raise UsageError(f"--account-id {args.account_id!r}: an AWS account id is 12 digits")
    if args.terraform_dir and not Path(args.terraform_dir).is_dir():
        raise UsageError(f"--terraform-dir {args.terraform_dir}: no such directory")
    from dataclasses import replace

    from deescalate.analysis.change import analyze_change
    from deescalate.snapshot.terraform import load_terraform_plan
    from deescalate.snapshot.terraform.source import find_locations

    base = load_snapshot_args(args.snapshots) if args.snapshots else None
    scan = load_terraform_plan(args.terraform_plan, base, account_id=args.account_id)
    _, report = analyze_change(scan, targets=tuple(args.targets))
    if args.terraform_dir and report.change is not None:
        wanted = {a for o in report.change.opened for a in o.addresses}
        report = replace(report, change=replace(report.change,
                                                locations=find_locations(args.terraform_dir, sorted(wanted))))
    if args.with_plan and report.findings:
        from deescalate.remediate.plan import build_plan, default_analyze

        targets = tuple(args.targets)
        plan = build_plan(scan.after, report, default_analyze(targets), targets=targets)
        report = replace(report, plan=plan)
    return emit(report, args, sources=report_output.iam_files(args.snapshots))
