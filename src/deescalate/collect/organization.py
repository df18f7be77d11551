"""`collect_organization_dir()`: every account of an organization into one directory.

The directory's layout is docs/snapshot.md's "An organization snapshot" (layout.ORG_*); the loader
reads it with snapshot/orgdir.py, whose validation this module reuses before trusting an earlier
run's manifest.

The organization's tree and policies are read once (collect/orgtree.py) with the caller's
credentials. Then each selected account is collected exactly as a single account is
(collect/run.py), into DIR/accounts/<ID>/, by up to `max_parallel` threads, each with a boto3
session of its own: the caller's own account (the management account, or a delegated
administrator's) with the caller's credentials, every other account with the credentials of
`sts:AssumeRole` into the role named (OrganizationAccountAccessRole by default; the role is only
read through). The credentials refresh themselves before they expire (botocore's assume-role
fetcher), so a long account is not cut off after an hour.

An account whose role cannot be assumed, or whose collection fails, is recorded as "failed" with a
one-line error; an account that is not ACTIVE (SUSPENDED, PENDING_CLOSURE) as "skipped"; neither
stops the others. DIR/manifest.json is rewritten atomically as each account finishes, so an
interrupted run leaves a valid manifest, and a new run keeps the accounts already "collected"
(their snapshot still there) unless `refresh`. The old manifest is validated before it is trusted.
A run over some accounts (`accounts`, `ou`) into an earlier run's directory refreshes or adds
those and keeps the earlier run's other accounts as they were (those no longer in the
organization's ListAccounts are dropped, listed in `OrgCollectResult.gone`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.credentials
import botocore.exceptions
import botocore.loaders
import botocore.session

from deescalate import __version__
from deescalate.collect.iam import caller_identity
from deescalate.collect.orgtree import collect_tree
from deescalate.collect.run import DEFAULT_MAX_ATTEMPTS, Progress, _check_arguments, collect
from deescalate.collect.session import AWS_ERRORS, Aws, FailedCall, Failure, RetryCallback, error_of, fatal
from deescalate.collect.store import Store
from deescalate.errors import CollectError, DeescalateError, SnapshotError, UsageError
from deescalate.model import AccountInfo
from deescalate.snapshot import layout as L
from deescalate.snapshot.load import read_json
from deescalate.snapshot.orgdir import OrgManifest, inside, read_manifest

DEFAULT_ROLE = "OrganizationAccountAccessRole"
DEFAULT_PARALLEL = 4
SESSION_NAME = "deescalate-collect"

ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")  # IAM's role name characters
ACCOUNT_ID = re.compile(r"\d{12}")
OU_ID = re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32}")
ROLE_ARN = re.compile(r"arn:(aws[a-z-]*):iam::(\d{12}):role/[\w+=,.@/-]{1,512}")
PLACEHOLDER = "{account}"


COLLECTED, FAILED, SKIPPED, PENDING = "collected", "failed", "skipped", "pending"


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountEntry:
    """One account of DIR/manifest.json as the collector writes it (docs/snapshot.md)."""

    id: str
    name: str
    status: str  # ListAccounts' Status: ACTIVE, SUSPENDED, PENDING_CLOSURE
    ou_path: tuple[str, ...]  # the root first, then the OUs down to the account's parent
    collection: str  # COLLECTED | FAILED | SKIPPED | PENDING
    error: str | None = None
    snapshot: str | None = None  # "accounts/<ID>" when collected
    email: str | None = None
    selected: bool = True  # False: an earlier run's account outside this run's --accounts/--ou

    def as_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"id": self.id, "name": self.name}
        if self.email is not None:
            doc["email"] = self.email
        doc.update(status=self.status, ou_path=list(self.ou_path), collection=self.collection,
                   error=self.error, snapshot=self.snapshot)
        return doc


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgCollectResult:
    out_dir: Path
    organization_id: str
    management_account_id: str
    accounts: tuple[AccountEntry, ...]  # as DIR/manifest.json lists them
    kept: tuple[str, ...]  # accounts left as an earlier run collected them
    seconds: float
    gone: tuple[str, ...] = ()  # accounts of the earlier manifest no longer in the organization: dropped

    def count(self, collection: str) -> int:
        return sum(1 for a in self.accounts if a.collection == collection)


def role_arn_for(account_id: str, *, partition: str, role_name: str | None, template: str | None) -> str:
    if template is not None:
        return template.replace(PLACEHOLDER, account_id)
    return f"arn:{partition}:iam::{account_id}:role/{role_name}"


def check_arguments(
    *,
    role_name: str | None,
    role_arn_template: str | None,
    accounts: Sequence[str] | None,
    ou: str | None,
    max_parallel: int,
) -> None:
    """Refuse, before any call, what cannot be right (UsageError, exit 2)."""
    if role_name is not None and role_arn_template is not None:
        raise UsageError("give --role-name or --role-arn-template, not both")
    if role_name is not None and not ROLE_NAME.fullmatch(role_name):
        raise UsageError(f"--role-name {role_name!r} is not an IAM role name (1-64 of A-Z a-z 0-9 +=,.@_-)")
    if role_arn_template is not None:
        arn = role_arn_template.replace(PLACEHOLDER, "000000000000")
        m = ROLE_ARN.fullmatch(arn)
        if PLACEHOLDER not in role_arn_template or m is None or m.group(2) != "000000000000":
            raise UsageError(
                f"--role-arn-template {role_arn_template!r} is not a role ARN with {PLACEHOLDER} as its "
                "account (like arn:aws:iam::{account}:role/Name)"
            )
    if accounts is not None and ou is not None:
        raise UsageError("give --accounts or --ou, not both")
    for a in accounts or ():
        if not ACCOUNT_ID.fullmatch(a):
            raise UsageError(f"--accounts: {a!r} is not a 12-digit account id")
    if accounts is not None and not accounts:
        raise UsageError("--accounts names no account")
    if ou is not None and not OU_ID.fullmatch(ou):
        raise UsageError(f"--ou {ou!r} is not an OU id (ou-xxxx-xxxxxxxx) or a root id (r-xxxx)")
    if max_parallel < 1:
        raise UsageError("--max-accounts-in-parallel must be at least 1")


def looks_like_org_dir(path: Path) -> bool:
    """An organization directory, even one whose manifest is damaged: its manifest says so, or it
    has the accounts/ or organization/ directory a single-account snapshot never has."""
    if (path / L.ORG_ACCOUNTS_DIR).exists() or (path / L.ORG_FILES_DIR).exists():
        return True
    manifest = path / L.MANIFEST
    try:
        if not manifest.is_file() or manifest.stat().st_size > 64 * 1024 * 1024:
            return False
        doc = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == L.ORG_FORMAT_NAME


@dataclass(frozen=True, slots=True, kw_only=True)
class _Earlier:
    """What an earlier run's manifest (validated) says was collected."""

    organization_id: str
    collected: frozenset[str]  # accounts whose snapshot is accounts/<ID>, inside DIR
    accounts: tuple[AccountInfo, ...]  # every account the manifest lists


def _check_out_dir(out: Path) -> _Earlier | None:
    """The earlier run to resume from, validated; None for a new (absent or empty) directory."""
    if out.is_symlink():
        raise UsageError(f"{out}: is a symbolic link; give the organization directory itself as -o")
    if not out.exists():
        return None
    if not out.is_dir():
        raise UsageError(f"{out}: exists and is not a directory; choose another -o")
    if not any(out.iterdir()):
        return None
    if not looks_like_org_dir(out):
        if (out / L.MANIFEST).is_file():
            raise UsageError(
                f"{out}: is a single-account snapshot, not an organization one; choose another -o"
            )
        raise UsageError(f"{out}: exists and is not an organization snapshot directory; choose another -o")
    for name in (L.ORG_ACCOUNTS_DIR, L.ORG_FILES_DIR):
        if (out / name).is_symlink() or ((out / name).exists() and not (out / name).is_dir()):
            raise SnapshotError(
                f"{out / name}: is not a plain directory (a symbolic link?); refusing to write there"
            )
    shown = f"{out}/{L.MANIFEST}"
    try:
        if (out / L.MANIFEST).is_symlink():
            raise SnapshotError(f"{shown}: is a symbolic link; the manifest must be a file in the directory")
        earlier: OrgManifest = read_manifest(read_json(out / L.MANIFEST, shown), shown)
        collected = set()
        for aid, (rel, place) in earlier.snapshots.items():
            inside(out, rel, shown, place)  # a path out of DIR is refused, whatever its use
            if rel == f"{L.ORG_ACCOUNTS_DIR}/{aid}":
                collected.add(aid)
    except SnapshotError as e:
        raise SnapshotError(
            f"{e.message} (an earlier run's manifest is needed to resume: fix it, or remove {out} "
            "to start over)"
        ) from e
    return _Earlier(organization_id=earlier.organization_id, collected=frozenset(collected),
                    accounts=earlier.accounts)


class _ManifestWriter:
    """DIR/manifest.json, rewritten whole and atomically (temporary file + rename) on each change."""

    def __init__(self, out: Path, head: dict[str, Any], accounts: list[AccountEntry]) -> None:
        self.out = out
        self.head = head
        self.accounts = accounts
        self.lock = threading.Lock()

    def as_json(self) -> dict[str, Any]:
        return {"format": L.ORG_FORMAT_NAME, "format_version": L.ORG_FORMAT_VERSION, **self.head,
                "accounts": [a.as_json() for a in self.accounts]}

    def set(self, account: AccountEntry) -> None:
        with self.lock:
            self.accounts = [account if a.id == account.id else a for a in self.accounts]
            self.write()

    def write(self) -> None:
        text = json.dumps(self.as_json(), indent=1, ensure_ascii=False) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=".manifest.", suffix=".tmp", dir=self.out)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.out / L.MANIFEST)
        except OSError as e:
            Path(tmp).unlink(missing_ok=True)
            raise CollectError(f"{self.out / L.MANIFEST}: cannot write ({e.strerror})") from e


def _write_tree(out: Path, files: dict[str, Any]) -> None:
    """DIR/organization/, replaced whole (written beside it, then renamed into place)."""
    target = out / L.ORG_FILES_DIR
    store = Store(target, snapshot_only=False)
    try:
        for rel, data in files.items():
            store.write(rel, data)
        store.finish()
    except BaseException:
        store.abandon()
        raise


_loader_lock = threading.Lock()
_loaders: list[Any] = []


def _botocore_session(profile: str | None) -> Any:
    """A new botocore session (one per account and thread: sessions are not thread-safe) sharing
    one data loader, so the service models (EC2's alone is megabytes of JSON) are parsed once per
    run rather than once per account: measured 0.8 s -> 0.2 s of CPU per account."""
    with _loader_lock:
        if not _loaders:
            _loaders.append(botocore.loaders.create_loader())
        loader = _loaders[0]
    session = botocore.session.Session(profile=profile)
    session.register_component("data_loader", loader)
    return session


def _assumed_session(profile: str | None, endpoint_url: str | None, role_arn: str,
                     max_attempts: int) -> Any:
    """A boto3 session whose credentials are `role_arn`'s, assumed now (so a refusal shows here) and
    again before they expire. Raises Failure when the role cannot be assumed."""
    source = _botocore_session(profile)
    region = source.get_config_variable("region") or "us-east-1"
    config = botocore.config.Config(retries={"mode": "standard", "total_max_attempts": max_attempts})
    fetcher = botocore.credentials.AssumeRoleCredentialFetcher(
        client_creator=partial(source.create_client, region_name=region, endpoint_url=endpoint_url,
                               config=config),
        source_credentials=source.get_credentials(),
        role_arn=role_arn,
        extra_args={"RoleSessionName": SESSION_NAME},
    )
    creds = botocore.credentials.DeferredRefreshableCredentials(
        refresh_using=fetcher.fetch_credentials, method="assume-role"
    )
    try:
        creds.get_frozen_credentials()
    except AWS_ERRORS as e:
        code, message = error_of(e)
        raise Failure(FailedCall(service="sts", operation="AssumeRole", region="global", code=code,
                                 message=message)) from e
    target = _botocore_session(profile)
    # botocore has no public setter for a session's credentials; this is the documented way boto3
    # users give a session refreshable credentials.
    target._credentials = creds
    return boto3.session.Session(botocore_session=target, region_name=region)


def _own_session(profile: str | None) -> Any:
    """The caller's own credentials, for the caller's own account (no role in it is assumed)."""
    return boto3.session.Session(botocore_session=_botocore_session(profile))


def collect_organization_dir(
    out_dir: str | Path,
    *,
    profile: str | None = None,
    role_name: str | None = None,
    role_arn_template: str | None = None,
    accounts: Sequence[str] | None = None,
    ou: str | None = None,
    refresh: bool = False,
    max_parallel: int = DEFAULT_PARALLEL,
    regions: Sequence[str] | None = None,
    endpoint_url: str | None = None,
    progress: Progress | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    on_retry: RetryCallback | None = None,
) -> OrgCollectResult:
    """Collect the organization into `out_dir` (see the module docstring); never fails for one account.

    `progress(done, total, what)` counts accounts (total 0 while the tree is being read); it is
    called from the worker threads.
    """
    started = time.monotonic()
    out = Path(out_dir)
    check_arguments(role_name=role_name, role_arn_template=role_arn_template, accounts=accounts, ou=ou,
                    max_parallel=max_parallel)
    _check_arguments(regions, endpoint_url)
    earlier = _check_out_dir(out)
    role = role_arn_template if role_arn_template is not None else (role_name or DEFAULT_ROLE)
    report: Progress = progress or (lambda _d, _t, _w: None)
    aws = Aws(profile=profile, endpoint_url=endpoint_url, max_attempts=max_attempts, on_retry=on_retry)
    try:
        ident = caller_identity(aws)
    except Exception as e:
        raise fatal(e, endpoint_url) from e
    caller, caller_account = str(ident.get("Arn", "")), str(ident.get("Account", ""))
    partition = caller.split(":")[1] if caller.count(":") >= 5 else "aws"
    # A run over some accounts (--accounts, --ou) keeps the earlier run's other accounts of the
    # same organization, those still in it: the directory never forgets an account it holds.
    subset = accounts is not None or ou is not None
    tree = collect_tree(aws, accounts=accounts, ou=ou, tick=lambda what: report(0, 0, what),
                        keep=[a.id for a in earlier.accounts] if earlier is not None and subset else (),
                        keep_org=earlier.organization_id if earlier is not None else None)

    try:
        out.mkdir(mode=0o700, parents=True, exist_ok=True)
        (out / L.ORG_ACCOUNTS_DIR).mkdir(mode=0o700, exist_ok=True)
    except OSError as e:
        raise CollectError(f"{out}: cannot create the organization directory ({e.strerror})") from e
    for stale in (out / L.ORG_ACCOUNTS_DIR).glob(".*.partial-*"):  # an interrupted run's half accounts
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
    _write_tree(out, tree.files)

    same_org = earlier is not None and earlier.organization_id == tree.organization_id
    trusted = earlier.collected if earlier is not None and same_org else frozenset()
    # The management account first (the home account of the merged snapshot), then by id.
    outside = {str(a["Id"]) for a in tree.kept}  # accounts of the earlier run this run does not select
    before = {a.id: a for a in earlier.accounts} if earlier is not None and same_org else {}
    order = sorted([*tree.accounts, *tree.kept],
                   key=lambda a: (str(a["Id"]) != tree.management_account_id, str(a["Id"])))
    entries: list[AccountEntry] = []
    kept: list[str] = []
    for a in order:
        aid = str(a["Id"])
        base = AccountEntry(id=aid, name=str(a.get("Name", "")), email=a.get("Email"),
                            status=str(a.get("Status", "")), ou_path=tree.ou_paths.get(aid, ()),
                            collection=PENDING)
        rel = f"{L.ORG_ACCOUNTS_DIR}/{aid}"
        if base.status != "ACTIVE":
            why = f"the account is {base.status or 'of unknown status'}: not collected"
            entries.append(_replace(base, collection=SKIPPED, error=why))
        elif (not refresh or aid in outside) and aid in trusted and _snapshot_present(out, rel):
            entries.append(_replace(base, collection=COLLECTED, snapshot=rel))
            kept.append(aid)
        elif aid in outside:  # not selected this time: as the earlier run left it, never collected now
            old = before[aid]
            failed = old.collection == FAILED
            entries.append(_replace(base, collection=FAILED if failed else PENDING,
                                    error=old.error if failed else None, selected=False))
        else:
            entries.append(base)
    head = {
        "tool_version": __version__,
        "collected_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "caller": caller,
        "organization_id": tree.organization_id,
        "management_account_id": tree.management_account_id,
        "role": role,
    }
    listed_now = {e.id for e in entries}
    gone = tree.gone if subset else tuple(a for a in before if a not in listed_now)
    writer = _ManifestWriter(out, head, entries)
    writer.write()

    todo = [e for e in entries if e.collection == PENDING and e.selected]
    total = len(entries)
    done_lock = threading.Lock()
    done = [total - len(todo)]
    report(done[0], total, f"{len(todo)} account(s) to collect, {len(kept)} kept from an earlier run")

    def one(entry: AccountEntry) -> None:
        def step(_d: int, _t: int, what: str) -> None:
            report(done[0], total, f"{entry.id}: {what}")

        result = _collect_account(
            out, entry, caller_account=caller_account, partition=partition,
            role_name=role_name or DEFAULT_ROLE, template=role_arn_template, profile=profile,
            regions=regions, endpoint_url=endpoint_url, progress=step,
            max_attempts=max_attempts, on_retry=on_retry,
        )
        writer.set(result)
        with done_lock:
            done[0] += 1
        report(done[0], total, f"{entry.id}: {result.collection}")

    with ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="deescalate-account") as pool:
        futures = [pool.submit(one, e) for e in todo]
        try:
            for f in futures:
                f.result()
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return OrgCollectResult(out_dir=out, organization_id=tree.organization_id,
                            management_account_id=tree.management_account_id,
                            accounts=tuple(writer.accounts), kept=tuple(kept),
                            seconds=time.monotonic() - started, gone=gone)


def _replace(a: AccountEntry, **changes: Any) -> AccountEntry:
    return dataclasses.replace(a, **changes)


def _snapshot_present(out: Path, rel: str) -> bool:
    path = out / rel
    return path.is_dir() and not path.is_symlink() and (path / L.MANIFEST).is_file()


def _collect_account(
    out: Path,
    entry: AccountEntry,
    *,
    caller_account: str,
    partition: str,
    role_name: str,
    template: str | None,
    profile: str | None,
    regions: Sequence[str] | None,
    endpoint_url: str | None,
    progress: Progress,
    max_attempts: int,
    on_retry: RetryCallback | None,
) -> AccountEntry:
    """One account: its credentials, then collect(); never raises for the account's own failures."""
    rel = f"{L.ORG_ACCOUNTS_DIR}/{entry.id}"
    target = out / rel
    if target.is_symlink():
        return _replace(entry, collection=FAILED, error=f"{target} is a symbolic link; not written through")
    try:
        if entry.id == caller_account:
            session = _own_session(profile)
        else:
            arn = role_arn_for(entry.id, partition=partition, role_name=role_name, template=template)
            try:
                session = _assumed_session(profile, endpoint_url, arn, max_attempts)
            except Failure as e:
                return _replace(entry, collection=FAILED,
                                error=_one_line(f"{e.call.code} assuming {arn}: {e.call.message}"))
        collect(target, regions=regions, endpoint_url=endpoint_url, progress=progress,
                max_attempts=max_attempts, on_retry=on_retry, session=session, organization=False)
    except DeescalateError as e:
        return _replace(entry, collection=FAILED, error=_one_line(e.message))
    except (*AWS_ERRORS, botocore.exceptions.BotoCoreError, OSError, ValueError, KeyError, TypeError) as e:
        code, message = error_of(e)
        return _replace(entry, collection=FAILED, error=_one_line(f"{code}: {message}"))
    return _replace(entry, collection=COLLECTED, error=None, snapshot=rel)


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 500 else text[:497] + "..."


__all__ = [
    "DEFAULT_PARALLEL",
    "DEFAULT_ROLE",
    "OrgCollectResult",
    "check_arguments",
    "collect_organization_dir",
]
