"""A plan over several accounts (an organization): one plan file per account, joined again to check.

`plan` over a snapshot of several accounts solves and verifies *one* plan over all of them (a
cross-account path is cut where its acting principal lives, and the verification re-runs the whole
organization's analysis). `split_plan` then cuts it into one `Plan` per account — each holding only
that account's principals, the escalation edges their denies were solved against, the edges left
open that leave that account, and the organization-wide verdict — and `write_plan_dir` writes them
as `DIR/<ACCOUNT>.plan.json`, each an ordinary plan file (schema 1, its own digest), so every check
apply makes of a plan file holds for each one unchanged (one account per file, digest, vetting).

`plan --check DIR` reads every file of the directory (`read_plan_dir`), joins them (`join_plans`),
re-verifies the joined plan against the organization's snapshot and writes each file back.
`apply`/`revert --organization` take the directory and work account by account (`orgapply.py`).

The file names are the contract: `<12 digits>.plan.json`; a file of the directory that looks like a
plan under another name, a plan whose `account_id` is not its file name, or one holding a principal
of another account is refused (PlanError, naming the file), since the directory is as open to an
attacker as any plan file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from deescalate.arn import account_of
from deescalate.errors import MissingInputError, PlanError, UsageError
from deescalate.model import Edge, Plan
from deescalate.remediate.planfile import read_checked_plan, read_plan, write_plan

PLAN_SUFFIX = ".plan.json"
_PLAN_NAME = re.compile(r"(\d{12})\.plan\.json\Z")


def plan_file_name(account: str) -> str:
    return f"{account}{PLAN_SUFFIX}"


def _owners(edge: Edge) -> set[str]:
    """Whose grants the edge needs: its source's, and in a composed edge a helper's."""
    return {edge.source} | {g.principal for alt in edge.alternatives for g in alt if g.principal}


def plan_accounts(plan: Plan) -> tuple[str, ...]:
    """The accounts with something in the plan: a planned principal, or an open edge leaving it."""
    accounts = {account_of(p.principal) for p in plan.principals}
    accounts |= {account_of(e.source) for e in plan.remaining}
    return tuple(sorted(a for a in accounts if a))


def split_plan(plan: Plan, accounts: Iterable[str] = ()) -> dict[str, Plan]:
    """One plan per account (those of `plan_accounts`, plus `accounts`), in account order.

    Each keeps the organization-wide `verified`: a file says "verified" only when the whole set
    of denies, over every account, leaves nothing open.
    """
    out: dict[str, Plan] = {}
    for account in sorted(set(plan_accounts(plan)) | set(accounts)):
        principals = tuple(p for p in plan.principals if account_of(p.principal) == account)
        mine = {p.principal for p in principals}
        out[account] = replace(
            plan,
            account_id=account,
            principals=principals,
            remaining=tuple(e for e in plan.remaining if account_of(e.source) == account),
            edges=tuple(e for e in plan.edges if _owners(e) & mine),
        )
    return out


def join_plans(plans: Sequence[Plan], *, account_id: str | None = None) -> Plan:
    """The per-account plans as one (the form the planner and the verification work on).

    A principal in two files is refused (vet_plan refuses it too); edges are merged by id.
    """
    if not plans:
        raise UsageError("no plan to join")
    seen: dict[str, str] = {}
    for plan in plans:
        for p in plan.principals:
            if p.principal in seen:
                raise PlanError(f"{p.principal} is planned in two plans (accounts {seen[p.principal]} and "
                                f"{plan.account_id})")
            seen[p.principal] = plan.account_id
    edges: dict[str, Edge] = {}
    remaining: dict[str, Edge] = {}
    for plan in plans:
        for e in plan.edges:
            edges.setdefault(e.id, e)
        for e in plan.remaining:
            remaining.setdefault(e.id, e)
    first = plans[0]
    return replace(
        first,
        account_id=account_id or first.account_id,
        principals=tuple(p for plan in plans for p in plan.principals),
        remaining=tuple(sorted(remaining.values(), key=lambda e: e.id)),
        edges=tuple(edges.values()),
        verified=all(plan.verified for plan in plans),
        targets=tuple(dict.fromkeys(t for plan in plans for t in plan.targets)),
    )


def is_plan_dir(path: str | Path) -> bool:
    return Path(path).is_dir()


def plan_dir_files(directory: str | Path) -> dict[str, Path]:
    """The plan files of a directory by account. Other files (journals, locks, notes) are ignored,
    but a `*.plan.json` whose name is not a 12-digit account id, or one that is a symbolic link,
    is refused: the directory is input anyone may have written to."""
    root = Path(directory)
    if not root.is_dir():
        raise MissingInputError("plan directory", directory)
    out: dict[str, Path] = {}
    for path in sorted(root.iterdir()):
        if not path.name.endswith(PLAN_SUFFIX):
            continue
        m = _PLAN_NAME.match(path.name)
        if m is None:
            raise PlanError(f"{path}: a plan file of an organization's plan directory is named "
                            f"<12-digit account id>{PLAN_SUFFIX}")
        if path.is_symlink() or not path.is_file():
            raise PlanError(f"{path}: not a regular file (a symbolic link or a directory); refused")
        out[m.group(1)] = path
    if not out:
        raise UsageError(f"{directory}: no plan file (<ACCOUNT>{PLAN_SUFFIX}) in this directory")
    return out


def _checked_account(plan: Plan, account: str, path: Path) -> Plan:
    if plan.account_id != account:
        raise PlanError(f"{path}: the plan is for account {plan.account_id!r}, its file name says {account}")
    for p in plan.principals:
        if account_of(p.principal) != account:
            raise PlanError(f"{path}: {p.principal} is not in account {account}, the plan's account")
    return plan


def read_plan_file(account: str, path: Path, *, checked: bool) -> Plan:
    """One account's plan file: with `checked`, its digest must match (what apply reads)."""
    plan = read_checked_plan(path) if checked else read_plan(path)
    return _checked_account(plan, account, path)


def read_plan_dir(directory: str | Path, *, checked: bool) -> dict[str, Plan]:
    """Every account's plan of the directory; the first bad file is refused (PlanError)."""
    return {a: read_plan_file(a, p, checked=checked) for a, p in plan_dir_files(directory).items()}


def write_plan_dir(
    plans: Mapping[str, Plan], directory: str | Path, *, prune: bool = False
) -> tuple[list[Path], list[Path]]:
    """Write each account's plan as DIR/<ACCOUNT>.plan.json (0600); the directory is created 0700.

    With `prune` (a new plan, not a check), the plan files of other accounts left in the directory
    by an earlier plan are removed, so `apply --organization DIR` never applies a stale one.
    Returns (written, removed).
    """
    root = Path(directory)
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create the plan directory {directory}: {e.strerror}") from e
    written = []
    for account, plan in sorted(plans.items()):
        path = root / plan_file_name(account)
        if path.is_symlink():
            raise UsageError(f"{path} is a symbolic link; refusing to write the plan through it")
        write_plan(plan, path)
        written.append(path)
    removed = []
    if prune:
        for path in sorted(root.iterdir()):
            m = _PLAN_NAME.match(path.name)
            if m is not None and m.group(1) not in plans and (path.is_file() or path.is_symlink()):
                try:
                    path.unlink()
                except OSError as e:
                    raise UsageError(f"cannot remove the earlier plan {path}: {e.strerror}") from e
                removed.append(path)
    return written, removed
