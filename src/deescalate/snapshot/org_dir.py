"""The organization snapshot directory of `collect --organization -o DIR`: its names and its manifest.

    DIR/manifest.json        which accounts there are, their OU path, what was collected (below)
    DIR/organization/        the organizations/ files of a snapshot (layout.ORG_*), for the whole
                             organization, plus organizations/list-accounts.json
    DIR/accounts/<ID>/       a single-account snapshot directory each (no organizations/ files)

The manifest is input an attacker may have written (a shared bucket, a CI artifact), and the
collector trusts it to resume. `read_org_manifest` validates it against
schemas/org-manifest.schema.json (jsonschema) and checks what a schema cannot: account ids listed
once, and every `snapshot` path relative, without `..`, and inside DIR once symlinks are resolved.
Any problem is one `SnapshotError` naming the file and the place in it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from deescalate.errors import SnapshotError

ORG_FORMAT_NAME = "deescalate-organization"
ORG_FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TREE_DIR = "organization"
ACCOUNTS_DIR = "accounts"
# ListAccounts (or, with --ou, the subtree's ListAccountsForParent answers), pages merged:
# {"Accounts": [...]}. The other organization files are snapshot/layout.py's ORG_* names.
ORG_ACCOUNTS = "organizations/list-accounts.json"

COLLECTED = "collected"
FAILED = "failed"
SKIPPED = "skipped"
PENDING = "pending"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgAccount:
    """One account of the manifest: from ListAccounts, its OU path, and what collection did."""

    id: str
    name: str
    status: str  # ListAccounts' Status: ACTIVE, SUSPENDED, PENDING_CLOSURE
    ou_path: tuple[str, ...]  # the root first, then the OUs down to the account's parent
    collection: str  # COLLECTED | FAILED | SKIPPED | PENDING
    error: str | None = None
    snapshot: str | None = None  # relative to DIR, "accounts/<ID>" when collected
    email: str | None = None

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.email is not None:
            doc["email"] = self.email
        doc.update(
            status=self.status,
            ou_path=list(self.ou_path),
            collection=self.collection,
            error=self.error,
            snapshot=self.snapshot,
        )
        return doc


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgManifest:
    tool_version: str
    collected_at: str
    caller: str
    organization_id: str
    management_account_id: str
    role: str  # a role name, or a role ARN template with {account}
    accounts: tuple[OrgAccount, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "format": ORG_FORMAT_NAME,
            "format_version": ORG_FORMAT_VERSION,
            "tool_version": self.tool_version,
            "collected_at": self.collected_at,
            "caller": self.caller,
            "organization_id": self.organization_id,
            "management_account_id": self.management_account_id,
            "role": self.role,
            "accounts": [a.as_json() for a in self.accounts],
        }

    def account(self, account_id: str) -> OrgAccount | None:
        return next((a for a in self.accounts if a.id == account_id), None)


@cache
def _validator() -> Any:
    import jsonschema

    text = resources.files("deescalate").joinpath("data/schemas/org-manifest.schema.json").read_text(
        encoding="utf-8"
    )
    schema = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def is_org_dir(path: Path) -> bool:
    """Whether `path` holds an organization manifest (by its `format` only: cheap, not validated)."""
    manifest = path / MANIFEST
    try:
        if not manifest.is_file() or manifest.stat().st_size > 64 * 1024 * 1024:
            return False
        doc = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == ORG_FORMAT_NAME


def looks_like_org_dir(path: Path) -> bool:
    """An organization directory, even one whose manifest is damaged: its manifest says so, or it
    has the accounts/ or organization/ directory a single-account snapshot never has."""
    return is_org_dir(path) or (path / ACCOUNTS_DIR).exists() or (path / TREE_DIR).exists()


def _where(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_org_manifest(doc: Any, shown: str) -> OrgManifest:
    """Validate a parsed manifest against the schema; `shown` names the file in errors."""
    if isinstance(doc, Mapping) and doc.get("format") == ORG_FORMAT_NAME and doc.get(
        "format_version"
    ) not in (ORG_FORMAT_VERSION, None):
        raise SnapshotError(
            f"{shown}: format_version: format version {doc.get('format_version')!r} is not one this "
            f"deescalate reads ({ORG_FORMAT_VERSION}); upgrade deescalate or collect again"
        )
    if isinstance(doc, Mapping) and doc.get("format") != ORG_FORMAT_NAME:
        raise SnapshotError(
            f"{shown}: format: {str(doc.get('format'))[:60]!r} is not {ORG_FORMAT_NAME!r} (the manifest of "
            "an organization directory)"
        )
    errors = sorted(_validator().iter_errors(doc), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        import jsonschema.exceptions

        # A field's own rule first; the cross-field rules (allOf: if collected then a snapshot path)
        # only when nothing else is wrong.
        direct = [e for e in errors if "allOf" not in e.schema_path]
        err = jsonschema.exceptions.best_match(direct or errors)
        message = err.message if len(err.message) <= 200 else err.message[:197] + "..."
        raise SnapshotError(f"{shown}: {_where(err.absolute_path)}: {message}")
    accounts: list[OrgAccount] = []
    seen: set[str] = set()
    for i, a in enumerate(doc["accounts"]):
        if a["id"] in seen:
            raise SnapshotError(f"{shown}: accounts[{i}].id: account {a['id']} is listed twice")
        seen.add(a["id"])
        snapshot = a["snapshot"]
        if snapshot is not None:
            _check_relative(snapshot, f"{shown}: accounts[{i}].snapshot (account {a['id']})")
        accounts.append(
            OrgAccount(
                id=a["id"],
                name=a["name"],
                email=a.get("email"),
                status=a["status"],
                ou_path=tuple(a["ou_path"]),
                collection=a["collection"],
                error=a["error"],
                snapshot=snapshot,
            )
        )
    return OrgManifest(
        tool_version=doc["tool_version"],
        collected_at=doc["collected_at"],
        caller=doc["caller"],
        organization_id=doc["organization_id"],
        management_account_id=doc["management_account_id"],
        role=doc["role"],
        accounts=tuple(accounts),
    )


def _check_relative(rel: str, where: str) -> None:
    p = PurePosixPath(rel)
    if not rel or p.is_absolute() or "\\" in rel or ".." in p.parts or rel.startswith("~"):
        raise SnapshotError(f"{where}: {rel!r} is not a path inside the organization directory")


def read_org_manifest(root: Path, shown: str | None = None) -> OrgManifest:
    """Read and validate DIR/manifest.json. `shown` is how errors name DIR (default: as given)."""
    name = f"{shown or root}/{MANIFEST}"
    path = root / MANIFEST
    if path.is_symlink():
        raise SnapshotError(f"{name}: is a symbolic link; the manifest must be a file inside the directory")
    try:
        raw = path.read_bytes()
    except FileNotFoundError as e:
        raise SnapshotError(f"{name}: no such file") from e
    except OSError as e:
        raise SnapshotError(f"{name}: cannot be read ({e.strerror})") from e
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise SnapshotError(f"{name}: not UTF-8 text (a bad byte at offset {e.start})") from e
    except json.JSONDecodeError as e:
        raise SnapshotError(f"{name}: not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from e
    except RecursionError as e:
        raise SnapshotError(f"{name}: JSON nested too deeply to read") from e
    return parse_org_manifest(doc, name)


def inside(root: Path, rel: str, shown: str) -> Path:
    """`root/rel`, refused (one line naming `shown`) when it leads out of `root`, through a symlink too."""
    _check_relative(rel, shown)
    base = root.resolve()
    target = (root / rel).resolve()
    if target != base and base not in target.parents:
        raise SnapshotError(f"{shown}: {rel!r} leads out of {root} (a symbolic link?)")
    return root / rel
