"""`deescalate collect`: not built yet."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from deescalate.errors import EXIT_USAGE


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser("collect", help="collect (not built yet)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print("deescalate collect: not built yet", file=sys.stderr)
    return EXIT_USAGE
