"""Shared by `scan`, `explain` and `plan`: the SNAPSHOT argument(s) and `--demo`, loaded; and the
check that no output overwrites an input.

Not a subcommand. Several SNAPSHOT paths are merged into one snapshot (`load_snapshots`; one path
is that snapshot itself). The loader is imported lazily: the CLI starts fast.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from deescalate.errors import UsageError
from deescalate.model import Snapshot

log = logging.getLogger("deescalate.snapshot")


def load_snapshot_args(paths: Sequence[str], *, demo: bool = False) -> Snapshot:
    """The snapshot named by SNAPSHOT paths, or the packaged demo account with `demo`."""
    if demo and paths:
        raise UsageError("give SNAPSHOT or --demo, not both")
    started = time.perf_counter()
    if demo:
        from deescalate.snapshot import demo_path, load_demo

        log.info("reading the packaged demo account from %s", demo_path())
        snap = load_demo()
    else:
        if not paths:
            raise UsageError(
                "give a SNAPSHOT (directory or get-account-authorization-details file) or --demo"
            )
        from deescalate.snapshot import load_snapshots

        log.info("reading %d snapshot(s): %s", len(paths), ", ".join(paths))
        snap = load_snapshots(list(paths))
    log.info(
        "snapshot of account(s) %s: %d users, %d roles, %d groups, %d managed policies, %d resources "
        "(read in %.2fs)",
        ", ".join(snap.all_accounts()), len(snap.users), len(snap.roles), len(snap.groups),
        len(snap.policies), len(snap.resources), time.perf_counter() - started,
    )
    return snap


def refuse_overwriting_inputs(outputs: Iterable[tuple[str, Path]], inputs: Iterable[Path]) -> None:
    """UsageError when an output is an input file, lies inside an input directory (a snapshot), or
    is written by two options at once. `outputs` are (how the command line gave it, path) pairs,
    e.g. ("-o report.txt", Path("report.txt")). Checked before any work is done."""
    resolved_inputs = [(p, p.resolve()) for p in inputs]
    seen: dict[Path, str] = {}
    for label, out in outputs:
        target = out.resolve()
        for given, real in resolved_inputs:
            if target == real or (out.exists() and given.exists() and out.samefile(given)):
                raise UsageError(f"{label} would write over the input {given}; refusing")
            if real.is_dir() and target.is_relative_to(real):
                raise UsageError(f"{label} would write inside the snapshot directory {given}; refusing")
        if target in seen:
            raise UsageError(f"{label} and {seen[target]} write the same file; give each output its own file")
        seen[target] = label
