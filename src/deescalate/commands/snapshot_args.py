"""Shared by `scan`, `explain` and `plan`: the SNAPSHOT argument(s) and `--demo`, loaded.

Not a subcommand. Several SNAPSHOT paths are merged into one snapshot (`load_snapshots`; one path
is that snapshot itself). The loader is imported lazily: the CLI starts fast.
"""

from __future__ import annotations

from collections.abc import Sequence

from deescalate.errors import UsageError
from deescalate.model import Snapshot


def load_snapshot_args(paths: Sequence[str], *, demo: bool = False) -> Snapshot:
    """The snapshot named by SNAPSHOT paths, or the packaged demo account with `demo`."""
    if demo and paths:
        raise UsageError("give SNAPSHOT or --demo, not both")
    if demo:
        from deescalate.snapshot import load_demo

        return load_demo()
    if not paths:
        raise UsageError("give a SNAPSHOT (directory or get-account-authorization-details file) or --demo")
    from deescalate.snapshot import load_snapshots

    return load_snapshots(list(paths))
