"""`deescalate demo`: the packaged demo account's findings, with no AWS and no network.

Same report and gate options as `scan`; the text report by default. Unlike `scan`, the gate
defaults to `--fail-on none` (exit 0): the demo is meant to show findings, not to fail a shell.
"""

from __future__ import annotations

import argparse
from typing import Any

from deescalate.commands import report_output
from deescalate.commands.report_output import add_options, emit, parse_outputs
from deescalate.commands.snapshot_args import load_snapshot_args


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="show the findings of a packaged demo account (no AWS needed)",
        description="Analyse the demo account shipped with deescalate and report its findings, exactly "
        "as `scan` would for a real snapshot. No credentials, no network.",
    )
    add_options(p, default_fail_on="none")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    parse_outputs(args)
    report_output.check_outputs(args, demo=True)
    return emit(report_output.analyze_snapshot(load_snapshot_args([], demo=True), args), args,
                sources=report_output.iam_files([], demo=True))
