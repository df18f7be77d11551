"""`deescalate plan SNAPSHOT -o plan.json [--principal ARN ...]` and `plan --check plan.json SNAPSHOT`.

Plan: analyse, compute the minimal verified deny plan, write it (JSON; stdout without -o) and print
a summary. With `-o DIR/` (an existing directory, or a path ending in `/`) the plan is written as one
file per account, `DIR/<ACCOUNT>.plan.json` (remediate/accounts.py), verified over all accounts
together. Check: re-read an edited plan (a file, or such a directory: every account's file joined
again), re-render its active denies, re-verify against the snapshot, and list exactly the
escalation edges it leaves open.
Exit codes: 0 verified (nothing left open), 1 edges left open or a principal unfixable within
quotas, 2 usage error, 3 runtime error.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

from deescalate.arn import account_of, parse_arn
from deescalate.commands import parallel
from deescalate.commands.snapshot_args import load_snapshot_args, refuse_overwriting_inputs
from deescalate.errors import EXIT_CLEAN, EXIT_FINDINGS, UsageError
from deescalate.gctune import fewer_full_collections
from deescalate.model import Edge, Plan, Snapshot
from deescalate.remediate.usage import usage_of
from deescalate.terminal import clean

log = logging.getLogger("deescalate.plan")


def _say(text: str, **kwargs: Any) -> None:
    """Print a human-facing line through the one sanitiser (names come from the account)."""
    print(clean(text, keep_newlines=True), **kwargs)


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "plan",
        help="compute the minimal verified deny plan (or --check an edited one)",
        description="Compute, for every principal at risk, the fewest and narrowest explicit denies that "
        "cut all of its escalation edges, verified by re-running the analysis. With --check, re-verify an "
        "edited plan file and list the paths it leaves open. Exit 0 verified, 1 paths left open.",
    )
    p.add_argument("snapshots", nargs="*", metavar="SNAPSHOT",
                   help="snapshot directory or file; several (one per account) are analysed together, "
                   "as by scan, so cross-account paths are planned")
    p.add_argument("--demo", action="store_true", help="use the packaged demo account as the snapshot")
    p.add_argument("-o", dest="out", metavar="FILE|DIR/",
                   help="write the plan to FILE (default: stdout); to an existing directory or a path "
                   "ending in / : one plan file per account, DIR/ACCOUNT.plan.json")
    p.add_argument("--principal", action="append", dest="principals", default=[], metavar="ARN",
                   help="plan only this user or role: its ARN or its unique name, as explain --principal "
                   "(repeatable)")
    p.add_argument("--target", action="append", dest="targets", default=[], metavar="ARN-PATTERN",
                   help="also protect principals matching this pattern, as `scan --target` (repeatable)")
    p.add_argument("--check", metavar="PLAN",
                   help="re-verify this (edited) plan file, or directory of per-account plan files, "
                   "against SNAPSHOT")
    p.add_argument("--fail-on-impact", type=int, metavar="DAYS", dest="fail_on_impact",
                   help="exit 1 when a deny blocks an action the principal used within DAYS days "
                   "(needs `collect --last-accessed` data; denies of used actions are always warned about)")
    parallel.add_options(p)
    p.set_defaults(func=run)


def _short(arn: str) -> str:
    parsed = parse_arn(arn)
    return parsed.resource if parsed is not None else arn


def edge_line(edge: Edge) -> str:
    via = f" via {_short(edge.via)}" if edge.via else ""
    grants = " | ".join(
        " + ".join(f"{g.action} on {g.resource}" + (f" (as {_short(g.principal)})" if g.principal else "")
                   for g in alt)
        for alt in edge.alternatives
    )
    return (f"{_short(edge.source)} --{edge.technique}--> {_short(edge.target)}{via}\n"
            f"        still allowed: {grants or '(nothing a deny can cut)'}")


def _summary(plan: Plan, snapshot: Snapshot, at_risk: list[str]) -> list[str]:
    from deescalate.remediate.quotas import choose_placement, render_document

    accounts = snapshot.all_accounts()
    which = (f"account {plan.account_id} (snapshot {plan.snapshot})" if len(accounts) == 1 else
             f"{len(accounts)} accounts: {', '.join(accounts)} (snapshots {plan.snapshot})")
    lines = [f"Plan for {which}: {len(at_risk)} principal(s) at risk, {len(plan.principals)} with denies"]
    planned = {p.principal for p in plan.principals}
    several = len(accounts) > 1

    def short(arn: str) -> str:  # with several accounts, names are shown with their account
        return f"{account_of(arn)}:{_short(arn)}" if several and account_of(arn) else _short(arn)

    for pp in plan.principals:
        active = [d for d in pp.denies if d.apply]
        proof = "least disruptive, exact" if pp.minimal else "best found, not proven optimal"
        document = render_document(pp.denies)
        where = choose_placement(snapshot, pp.principal, document)
        written = len(document["Statement"])
        place = (f"UNFIXABLE: {pp.unfixable}" if pp.unfixable else
                 f"{pp.placement} policy {pp.policy_name} ({where.detail})" if active else "nothing to write")
        lines.append(f"{short(pp.principal)}: {len(active)} deny(s) in {written} statement(s) ({proof}); "
                     f"{place}")
        for d in pp.denies:
            flag = "" if d.apply else "  [apply: false]"
            lines.append(f"  {d.id} deny {d.action} on {d.resource}{flag}")
            score = "" if d.disruption is None else f"; disruption {d.disruption}"
            lines.append(f"      cuts {len(d.cuts)} edge(s): {', '.join(d.techniques)}{score}")
            if pp.principal in snapshot.last_accessed:
                lines.append(f"      {usage_of(snapshot, pp.principal, d.action).text()}")
    for arn in at_risk:
        if arn not in planned:
            lines.append(f"{short(arn)}: no escalation edge of its own; its paths run through the "
                         "principals above")
    return lines


def _verdict(plan: Plan) -> list[str]:
    if plan.verified:
        return ["Verified: re-running the analysis with these denies finds no escalation edge left."]
    lines = []
    if plan.remaining:
        lines.append(f"NOT verified: {len(plan.remaining)} escalation edge(s) remain open:")
        lines += [f"  {edge_line(e)}" for e in plan.remaining]
    for pp in plan.principals:
        if pp.unfixable:
            lines.append(f"  {_short(pp.principal)} cannot be fixed within AWS quotas: {pp.unfixable}")
    return lines


@fewer_full_collections()  # reads files only: no AWS client's garbage to free (gctune.py)
def run(args: argparse.Namespace) -> int:
    from deescalate.remediate.planfile import dumps, write_plan

    inputs = [Path(s) for s in args.snapshots]
    if args.demo:
        from deescalate.snapshot import demo_path

        inputs.append(demo_path())
    if args.check:  # --check writes its result into the plan file itself
        refuse_overwriting_inputs([(f"--check {args.check}", Path(args.check))], inputs)
    elif args.out:
        refuse_overwriting_inputs([(f"-o {args.out}", Path(args.out))], inputs)
    organization = parallel.organization_dir(args)
    snapshot = load_snapshot_args(args.snapshots, demo=args.demo)
    if args.check:
        return _check(args, snapshot)
    from deescalate.analysis.analyze import analyze
    from deescalate.analysis.reuse import Reuse
    from deescalate.policy.explain import resolve_principal
    from deescalate.remediate.plan import build_plan, default_analyze

    # The same forms as `explain --principal` (ARN or unique name); one the snapshot lacks is a
    # usage error, not an empty plan that says "Verified".
    principals = list(dict.fromkeys(resolve_principal(snapshot, name) for name in args.principals))
    targets = tuple(args.targets)
    started = time.perf_counter()
    # An organization: the findings account by account (--workers/--dask); the plan's verification
    # re-analyses the snapshot with each deny in place.
    # The verification analyses keep the edges of the principals the plan leaves unchanged
    # (analysis/reuse.py), the findings' analysis included when it summarised nobody.
    reuse = Reuse()
    report = (analyze(snapshot, targets=targets, reuse=reuse) if organization is None
              else parallel.analyze_organization(organization, args))
    log.info("analysis: %d finding(s) in %.2fs", len(report.findings), time.perf_counter() - started)
    at_risk = [f.principal for f in report.findings]
    for arn in principals:
        if arn not in at_risk:
            _say(f"deescalate: note: {arn} has no finding in this snapshot; nothing to plan for it",
                  file=sys.stderr)
    wanted = principals or None
    started = time.perf_counter()
    plan = build_plan(snapshot, report, default_analyze(targets, reuse), principals=wanted, targets=targets)
    log.info("done: %d principal(s) with denies, verified=%s, in %.2fs", len(plan.principals),
             plan.verified, time.perf_counter() - started)
    if args.out and _is_dir_target(args.out):
        from deescalate.remediate.accounts import split_plan, write_plan_dir

        parts = split_plan(plan)
        written, removed = write_plan_dir(parts, args.out, prune=True)
        shown = [a for a in at_risk if wanted is None or a in wanted]
        idle = [a for a in snapshot.all_accounts() if a not in parts]
        _say("\n".join([
            *_summary(plan, snapshot, shown), *_verdict(plan),
            *(f"Wrote {path} (account {account}: {len(part.principals)} principal(s) with denies"
              f"{f', {len(part.remaining)} edge(s) left open' if part.remaining else ''})"
              for path, (account, part) in zip(written, sorted(parts.items()), strict=True)),
            *([f"No plan file for {len(idle)} account(s) with nothing to deny: {', '.join(idle)}"]
              if idle else []),
            *(f"Removed {path} (an earlier plan of an account with nothing to deny now)" for path in removed),
        ]))
    elif args.out:
        write_plan(plan, args.out)
        shown = [a for a in at_risk if wanted is None or a in wanted]
        _say("\n".join([*_summary(plan, snapshot, shown), *_verdict(plan), f"Wrote {args.out}"]))
    else:
        sys.stdout.write(dumps(plan))
    impact = _impact(plan, snapshot, args.fail_on_impact)
    if not plan.verified:
        return EXIT_FINDINGS
    return EXIT_FINDINGS if impact else EXIT_CLEAN


def _is_dir_target(out: str) -> bool:
    """`-o DIR/`: an existing directory, or a path ending in a separator (created)."""
    return out.endswith(("/", "\\")) or Path(out).is_dir()


def _impact(plan: Plan, snapshot: Snapshot, days: int | None) -> bool:
    """Warn of every deny that blocks an action the principal used; True when one is within `days`."""
    hit = False
    for pp in plan.principals:
        for d in pp.denies:
            use = usage_of(snapshot, pp.principal, d.action)
            if not d.apply or not use.used:
                continue
            recent = days is not None and use.days_ago is not None and use.days_ago <= days
            hit = hit or recent
            _say(f"deescalate: {'impact' if recent else 'warning'}: {d.id} denies {d.action} to "
                  f"{_short(pp.principal)}, which it uses ({use.text()})", file=sys.stderr)
    if hit:
        _say(f"deescalate: --fail-on-impact {days}: a deny blocks an action used within {days} day(s)",
              file=sys.stderr)
    return hit


def _check(args: argparse.Namespace, snapshot: Snapshot) -> int:
    from deescalate.remediate.accounts import (
        is_plan_dir,
        join_plans,
        read_plan_dir,
        split_plan,
        write_plan_dir,
    )
    from deescalate.remediate.fingerprint import snapshot_state
    from deescalate.remediate.plan import check_plan, default_analyze
    from deescalate.remediate.planfile import read_plan, write_plan
    from deescalate.remediate.quotas import render_document

    per_account = is_plan_dir(args.check)
    if per_account:
        files = read_plan_dir(args.check, checked=False)
        plan = join_plans(list(files.values()), account_id=snapshot.account_id)
    else:
        plan = read_plan(args.check)
    missing = sorted({plan.account_id} - set(snapshot.all_accounts())) if not per_account else sorted(
        set(files) - set(snapshot.all_accounts()))
    if missing:
        raise UsageError(f"{args.check} is a plan for account {', '.join(missing)}, the snapshot is of "
                         f"{', '.join(snapshot.all_accounts())}")
    for pp in plan.principals:
        if pp.state and snapshot_state(snapshot, pp.principal) != pp.state:
            _say(f"deescalate: warning: {pp.principal} differs from the state the plan recorded",
                  file=sys.stderr)
    targets = tuple(args.targets) or plan.targets
    checked, result = check_plan(snapshot, plan, default_analyze(targets), where=args.check)
    # Record the result (re-rendered documents, placement, verified, remaining) in the plan itself:
    # apply refuses a plan whose switched-on denies differ from its recorded, checked document.
    if per_account:
        write_plan_dir(split_plan(checked, accounts=files), args.check)
    else:
        write_plan(checked, args.check)
    off = [d.id for p in checked.principals for d in p.denies if not d.apply]
    _say(f"Checked {args.check} against {snapshot.source or ', '.join(args.snapshots)}: "
          f"{sum(len(p.denies) for p in checked.principals)} deny(s) in "
          f"{sum(len(render_document(p.denies)['Statement']) for p in checked.principals)} statement(s), "
          f"{len(off)} switched off{' (' + ', '.join(off) + ')' if off else ''}.")
    _say("\n".join(_verdict(checked)))
    if result.open_paths:
        _say(f"Paths to an admin or target left open ({len(result.open_paths)}):")
        for principal, path in result.open_paths:
            hops = " -> ".join([_short(principal)] + [f"[{e.technique}] {_short(e.target)}" for e in path])
            _say(f"  {hops}")
    _say(f"Recorded the result in {args.check}.")
    return EXIT_CLEAN if checked.verified else EXIT_FINDINGS
