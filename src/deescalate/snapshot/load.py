"""Files -> `Snapshot`: a collected directory, an organization directory of them, or one
`get-account-authorization-details` file.

Every failure (missing file, truncated JSON, a wrong type, a bad policy document, an unknown format
version) is a `SnapshotError`/`PolicyError` naming the file and the place in it.
"""

from __future__ import annotations

import codecs
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from deescalate.arn import partition_among
from deescalate.errors import MissingInputError, SnapshotError, empty_file
from deescalate.files import NOT_REGULAR, NotRegularFileError, read_regular, too_long
from deescalate.gctune import fewer_full_collections
from deescalate.model import AccountInfo, InventoryRecord, InventoryState, Organization, Resource, Snapshot
from deescalate.snapshot import layout as L
from deescalate.snapshot.iam import (
    account_from_arns,
    add_user_extras,
    looks_like_details,
    newest_date,
    parse_details,
    parse_instance_profiles,
)
from deescalate.snapshot.org import parse_organization, parse_organizations
from deescalate.snapshot.orgdir import OrgManifest, contained, inside, is_org_manifest, read_manifest
from deescalate.snapshot.resources import Ctx, read_region
from deescalate.snapshot.usage import parse_last_accessed
from deescalate.snapshot.where import At, as_object, get_list, get_objects, get_opt_str, get_str

log = logging.getLogger("deescalate.snapshot")


def read_json(path: Path, shown: str) -> Any:
    """Parse one JSON file; `shown` is how error messages name it."""
    try:
        raw = read_regular(path)
        log.info("read %s (%d bytes)", shown, len(raw))
        # `aws ... > file.json` in Windows PowerShell writes UTF-16 with a byte order mark, and some
        # editors add a UTF-8 one; JSON itself is UTF-8 without.
        encoding = "utf-16" if raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"
        text = raw.decode(encoding)
    except FileNotFoundError as e:
        raise SnapshotError(f"{shown}: no such file") from e
    except IsADirectoryError as e:
        raise SnapshotError(f"{shown}: is a directory, expected a JSON file") from e
    except UnicodeDecodeError as e:
        raise SnapshotError(f"{shown}: not UTF-8 text (a bad byte at offset {e.start})") from e
    except NotRegularFileError as e:
        raise SnapshotError(f"{shown}: {NOT_REGULAR}") from e
    except OSError as e:
        raise SnapshotError(f"{shown}: cannot be read ({e.strerror})") from e
    if not text.strip():
        raise SnapshotError(empty_file(shown))
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        hint = "; the file ends before its JSON does (truncated?)" if _unbalanced(text) else ""
        raise SnapshotError(
            f"{shown}: not valid JSON: {e.msg} (line {e.lineno}, column {e.colno}){hint}"
        ) from e
    except RecursionError as e:
        raise SnapshotError(f"{shown}: JSON nested too deeply to read") from e
    except ValueError as e:  # an integer of more digits than int() converts (sys.int_info)
        raise SnapshotError(f"{shown}: holds a number too long to read ({too_long(e)})") from e
    # A lone UTF-16 surrogate ("\ud800" escaped in the JSON) is no character AWS stores, and
    # cannot be written out again as UTF-8: refuse it here rather than crash a report writer.
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(doc):
        raise SnapshotError(f"{shown}: holds a lone UTF-16 surrogate (\\ud800-\\udfff), which AWS never"
                            " writes")
    return doc


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _unbalanced(text: str) -> bool:
    """True when a string or bracket is still open at the end of `text`: the mark of a cut-off file."""
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return in_string or depth > 0


class _Dir:
    """A snapshot directory; `get` reads a file by its layout path, or None when absent."""

    def __init__(self, root: Path, shown: str, jail: Path | None = None) -> None:
        self.root = root
        self.shown = shown
        # An organization snapshot's directory: no file read may lie outside it (a symlink out).
        self.jail = jail

    def name(self, rel: str) -> str:
        return f"{self.shown.rstrip('/')}/{rel}"

    def get(self, rel: str) -> tuple[Any, At] | None:
        path = self.root / rel
        if not path.exists():
            return None
        if self.jail is not None and not contained(self.jail, path):
            raise SnapshotError(
                f"{self.name(rel)}: leads out of the organization directory (through a symlink)"
            )
        return read_json(path, self.name(rel)), At(file=self.name(rel))

    def need(self, rel: str) -> tuple[Any, At]:
        got = self.get(rel)
        if got is None:
            raise SnapshotError(f"{self.name(rel)}: no such file (a snapshot directory needs it)")
        return got


def _manifest(raw: Any, at: At) -> tuple[dict[str, Any], At]:
    man = as_object(raw, at)
    version = man.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise at.key("format_version").error(f"expected a format version number, found {version!r}")
    if version not in L.SUPPORTED_VERSIONS:
        known = ", ".join(str(v) for v in L.SUPPORTED_VERSIONS)
        raise at.key("format_version").error(
            f"format version {version} is not one this deescalate reads ({known}); upgrade deescalate "
            "or collect the snapshot again"
        )
    return man, at


def _inventory(man: dict[str, Any], at: At) -> list[InventoryRecord]:
    out = []
    for where, rec in get_objects(man, "inventory", at):
        state_raw = get_str(rec, "state", where)
        try:
            state = InventoryState(state_raw)
        except ValueError as e:
            raise where.key("state").error(
                f"unknown state {state_raw!r} (expected {', '.join(s.value for s in InventoryState)})"
            ) from e
        out.append(
            InventoryRecord(
                kind=get_str(rec, "kind", where),
                region=get_str(rec, "region", where),
                state=state,
                error=get_opt_str(rec, "error", where),
            )
        )
    return out


def _org_files(d: _Dir) -> dict[str, tuple[Any, At]]:
    return {rel: got for rel in L.ORG_FILES if (got := d.get(rel)) is not None}


def _load_dir(root: Path, shown: str, jail: Path | None = None) -> Snapshot:
    d = _Dir(root, shown, jail)
    raw, at = d.need(L.MANIFEST)
    if is_org_manifest(raw):
        if jail is not None:
            # An account's snapshot of an organization directory is one account's, never another
            # organization (nor the directory itself: "snapshot": "." would loop).
            raise at.key("format").error("an organization snapshot where one account's snapshot belongs")
        return _load_org_dir(root, shown, raw)
    man, mat = _manifest(raw, at)
    account_id = get_str(man, "account_id", mat)
    regions = []
    for where, r in get_list(man, "regions", mat):
        if not isinstance(r, str):
            raise where.error(f"expected a region name, found {r!r}")
        regions.append(r)

    raw, at = d.need(L.IAM_DETAILS)
    iam = parse_details(raw, at.file)
    users = iam.users
    add_user_extras(
        users,
        access_keys=_pair(d.get(L.IAM_ACCESS_KEYS)),
        login_profiles=_pair(d.get(L.IAM_LOGIN_PROFILES)),
        mfa=_pair(d.get(L.IAM_MFA_DEVICES)),
    )
    profiles = dict(iam.instance_profiles)
    got = d.get(L.IAM_INSTANCE_PROFILES)
    if got is not None:
        # ListInstanceProfiles also shows profiles with no role, which GetAccountAuthorizationDetails omits.
        for arn, prof in parse_instance_profiles(got[0], got[1].file).items():
            profiles.setdefault(arn, prof)

    organization = parse_organization(_org_files(d), account_id)

    inventory = _inventory(man, mat)
    role_by_name = {r.name: arn for arn, r in iam.roles.items()}
    caller_arn = get_opt_str(man, "caller_arn", mat)
    partition = partition_among((caller_arn or "",), iam.users, iam.roles, iam.groups)

    def role_arn(name_or_arn: str) -> str:
        if name_or_arn.startswith("arn:"):
            return name_or_arn
        return role_by_name.get(name_or_arn, f"arn:{partition}:iam::{account_id}:role/{name_or_arn}")

    resources: list[Resource] = []
    for region in sorted({rec.region for rec in inventory}):
        ok = frozenset(
            rec.kind for rec in inventory if rec.region == region and rec.state is InventoryState.OK
        )
        files: dict[str, tuple[Any, At]] = {}
        for kind in ok:
            for service, command in L.KIND_FILES.get(kind, ()):
                got = d.get(L.regional(region, service, command))
                if got is not None:
                    files[command] = got
        ctx = Ctx(
            region=region,
            account_id=account_id,
            partition=partition,
            instance_profiles=profiles,
            role_arn=role_arn,
            files=files,
        )
        resources.extend(read_region(ctx, ok))

    usage = d.get(L.IAM_LAST_ACCESSED)
    last_accessed = parse_last_accessed(usage[0], usage[1].file) if usage is not None else {}

    return Snapshot(
        account_id=account_id,
        caller_arn=caller_arn,
        collected_at=get_opt_str(man, "collected_at", mat),
        regions=tuple(regions),
        users=MappingProxyType(users),
        groups=MappingProxyType(iam.groups),
        roles=MappingProxyType(iam.roles),
        policies=MappingProxyType(iam.policies),
        instance_profiles=MappingProxyType(profiles),
        organization=organization,
        resources=tuple(resources),
        inventory=tuple(inventory),
        has_inventory=True,
        source=shown,
        last_accessed=MappingProxyType(last_accessed),
    )


def _same_organization(man: OrgManifest, orgs: dict[str, Organization], man_shown: str, org_dir: str) -> None:
    """The organization's own files and the manifest must describe the same organization."""
    first = next(iter(orgs.values()), None)
    if first is not None and (
        first.management_account_id != man.management_account_id
        or (first.id and first.id != man.organization_id)
    ):
        raise SnapshotError(
            f"{man_shown}: management_account_id/organization_id: {man.management_account_id}/"
            f"{man.organization_id}, but {org_dir}/{L.ORG_DESCRIBE} says "
            f"{first.management_account_id}/{first.id}"
        )


def _load_org_dir(root: Path, shown: str, raw_manifest: Any) -> Snapshot:
    """An organization snapshot directory: every collected account, each with its own organization path."""
    d = _Dir(root, shown, jail=root)
    man_shown = d.name(L.MANIFEST)
    if not contained(root, root / L.MANIFEST):
        raise SnapshotError(f"{man_shown}: leads out of the organization directory (through a symlink)")
    man = read_manifest(raw_manifest, man_shown)
    if not man.snapshots:
        raise SnapshotError(
            f"{man_shown}: no account was collected ({len(man.accounts)} listed), nothing to analyse"
        )
    org_dir = inside(root, L.ORG_FILES_DIR, man_shown, L.ORG_FILES_DIR)
    org_files = _org_files(_Dir(org_dir, d.name(L.ORG_FILES_DIR), jail=root))
    # The management account first when it was collected, else the manifest's first collected one.
    order = list(man.snapshots)
    if man.management_account_id in man.snapshots:
        order.remove(man.management_account_id)
        order.insert(0, man.management_account_id)
    orgs = parse_organizations(org_files, order)
    _same_organization(man, orgs, man_shown, d.name(L.ORG_FILES_DIR))
    loaded = []
    for aid in order:
        rel, place = man.snapshots[aid]
        path = inside(root, rel, man_shown, place)
        if not path.is_dir():
            raise SnapshotError(f"{man_shown}: {place}: {rel} is not a snapshot directory")
        snap = _load_dir(path, d.name(rel), jail=root)
        if snap.account_id != aid:
            raise SnapshotError(
                f"{d.name(rel)}/{L.MANIFEST}: account_id: {snap.account_id}, but the organization's"
                f" manifest lists this snapshot for account {aid}"
            )
        org = orgs.get(aid)
        loaded.append(
            replace(
                snap,
                organization=org,
                organizations=MappingProxyType({aid: org} if org is not None else {}),
            )
        )
    merged = merge_snapshots(loaded)
    return replace(
        merged,
        source=shown,
        accounts=tuple(order),
        account_infos=MappingProxyType({a.id: a for a in man.accounts}),
        organizations=MappingProxyType(orgs),
    )


def is_org_dir(path: str | Path) -> bool:
    """Whether `path` is an organization snapshot directory (its manifest's format says so)."""
    manifest = Path(path) / L.MANIFEST
    return manifest.is_file() and is_org_manifest(read_json(manifest, str(manifest)))


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgAccount:
    """One collected account of an organization directory: where its snapshot is (checked to lie
    inside the directory) and its own organization path. Small and picklable: what a worker of
    the split analysis (analysis/split.py) needs to load the account by itself."""

    id: str
    path: str
    shown: str  # how error messages name its directory
    organization: Organization | None


def org_accounts(path: str | Path) -> tuple[list[OrgAccount], OrgManifest]:
    """The collected accounts of an organization directory in the order they are analysed (the
    management account first when collected), each with its organization path; and the manifest.
    The manifest and the organization's files are read once, here."""
    root = Path(path)
    d = _Dir(root, str(path), jail=root)
    raw, at = d.need(L.MANIFEST)
    if not is_org_manifest(raw):
        raise SnapshotError(f"{at.file}: not an organization snapshot's manifest")
    man = read_manifest(raw, at.file)
    if not man.snapshots:
        raise SnapshotError(
            f"{at.file}: no account was collected ({len(man.accounts)} listed), nothing to analyse"
        )
    order = list(man.snapshots)
    if man.management_account_id in man.snapshots:
        order.remove(man.management_account_id)
        order.insert(0, man.management_account_id)
    org_dir = inside(root, L.ORG_FILES_DIR, at.file, L.ORG_FILES_DIR)
    orgs = parse_organizations(_org_files(_Dir(org_dir, d.name(L.ORG_FILES_DIR), jail=root)), order)
    _same_organization(man, orgs, at.file, d.name(L.ORG_FILES_DIR))
    out = []
    for aid in order:
        rel, place = man.snapshots[aid]
        account_dir = inside(root, rel, at.file, place)
        if not account_dir.is_dir():
            raise SnapshotError(f"{at.file}: {place}: {rel} is not a snapshot directory")
        out.append(OrgAccount(id=aid, path=str(account_dir), shown=d.name(rel), organization=orgs.get(aid)))
    return out, man


def load_org_account(root: str | Path, account: OrgAccount) -> Snapshot:
    """One account of an organization directory (listed by `org_accounts`), with its organization
    path, as `load_snapshot` loads it among the others."""
    snap = _load_dir(Path(account.path), account.shown, jail=Path(root))
    if snap.account_id != account.id:
        raise SnapshotError(
            f"{account.shown}/{L.MANIFEST}: account_id: {snap.account_id}, but the organization's"
            f" manifest lists this snapshot for account {account.id}"
        )
    org = account.organization
    return replace(snap, organization=org,
                   organizations=MappingProxyType({account.id: org} if org is not None else {}))


def load_org_account_roles(root: str | Path, account: OrgAccount, keep: Callable[[Any], bool]) -> Snapshot:
    """Only some roles of an organization's account, cheaply: those whose raw RoleDetailList entry
    passes `keep`, with the managed policies they use (policies and boundaries) and the account's
    organization path; no users, groups or resources. Anything unexpected in the file is left to
    `load_org_account`, whose full load names it: this falls back to it."""
    d = _Dir(Path(account.path), account.shown, jail=Path(root))
    manifest = d.get(L.MANIFEST)
    details = d.get(L.IAM_DETAILS) if manifest is not None and not is_org_manifest(manifest[0]) else None
    if details is None:
        return load_org_account(root, account)  # says what is wrong, as the full load does
    raw, at = details
    roles = raw.get("RoleDetailList") if isinstance(raw, dict) else None
    policies = raw.get("Policies", []) if isinstance(raw, dict) else None
    if not isinstance(roles, list) or not isinstance(policies, list) or not all(
        isinstance(r, dict) for r in roles
    ) or not all(isinstance(p, dict) for p in policies):
        return load_org_account(root, account)
    kept = [r for r in roles if keep(r)]
    used: set[Any] = set()
    for r in kept:
        attached = r.get("AttachedManagedPolicies")
        if isinstance(attached, list):
            used.update(a.get("PolicyArn") for a in attached if isinstance(a, dict))
        boundary = r.get("PermissionsBoundary")
        if isinstance(boundary, dict):
            used.add(boundary.get("PermissionsBoundaryArn"))
    doc = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": kept,
           "Policies": [p for p in policies if p.get("Arn") in used]}
    iam = parse_details(doc, at.file)
    org = account.organization
    return Snapshot(
        account_id=account.id,
        roles=MappingProxyType(iam.roles),
        policies=MappingProxyType(iam.policies),
        organization=org,
        organizations=MappingProxyType({account.id: org} if org is not None else {}),
        source=account.shown,
    )


def _pair(got: tuple[Any, At] | None) -> tuple[Any, str] | None:
    return None if got is None else (got[0], got[1].file)


def _load_details_file(path: Path, shown: str) -> Snapshot:
    doc = read_json(path, shown)
    if not looks_like_details(doc):
        raise SnapshotError(
            f"{shown}: neither a snapshot directory's manifest nor the output of "
            "`aws iam get-account-authorization-details` (no UserDetailList, RoleDetailList, "
            "GroupDetailList or Policies)"
        )
    iam = parse_details(doc, shown)
    return Snapshot(
        account_id=account_from_arns(iam) or "unknown",
        # No manifest says when: the file is at least as new as the newest date in it.
        collected_at=newest_date(doc),
        users=MappingProxyType(iam.users),
        groups=MappingProxyType(iam.groups),
        roles=MappingProxyType(iam.roles),
        policies=MappingProxyType(iam.policies),
        instance_profiles=MappingProxyType(iam.instance_profiles),
        has_inventory=False,
        source=shown,
    )


@fewer_full_collections()
def load_snapshot(path: str | Path) -> Snapshot:
    """Load a snapshot directory (or its manifest.json), or one get-account-authorization-details file."""
    shown = str(path)
    p = Path(path)
    if p.is_dir():
        return _load_dir(p, shown)
    if p.name == L.MANIFEST and p.is_file():
        return _load_dir(p.parent, str(p.parent))
    if not p.exists():
        raise MissingInputError("snapshot", shown)
    return _load_details_file(p, shown)


def merge_snapshots(snapshots: list[Snapshot]) -> Snapshot:
    """Several accounts' snapshots as one: every principal of all; the first account is the home account.

    Each input keeps its own organization path for its account (`Snapshot.org_of`).
    """
    if not snapshots:
        raise SnapshotError("no snapshot given")
    if len(snapshots) == 1:
        return snapshots[0]
    first = snapshots[0]
    users: dict[str, Any] = {}
    groups: dict[str, Any] = {}
    roles: dict[str, Any] = {}
    policies: dict[str, Any] = {}
    profiles: dict[str, Any] = {}
    regions: list[str] = []
    for s in snapshots:
        users.update(s.users)
        groups.update(s.groups)
        roles.update(s.roles)
        for arn, pol in s.policies.items():
            policies.setdefault(arn, pol)  # AWS managed policies appear in every account
        profiles.update(s.instance_profiles)
        regions.extend(r for r in s.regions if r not in regions)
    organizations: dict[str, Organization] = {}
    infos: dict[str, AccountInfo] = {}
    for s in snapshots:
        if s.organization is not None:
            organizations.setdefault(s.account_id, s.organization)
        for aid, org in s.organizations.items():
            organizations.setdefault(aid, org)
        for aid, info in s.account_infos.items():
            # The same account in two organization snapshots: the one that collected it wins.
            if aid not in infos or (info.collected and not infos[aid].collected):
                infos[aid] = info
    return Snapshot(
        account_id=first.account_id,
        caller_arn=first.caller_arn,
        collected_at=first.collected_at,
        regions=tuple(regions),
        users=MappingProxyType(users),
        groups=MappingProxyType(groups),
        roles=MappingProxyType(roles),
        policies=MappingProxyType(policies),
        instance_profiles=MappingProxyType(profiles),
        organization=first.organization,
        resources=tuple(r for s in snapshots for r in s.resources),
        inventory=tuple(i for s in snapshots for i in s.inventory),
        has_inventory=all(s.has_inventory for s in snapshots),
        source=", ".join(s.source for s in snapshots),
        accounts=tuple(dict.fromkeys(a for s in snapshots for a in s.all_accounts())),
        last_accessed=MappingProxyType({k: v for s in snapshots for k, v in s.last_accessed.items()}),
        organizations=MappingProxyType(organizations),
        account_infos=MappingProxyType(infos),
    )


def load_snapshots(paths: list[str | Path] | tuple[str | Path, ...]) -> Snapshot:
    """Load and merge several accounts' snapshots (see `merge_snapshots`)."""
    return merge_snapshots([load_snapshot(p) for p in paths])
