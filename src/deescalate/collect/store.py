"""Writing the snapshot directory: JSON files as AWS returned them, and the swap into place.

Collection writes into a fresh sibling directory and renames it over `-o DIR` only when done, so
an interrupted run never leaves a half-written snapshot where a good one was.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from deescalate.errors import CollectError, UsageError
from deescalate.snapshot import layout as L


def _default(value: Any) -> Any:
    # boto3 parses timestamps into datetimes and blobs into bytes; write them as AWS sends them.
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


class Store:
    @staticmethod
    def check(out_dir: Path) -> None:
        """Refuse, before any AWS call, an output that exists and is not an earlier snapshot."""
        if out_dir.exists() and (
            not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / L.MANIFEST).is_file())
        ):
            raise UsageError(f"{out_dir}: exists and is not a snapshot directory; choose another -o")
        # Replacing an organization directory would delete every account collected there.
        if out_dir.is_dir() and (
            (out_dir / L.ORG_ACCOUNTS_DIR).exists() or (out_dir / L.ORG_FILES_DIR).exists()
        ):
            raise UsageError(
                f"{out_dir}: is an organization snapshot (collect --organization); choose another -o"
            )

    def __init__(self, out_dir: Path, *, snapshot_only: bool = True) -> None:
        """`snapshot_only=False` replaces any directory at `out_dir` (the organization's tree files)."""
        self.out_dir = out_dir
        if snapshot_only:
            self.check(out_dir)
        parent = out_dir.resolve().parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self.work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=parent))
        except OSError as e:
            raise CollectError(f"{out_dir}: cannot create the snapshot directory ({e.strerror})") from e

    def write(self, rel: str, data: Any) -> None:
        path = self.work / rel
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", encoding="utf-8") as f:
                json.dump(data, f, indent=1, default=_default, ensure_ascii=False)
                f.write("\n")
        except OSError as e:
            raise CollectError(f"{self.out_dir / rel}: cannot write ({e.strerror})") from e

    def finish(self) -> Path:
        """Move the finished snapshot to `out_dir`, replacing an earlier snapshot there."""
        try:
            if self.out_dir.exists():
                shutil.rmtree(self.out_dir)
            os.replace(self.work, self.out_dir)
        except OSError as e:
            raise CollectError(f"{self.out_dir}: cannot move the snapshot into place ({e.strerror})") from e
        return self.out_dir

    def abandon(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
