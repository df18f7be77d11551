"""The command line: parse arguments, call the library, render, return an exit code.

Each subcommand lives in `deescalate.commands.<name>` and exposes `register(subparsers)`, which
adds its parser and sets `func` to a `run(args) -> int`. This module is the one place that catches
`DeescalateError`, prints its message to stderr (through `terminal.clean`: a crafted name cannot
drive the terminal), and turns it into an exit code: 0 clean, 1 findings at or above the gate,
2 usage error, 3 runtime error. Any other exception is a bug; it still ends as one line and exit 3
(never a traceback, never exit 1, the "findings" code), the traceback shown only with -v.

`-v/--verbose` (before or after the subcommand; twice for more) sends the library's log (the
`deescalate.*` loggers: files read, calls made and retried, rounds of the analysis, timings) to
stderr for the length of one `main()` call.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
from collections.abc import Callable, Sequence

from deescalate import __version__
from deescalate.commands import COMMANDS
from deescalate.errors import EXIT_RUNTIME, EXIT_USAGE, DeescalateError
from deescalate.terminal import clean


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
    verbose_help = ("log what each stage does to stderr: files read, calls made and retried, rounds "
                    "of the analysis, timings (-vv: more detail)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help=verbose_help)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in COMMANDS:
        module.register(sub)
    for subparser in sub.choices.values():  # also accepted after the subcommand
        subparser.add_argument("-v", "--verbose", action="count", default=0, dest="verbose_sub",
                               help=verbose_help)
    return parser


class _Elapsed(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self.started = time.monotonic()

    def format(self, record: logging.LogRecord) -> str:
        stage = record.name.removeprefix("deescalate.").split(".")[0]
        return f"deescalate: [{time.monotonic() - self.started:7.2f}s] {stage}: {record.getMessage()}"


def _verbose_logging(level: int) -> Callable[[], None]:
    """Send `deescalate.*` log records to stderr; returns the undo (main() may run many times)."""
    logger = logging.getLogger("deescalate")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Elapsed())
    before = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if level > 1 else logging.INFO)
    logger.propagate = False

    def undo() -> None:
        logger.removeHandler(handler)
        logger.setLevel(before[0])
        logger.propagate = before[1]

    return undo


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
    verbosity = args.verbose + getattr(args, "verbose_sub", 0)
    undo = _verbose_logging(verbosity) if verbosity else None
    started = time.monotonic()
    try:
        code: int = args.func(args)
        logging.getLogger("deescalate.cli").info("%s: exit %d after %.2fs", args.command, code,
                                                 time.monotonic() - started)
        return code
    except DeescalateError as e:
        print(f"deescalate: {clean(str(e), keep_newlines=True)}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("deescalate: interrupted", file=sys.stderr)
        return EXIT_RUNTIME
    except BrokenPipeError:
        return EXIT_RUNTIME
    except RecursionError:
        # Last line of defence for hostile input the readers did not catch (they should: a bug).
        print("deescalate: an input is nested too deeply to process (internal error, please report)",
              file=sys.stderr)
        return EXIT_RUNTIME
    except Exception as e:  # one line and exit 3 instead of a traceback; -v shows it
        if verbosity:
            traceback.print_exc()
        print(f"deescalate: internal error ({type(e).__name__}: {clean(str(e))[:200]}); "
              "please report it (-v shows the traceback)", file=sys.stderr)
        return EXIT_RUNTIME
    finally:
        if undo is not None:
            undo()
