"""Shared by `scan` and `demo`: the report/gate options, analysis, rendering and the exit code.

Not a subcommand. Owns the I/O around `deescalate.report` and `deescalate.report.gate`: which formats go
where (stdout, `-o FILE`, repeated `--output FORMAT=FILE`), colour only on a terminal, warnings to
stderr, and the exit code from the gate (0 clean, 1 findings at or above `--fail-on`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from deescalate.errors import DeescalateError, UsageError
from deescalate.files import open_private
from deescalate.model import Report, Snapshot
from deescalate.report import FORMATS, Detail, RenderOptions, write
from deescalate.report.gate import FAIL_ON_CHOICES, FailOn, evaluate, load_suppressions
from deescalate.report.locate import IamFile, principal_locations, uri_for
from deescalate.snapshot.layout import IAM_DETAILS, MANIFEST
from deescalate.terminal import clean

log = logging.getLogger("deescalate.report")


def add_options(p: argparse.ArgumentParser, *, default_fail_on: str = "any") -> None:
    p.add_argument(
        "--target",
        action="append",
        dest="targets",
        default=[],
        metavar="ARN-PATTERN",
        help="also protect principals matching this ARN pattern (* and ? wildcards), as if admins "
        "(repeatable)",
    )
    p.add_argument("--format", choices=FORMATS, default="text",
                   help="report format on stdout or -o (default text)")
    p.add_argument("-o", dest="out", metavar="FILE",
                   help="write the --format report to FILE instead of stdout")
    p.add_argument(
        "--output",
        action="append",
        dest="outputs",
        default=[],
        metavar="FORMAT=FILE",
        help="also write FORMAT to FILE (repeatable), e.g. --output sarif=results.sarif "
        "--output html=report.html",
    )
    p.add_argument(
        "--fail-on",
        choices=FAIL_ON_CHOICES,
        default=default_fail_on,
        help="exit 1 when a finding reaches this level: any (every finding, also conditional ones), "
        "conditional (tolerate conditional findings: only certain ones fail), new (only findings a "
        "--terraform-plan change introduces), none (never), or a "
        f"severity critical/high/medium/low and worse (default {default_fail_on})",
    )
    p.add_argument(
        "--suppressions",
        metavar="FILE",
        help="YAML or JSON file of accepted risks (principal pattern, technique, reason, expires)",
    )
    p.add_argument("--with-plan", action="store_true",
                   help="also compute the remediation plan and include it in the report")
    p.add_argument(
        "--detail",
        choices=[d.value for d in Detail],
        default=Detail.SUMMARY.value,
        help="text and HTML: summary (default) shows each finding's --max-paths shortest paths and counts "
        "the rest; full shows every path and edge (JSON and SARIF always carry everything)",
    )
    p.add_argument("--max-paths", type=_positive, default=3, metavar="N",
                   help="text and HTML, --detail summary: paths (and other edges) shown per finding "
                   "(default 3)")
    p.add_argument("--sarif-all-rules", action="store_true",
                   help="SARIF: list a rule for every known technique, not only those with results")
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour in the text report (auto: only when writing to a terminal, and NO_COLOR unset)",
    )


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {n}")
    return n


def iam_files(snapshots: Sequence[str], *, demo: bool = False) -> list[IamFile]:
    """The IAM files of the SNAPSHOT paths as given (directory, manifest or file), for SARIF locations.

    The packaged demo's file is named relative to a SARIF base id: no path of this machine shows.
    """
    cwd = Path.cwd()
    out: list[IamFile] = []
    for given in snapshots:
        path = Path(given)
        if path.is_dir():
            file = path / IAM_DETAILS
        elif path.name == MANIFEST:
            file = path.parent / IAM_DETAILS
        else:
            file = path
        out.append(IamFile(path=file, uri=uri_for(file, cwd)))
    if demo:
        from deescalate.report.sarif import DEMO_BASE
        from deescalate.snapshot import demo_path

        out.append(IamFile(path=demo_path() / IAM_DETAILS, uri=IAM_DETAILS, uri_base_id=DEMO_BASE))
    return out


def parse_outputs(args: argparse.Namespace) -> list[tuple[str, Path | None]]:
    """[(format, file or None for stdout)], validated before any work is done."""
    out: list[tuple[str, Path | None]] = [(args.format, Path(args.out) if args.out else None)]
    for spec in args.outputs:
        fmt, sep, file = spec.partition("=")
        if not sep or not file:
            raise UsageError(f"--output expects FORMAT=FILE, got {spec!r}")
        if fmt not in FORMATS:
            raise UsageError(f"--output {spec!r}: unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
        out.append((fmt, Path(file)))
    return out


def check_outputs(args: argparse.Namespace, snapshots: Sequence[str] = (), *, demo: bool = False) -> None:
    """Usage error, before any work, when `-o`/`--output` would write over an input (a snapshot
    file or directory, the suppression file) or two outputs share a file."""
    from deescalate.commands.snapshot_args import refuse_overwriting_inputs

    files: list[tuple[str, Path]] = []
    if args.out:
        files.append((f"-o {args.out}", Path(args.out)))
    files += [(f"--output {fmt}={path}", path) for fmt, path in parse_outputs(args)[1:] if path is not None]
    inputs = [Path(s) for s in snapshots]
    if demo:
        from deescalate.snapshot import demo_path

        inputs.append(demo_path())
    if args.suppressions:
        inputs.append(Path(args.suppressions))
    refuse_overwriting_inputs(files, inputs)


def analyze_snapshot(snapshot: Snapshot, args: argparse.Namespace) -> Report:
    """Run the analysis (and the planner when asked). Imported lazily: the CLI starts fast."""
    from deescalate.analysis.analyze import analyze

    targets = tuple(args.targets)
    started = time.perf_counter()
    report: Report = analyze(snapshot, targets=targets)
    log.info("analysis done: %d admin(s), %d finding(s), %d edge(s) in %.2fs", len(report.admins),
             len(report.findings), len(report.edges), time.perf_counter() - started)
    if args.with_plan and report.findings:
        from deescalate.remediate.plan import build_plan, default_analyze

        started = time.perf_counter()
        report = replace(report, plan=build_plan(snapshot, report, default_analyze(targets), targets=targets))
        log.info("plan: %d principal(s) with denies in %.2fs",
                 len(report.plan.principals) if report.plan else 0, time.perf_counter() - started)
    return report


def emit(report: Report, args: argparse.Namespace, *, sources: Sequence[IamFile] = ()) -> int:
    """Gate, render every requested output, print warnings; return the exit code.

    `sources` are the snapshots' IAM files, for SARIF locations (read only when SARIF is asked for).
    """
    outputs = parse_outputs(args)
    suppressions = load_suppressions(args.suppressions) if args.suppressions else ()
    if args.suppressions:
        log.info("read %d suppression(s) from %s", len(suppressions), args.suppressions)
    gate = evaluate(report, fail_on=FailOn(args.fail_on), suppressions=suppressions)
    locations = principal_locations(sources) if any(fmt == "sarif" for fmt, _ in outputs) else {}
    options = RenderOptions(detail=Detail(args.detail), max_paths=args.max_paths,
                            sarif_all_rules=args.sarif_all_rules, locations=locations)
    for w in gate.warnings():
        print(f"deescalate: warning: {clean(w)}", file=sys.stderr)
    for fmt, file in outputs:
        started = time.perf_counter()
        if file is None:
            color = args.color == "always" or (
                args.color == "auto" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
            )
            started = time.perf_counter()
            write(fmt, report, sys.stdout, gate=gate, color=color and fmt == "text", options=options)
            log.info("wrote the %s report to stdout in %.2fs", fmt, time.perf_counter() - started)
            sys.stdout.flush()
        else:
            started = time.perf_counter()
            try:
                with os.fdopen(open_private(file, append=False), "w", encoding="utf-8") as out:
                    write(fmt, report, out, gate=gate, color=args.color == "always" and fmt == "text",
                          options=options)
            except OSError as e:
                raise DeescalateError(f"cannot write the {fmt} report to {file}: {e.strerror or e}") from e
            log.info("rendered the %s report in %.2fs", fmt, time.perf_counter() - started)
            print(f"deescalate: wrote the {fmt} report to {clean(str(file))}", file=sys.stderr)
        log.info("wrote the %s report in %.2fs", fmt, time.perf_counter() - started)
    return gate.exit_code
