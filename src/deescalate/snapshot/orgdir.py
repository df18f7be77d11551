"""An organization snapshot directory's manifest: validated, and its paths kept inside the directory.

`collect --organization -o DIR` writes DIR/manifest.json (format "deescalate-organization") listing
every account with its OU path, whether it was collected, and where its own snapshot lies
(docs/snapshot.md, "An organization snapshot"). This module checks that manifest against
`schemas/organization-manifest.schema.json` and resolves the paths it names, refusing any that
leave DIR (`..`, an absolute path, a symlink out of it): a manifest is input like any other file,
and a hostile one must not make the loader read elsewhere. `load.py` does the loading.
"""

from __future__ import annotations

import errno
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import jsonschema

from deescalate.errors import SnapshotError
from deescalate.model import AccountInfo
from deescalate.snapshot import layout as L
from deescalate.snapshot.where import type_name

_SCHEMA = Path(__file__).resolve().parent.parent / "data" / "schemas" / "organization-manifest.schema.json"
_LONG = 80  # longest value quoted in an error message


@cache
def _validator() -> Any:
    try:
        schema = json.loads(_SCHEMA.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise SnapshotError(f"{_SCHEMA}: the packaged manifest schema is missing or broken; reinstall"
                            " deescalate") from e
    return jsonschema.Draft202012Validator(schema)


def is_org_manifest(manifest: Any) -> bool:
    return isinstance(manifest, dict) and manifest.get("format") == L.ORG_FORMAT_NAME


def _place(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "top level"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _LONG else text[: _LONG - 3] + "..."


def _message(err: Any) -> str:
    """One short sentence for a jsonschema error (its own messages quote whole values)."""
    v, inst = err.validator, err.instance
    if v == "type":
        want = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        return f"expected {' or '.join(str(w) for w in want)}, found {type_name(inst)}"
    if v == "required":
        missing = [k for k in err.validator_value if isinstance(inst, dict) and k not in inst]
        return f"missing required field {missing[0]!r}" if missing else "missing a required field"
    if v == "pattern":
        return f"{_short(inst)} is not of the form {err.validator_value}"
    if v == "const":
        return f"expected {err.validator_value!r}, found {_short(inst)}"
    if v == "enum":
        return f"{_short(inst)} is not one of {', '.join(str(x) for x in err.validator_value)}"
    if v == "minLength":
        return "must not be empty"
    return str(err.message)[:200]


def validate_manifest(manifest: Any, shown: str) -> None:
    """Raise one `SnapshotError` line naming the first problem of an organization manifest."""
    errors = list(_validator().iter_errors(manifest))
    if not errors:
        version = manifest["format_version"]
        if version not in L.ORG_SUPPORTED_VERSIONS:
            known = ", ".join(str(x) for x in L.ORG_SUPPORTED_VERSIONS)
            raise SnapshotError(
                f"{shown}: format_version: format version {version} is not one this deescalate reads"
                f" ({known}); upgrade deescalate or collect the organization again"
            )
        return
    err = jsonschema.exceptions.best_match(errors)
    raise SnapshotError(f"{shown}: {_place(err.absolute_path)}: {_message(err)}")


def inside(root: Path, rel: str, shown: str, where: str) -> Path:
    """`root/rel`, refused unless it is a relative path that stays inside `root` (symlinks resolved)."""
    if PurePosixPath(rel).is_absolute() or PureWindowsPath(rel).is_absolute() or PureWindowsPath(rel).drive:
        raise SnapshotError(f"{shown}: {where}: {_short(rel)} is an absolute path; paths in the manifest"
                            " are relative to its directory")
    if ".." in PurePosixPath(rel.replace("\\", "/")).parts:
        raise SnapshotError(f"{shown}: {where}: {_short(rel)} leaves the organization directory (..)")
    if "\0" in rel:
        raise SnapshotError(f"{shown}: {where}: {_short(rel)} holds a NUL character, which no path can")
    path = root / rel
    try:
        os.stat(path)
    except OSError as e:  # a missing path is the caller's to report; too long a one is refused here
        if e.errno == errno.ENAMETOOLONG:
            raise SnapshotError(f"{shown}: {where}: {_short(rel)} is too long a path for this system"
                                " (ENAMETOOLONG)") from e
    if not contained(root, path):
        raise SnapshotError(f"{shown}: {where}: {_short(rel)} leads out of the organization directory"
                            " (through a symlink)")
    return path


def contained(root: Path, path: Path) -> bool:
    """Whether `path`, every symlink resolved, lies inside `root` (also resolved)."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError, ValueError):  # a symlink loop, too long a path, a NUL character
        return False


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgManifest:
    """What the loader needs from a validated organization manifest."""

    organization_id: str
    management_account_id: str
    collected_at: str | None
    caller: str | None
    accounts: tuple[AccountInfo, ...]
    snapshots: dict[str, tuple[str, str]]  # collected account id -> (its snapshot's relative path, place)


def read_manifest(manifest: Any, shown: str) -> OrgManifest:
    """Validate an organization manifest and read it (`shown` names the manifest file)."""
    validate_manifest(manifest, shown)
    infos: list[AccountInfo] = []
    snapshots: dict[str, tuple[str, str]] = {}
    seen: set[str] = set()
    for i, acct in enumerate(manifest["accounts"]):
        aid = acct["id"]
        if aid in seen:
            raise SnapshotError(f"{shown}: accounts[{i}].id: account {aid} is listed twice")
        seen.add(aid)
        infos.append(
            AccountInfo(
                id=aid,
                name=acct.get("name") or "",
                ou_path=tuple(acct["ou_path"]),
                status=acct.get("status") or "",
                collection=acct["collection"],
                error=acct.get("error"),
            )
        )
        if acct["collection"] == "collected":
            snapshots[aid] = (acct["snapshot"], f"accounts[{i}].snapshot")
    return OrgManifest(
        organization_id=manifest["organization_id"],
        management_account_id=manifest["management_account_id"],
        collected_at=manifest.get("collected_at"),
        caller=manifest.get("caller"),
        accounts=tuple(infos),
        snapshots=snapshots,
    )

