"""`deescalate export PLAN.json --format terraform|cloudformation [-o FILE]`: the plan's denies as code."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from deescalate.errors import EXIT_CLEAN, UsageError
from deescalate.remediate.export import ExportFormat, export_plan
from deescalate.remediate.planfile import read_checked_plan


def register(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="write a plan's deny policies as Terraform JSON or a CloudFormation template",
        description="Write exactly the deny policies `apply` would write (denies with apply: true, as "
        "checked) as Terraform JSON (*.tf.json) or a CloudFormation template, principals referenced by "
        "name, so they can be committed with the rest of the account's IAM code.",
    )
    p.add_argument("plan", help="the plan file (from `deescalate plan`, checked after any edit)")
    p.add_argument("--format", required=True, choices=[f.value for f in ExportFormat], dest="fmt")
    p.add_argument("-o", "--output", help="write here instead of stdout (e.g. deescalate-denies.tf.json)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    plan = read_checked_plan(args.plan)
    document = export_plan(plan, ExportFormat(args.fmt), source=Path(args.plan).name)
    text = json.dumps(document, indent=2) + "\n"
    if args.output:
        out = Path(args.output)
        if out.resolve() == Path(args.plan).resolve():
            raise UsageError(f"-o {args.output} is the plan being exported; choose another file")
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as e:
            raise UsageError(f"cannot write {args.output}: {e.strerror}") from e
        print(f"Wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_CLEAN
