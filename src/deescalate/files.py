"""Files the tool writes (plans, journals, reports): created owner-only (0600), like the snapshot.

A plan names every principal at risk and how it escalates; a journal holds every policy document
apply wrote and the ones it replaced; a report lists the account's weak spots. None of that is for
other local users, so each is created with mode 0600 (and an existing file is narrowed to 0600
before it is written), whatever the umask. `has_lone_surrogate` is the readers' shared check that a
plan or journal holds no string JSON allows but UTF-8 cannot write back. `read_regular` is every
reader's way in to a file someone else may have written (snapshot, plan, journal): it refuses
anything but a regular file (a named pipe would hang the read forever, a device never end).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

PRIVATE_MODE = 0o600
NOT_REGULAR = "not a regular file (a named pipe, socket or device); refused"


class NotRegularFileError(OSError):
    """The path is a named pipe, socket or device, not a file (`strerror` says so)."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(errno.EINVAL, NOT_REGULAR, str(path))


def too_long(err: ValueError) -> str:
    """The reason `json.loads` gave for a number past Python's digit limit, without its advice."""
    return str(err).split(":")[0].split(";")[0]


def read_regular(path: str | Path) -> bytes:
    """The bytes of `path`, refused unless it is a regular file (symlinks followed).

    Opened without blocking (opening a named pipe for reading otherwise waits for a writer) and
    checked on the open descriptor, so nothing can be swapped in between the check and the read.
    Raises IsADirectoryError for a directory, NotRegularFileError for a pipe, socket or device, and
    the OSError of the open otherwise (FileNotFoundError...).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(path)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as f:
        return f.read()


def open_private(path: str | Path, *, append: bool) -> int:
    """An OS file descriptor of `path` opened for writing (appending or truncating), mode 0600."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)
    except OSError:
        os.close(fd)
        raise
    return fd


def write_private(path: str | Path, text: str) -> None:
    """Replace the contents of `path` with `text` (UTF-8), the file being mode 0600. Raises OSError."""
    with os.fdopen(open_private(path, append=False), "w", encoding="utf-8") as f:
        f.write(text)


def has_lone_surrogate(value: Any) -> bool:
    """A lone UTF-16 surrogate anywhere in a JSON value (walked without recursion: any depth)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any("\ud800" <= c <= "\udfff" for c in item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
