"""Where a Terraform address is written: the `.tf` file and line of its `resource "TYPE" "NAME"` block.

A plain text search of the directory's `.tf` files (recursively, so local modules are found too):
no HCL is parsed. `module.ci.aws_iam_role.x["a"]` is looked up as `resource "aws_iam_role" "x"`;
when several files declare it, one under a directory named after the innermost module wins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

_ADDRESS = re.compile(r"^(?P<data>data\.)?(?P<type>[A-Za-z0-9_-]+)\.(?P<name>[A-Za-z0-9_-]+)")
_MAX_FILES = 5000
_MAX_BYTES = 4_000_000


def _split(address: str) -> tuple[str, str, str, list[str]] | None:
    """(block keyword, type, name, module names) of an address."""
    modules = re.findall(r"module\.([A-Za-z0-9_-]+)", address)
    rest = re.sub(r"^(?:module\.[A-Za-z0-9_-]+(?:\[[^\]]*\])?\.)+", "", address)
    m = _ADDRESS.match(rest)
    if m is None:
        return None
    return ("data" if m.group("data") else "resource", m.group("type"), m.group("name"), modules)


def find_locations(directory: str | Path, addresses: Iterable[str]) -> dict[str, str]:
    """address -> "FILE:LINE" (FILE relative to the directory's parent's view: as given + relative path)."""
    root = Path(directory)
    if not root.is_dir():
        return {}
    files = []
    for i, path in enumerate(sorted(root.rglob("*.tf"))):
        if i >= _MAX_FILES:
            break
        if ".terraform" in path.parts:
            continue  # downloaded modules and providers
        try:
            if path.stat().st_size > _MAX_BYTES:
                continue
            files.append((path, path.read_text(encoding="utf-8", errors="replace").splitlines()))
        except OSError:
            continue
    out: dict[str, str] = {}
    for address in addresses:
        parts = _split(address)
        if parts is None:
            continue
        keyword, typ, name, modules = parts
        pattern = re.compile(rf'^\s*{keyword}\s+"{re.escape(typ)}"\s+"{re.escape(name)}"\s*\{{')
        hits = [(p, n) for p, lines in files for n, line in enumerate(lines, start=1) if pattern.match(line)]
        if not hits:
            continue
        if modules:
            preferred = [h for h in hits if modules[-1] in h[0].relative_to(root).parts[:-1]]
            hits = preferred or hits
        else:
            top = [h for h in hits if h[0].parent == root]
            hits = top or hits
        path, line = hits[0]
        shown = Path(directory) / path.relative_to(root)
        out[address] = f"{shown.as_posix()}:{line}"
    return out
