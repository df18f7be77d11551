"""Locks that serialise apply and revert: one on the journal, one on the account's `deescalate-…` state.

Two applies sharing a journal would reuse sequence numbers and lose undo records; two applies (or
an apply and a revert) on one account with different journals would each read the live state and
record an undo that the other one's calls make wrong. So apply and revert hold, for their whole
run (live reads, calls, journal writes), an exclusive `fcntl.flock` on

  * `<journal>.lock` next to the journal, and
  * `<lock_dir>/deescalate-<account>.lock`, one per account (the caller picks `lock_dir`; the CLI
    uses a per-user directory under the system's temporary directory).

A second run waits for up to `timeout` seconds, then refuses with an ApplyError naming the lock.
The kernel drops a flock when its process dies, so a killed apply never leaves a stale lock. The
locks are local to one machine: two machines applying to one account at once are not serialised
(docs/security.md says so).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from deescalate.errors import ApplyError
from deescalate.files import PRIVATE_MODE

DEFAULT_TIMEOUT = 10.0
_POLL = 0.05


def journal_lock_path(journal: str | Path) -> Path:
    p = Path(journal)
    return p.with_name(p.name + ".lock")


def account_lock_path(lock_dir: str | Path, account_id: str) -> Path:
    return Path(lock_dir) / f"deescalate-{account_id}.lock"


@contextmanager
def _flock(path: Path, what: str, timeout: float) -> Iterator[None]:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_MODE)
    except OSError as e:
        raise ApplyError(f"cannot open the lock file {path} ({what}): {e.strerror}") from e
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ApplyError(
                        f"another deescalate apply or revert holds {path} ({what}); waited {timeout:g}s. "
                        "Wait for it to finish, then run again"
                    ) from None
                time.sleep(_POLL)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextmanager
def locked(
    *, journal: str | Path | None, account_id: str | None, lock_dir: str | Path | None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Iterator[None]:
    """Hold the account lock (when `account_id` and `lock_dir` are given), then the journal's lock."""
    with ExitStack() as stack:
        if account_id is not None and lock_dir is not None:
            Path(lock_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
            stack.enter_context(_flock(account_lock_path(lock_dir, account_id),
                                       f"account {account_id}", timeout))
        if journal is not None:
            stack.enter_context(_flock(journal_lock_path(journal), f"journal {journal}", timeout))
        yield
