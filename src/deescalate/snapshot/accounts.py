"""One account of an organization snapshot directory at a time: what a worker of the split analysis
(analysis/split.py) loads, instead of the whole organization.

`org_accounts(DIR)` lists the collected accounts of DIR/manifest.json (the management account
first) and an unexamined line for each account that was not collected; `load_org_account` loads one
account's snapshot directory with its own organization path (root -> OUs -> account, with the SCPs
and RCPs of each level) read from DIR/organization/. Paths in the manifest must stay inside DIR.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from deescalate.errors import SnapshotError
from deescalate.model import Snapshot
from deescalate.snapshot import layout as L
from deescalate.snapshot.load import load_snapshot, read_json
from deescalate.snapshot.org import parse_organization
from deescalate.snapshot.where import At

ORG_FORMAT = "deescalate-organization"
_ORG_FILES = (L.ORG_DESCRIBE, L.ORG_ROOTS, L.ORG_PARENTS, L.ORG_OUS, L.ORG_TARGET_POLICIES, L.ORG_POLICIES)


def is_org_dir(path: str | Path) -> bool:
    """Whether `path` is an organization snapshot directory (its manifest's format says so)."""
    manifest = Path(path) / L.MANIFEST
    if not manifest.is_file():
        return False
    doc = read_json(manifest, str(manifest))
    return isinstance(doc, dict) and doc.get("format") == ORG_FORMAT


def _inside(root: Path, rel: Any, shown: str) -> Path:
    if (
        not isinstance(rel, str)
        or not rel
        or PurePosixPath(rel).is_absolute()
        or ".." in PurePosixPath(rel).parts
    ):
        raise SnapshotError(f"{shown}: snapshot path {rel!r} is not a relative path inside the directory")
    path = root / rel
    if not path.resolve().is_relative_to(root.resolve()):
        raise SnapshotError(f"{shown}: snapshot path {rel!r} leads out of the organization directory")
    return path


def org_accounts(root: str | Path) -> tuple[list[tuple[str, str]], list[str]]:
    """(account id, snapshot directory) of every collected account, the management account first;
    and one line per listed account that was not collected."""
    base = Path(root)
    shown = str(base / L.MANIFEST)
    doc = read_json(base / L.MANIFEST, shown)
    if not isinstance(doc, dict) or doc.get("format") != ORG_FORMAT:
        raise SnapshotError(f"{shown}: not an organization snapshot's manifest")
    accounts = doc.get("accounts")
    if not isinstance(accounts, list):
        raise SnapshotError(f"{shown}: accounts: expected a list")
    management = doc.get("management_account_id")
    found: list[tuple[str, str]] = []
    missing: list[str] = []
    for i, acct in enumerate(accounts):
        if not isinstance(acct, dict) or not isinstance(acct.get("id"), str):
            raise SnapshotError(f"{shown}: accounts[{i}]: expected an object with an id")
        if acct.get("collection") != "collected" or not acct.get("snapshot"):
            why = f": {acct['error']}" if isinstance(acct.get("error"), str) else ""
            missing.append(
                f"account {acct['id']}: {acct.get('collection')}{why}; its principals and resources "
                "are not analysed"
            )
            continue
        found.append((acct["id"], str(_inside(base, acct["snapshot"], f"{shown}: accounts[{i}]"))))
    found.sort(key=lambda a: a[0] != management)
    if not found:
        raise SnapshotError(f"{shown}: no account was collected ({len(accounts)} listed), nothing to analyse")
    return found, missing


def load_org_account(path: str | Path, account_id: str, organization: str | Path | None = None) -> Snapshot:
    """One account's snapshot; with `organization` (the organization directory), its organization
    path from there."""
    snap = load_snapshot(path)
    if snap.account_id != account_id:
        raise SnapshotError(f"{path}: holds account {snap.account_id}, expected {account_id}")
    if organization is None:
        return snap
    org_dir = Path(organization) / "organization"
    files: dict[str, tuple[Any, At]] = {}
    for rel in _ORG_FILES:
        p = org_dir / rel
        if p.is_file():
            files[rel] = (read_json(p, str(p)), At(file=str(p)))
    return replace(snap, organization=parse_organization(files, account_id))
