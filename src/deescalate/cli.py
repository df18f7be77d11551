"""The command line: parse arguments, call the library, render, return an exit code.

Each subcommand lives in `deescalate.commands.<name>` and exposes `register(subparsers)`, which
adds its parser and sets `func` to a `run(args) -> int`. This module is the one place that catches
`DeescalateError`, prints its message to stderr, and turns it into an exit code: 0 clean,
1 findings at or above the gate, 2 usage error, 3 runtime error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from deescalate import __version__
from deescalate.commands import COMMANDS
from deescalate.errors import EXIT_RUNTIME, EXIT_USAGE, DeescalateError


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so `main([...])` can be tested in-process."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        raise _UsageExit(f"{self.prog}: error: {message}")


class _UsageExit(Exception):
    pass


class _Version(argparse.Action):
    """`--version`: the tool's version and the SAR data's (read only when asked)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        from deescalate.sar import reference_version

        print(f"deescalate {__version__}\nAWS Service Authorization Reference: {reference_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="deescalate",
        description="Find AWS IAM principals that can escalate to administrator, and cut every path "
        "with a minimal, verified set of explicit denies.",
    )
    parser.add_argument("--version", action=_Version, nargs=0,
                        help="print the version and the AWS Service Authorization Reference data used")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in COMMANDS:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except _UsageExit as e:
        print(str(e), file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as e:  # --help / --version
        return int(e.code or 0)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code: int = args.func(args)
        return code
    except DeescalateError as e:
        print(f"deescalate: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("deescalate: interrupted", file=sys.stderr)
        return EXIT_RUNTIME
    except BrokenPipeError:
        return EXIT_RUNTIME
