"""Where a snapshot defines each principal: its IAM file, and the line and column of its `"Arn"`.

SARIF results need a physical location code scanning can show. A principal's own entry in the
IAM file of its snapshot (`iam/get-account-authorization-details.json` in a collected directory,
or the plain file given) is the natural one: the line of the entry's `"Arn"` key. The file is read
once and scanned with one regular expression, so this is linear in its size. A file that cannot be
read or decoded simply yields no locations (the snapshot itself was already loaded, so the report
stands; its results then point at the snapshot as a whole).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from deescalate.report.common import SourceLocation

# `"Arn": "arn:..."` as JSON writes it; names of users and roles never need escapes in JSON.
_ARN_KEY = re.compile(r'"Arn"\s*:\s*"(arn:[^"\\]*)"')


@dataclass(frozen=True, slots=True, kw_only=True)
class IamFile:
    """An IAM file to look principals up in, and the URI a report should name it by."""

    path: Path
    uri: str
    uri_base_id: str | None = None


def uri_for(path: Path, cwd: Path) -> str:
    """A relative URI reference when `path` is under `cwd` (what code scanning resolves against the
    checked-out repository), else an absolute `file:` URI."""
    absolute = path.absolute()
    try:
        rel = absolute.relative_to(cwd.absolute())
    except ValueError:
        return absolute.as_uri()
    return quote(rel.as_posix(), safe="/-._~@")


def principal_locations(files: Iterable[IamFile]) -> dict[str, SourceLocation]:
    """principal ARN -> its first definition (user or role `"Arn"`) across the files, in order."""
    found: dict[str, SourceLocation] = {}
    for f in files:
        try:
            text = f.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        line, line_start, pos = 1, 0, 0
        for m in _ARN_KEY.finditer(text):
            arn = m.group(1)
            if ":user/" not in arn and ":role/" not in arn:
                continue
            start = m.start()
            newlines = text.count("\n", pos, start)
            if newlines:
                line += newlines
                line_start = text.rfind("\n", pos, start) + 1
            pos = start
            if arn not in found:
                found[arn] = SourceLocation(uri=f.uri, line=line, column=start - line_start + 1,
                                            uri_base_id=f.uri_base_id)
    return found
