"""Snapshots: everything the analysis reads, loaded from files (the analysis never calls AWS).

`load_snapshot(path)` reads a collected directory or a plain get-account-authorization-details
file; `load_snapshots(paths)` merges several accounts; `load_demo()` loads the packaged demo
account. The on-disk layout is in `layout.py` and docs/snapshot.md.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from deescalate.errors import SnapshotError
from deescalate.model import Snapshot
from deescalate.snapshot.layout import FORMAT_VERSION, RESOURCE_KINDS
from deescalate.snapshot.load import load_snapshot, load_snapshots, merge_snapshots

DEMO_ACCOUNT_ID = "111111111111"


def demo_path() -> Path:
    """The directory of the packaged demo snapshot."""
    return Path(__file__).resolve().parent.parent / "data" / "demo"


def load_demo() -> Snapshot:
    """The demo account shipped with the package (no AWS, no network)."""
    path = demo_path()
    if not (path / "manifest.json").is_file():
        raise SnapshotError(f"{path}: the packaged demo snapshot is missing; reinstall deescalate")
    return replace(load_snapshot(path), source="demo")


__all__ = [
    "DEMO_ACCOUNT_ID",
    "FORMAT_VERSION",
    "RESOURCE_KINDS",
    "demo_path",
    "load_demo",
    "load_snapshot",
    "load_snapshots",
    "merge_snapshots",
]
