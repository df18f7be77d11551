"""The whole organization's tree, once: accounts, OUs, parents, and the SCPs/RCPs at every level.

Run from the management account or a delegated administrator
(https://docs.aws.amazon.com/organizations/latest/userguide/orgs_delegate_policies.html). Calls:
DescribeOrganization, ListRoots, then the accounts — ListAccounts, or with `ou` the subtree below
that OU (ListOrganizationalUnitsForParent / ListAccountsForParent, breadth first) — then
ListParents for every selected account and every OU up to the root, DescribeOrganizationalUnit
for each of those OUs, ListPoliciesForTarget for each policy type enabled at the root (SCPs, RCPs)
at the root, every OU and every account, and DescribePolicy once per policy.

All or nothing, as for a single account (collect/org.py): a partial picture would read as "no SCP
allows anything at that level", so any failed call stops here with one `CollectError` before any
account is collected.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from deescalate.collect.session import GLOBAL, Aws, Failure
from deescalate.errors import CollectError, UsageError
from deescalate.snapshot import layout as L

NOT_IN_USE = "AWSOrganizationsNotInUseException"
TARGET_WORKERS = 4
MAX_DEPTH = 8  # root + five levels of OUs + the account, with room to spare; a loop stops here


@dataclass(frozen=True, slots=True, kw_only=True)
class Tree:
    organization_id: str
    management_account_id: str
    accounts: tuple[dict[str, Any], ...]  # ListAccounts entries of the selected accounts
    kept: tuple[dict[str, Any], ...] = ()  # ListAccounts entries of `keep` outside the selection
    gone: tuple[str, ...] = ()  # accounts of `keep` no longer in the organization
    ou_paths: dict[str, tuple[str, ...]]  # account id -> (root id, OU ids ...), parents only
    files: dict[str, Any]  # relative path (layout.ORG_*) -> contents


def _unreadable(e: Failure, of: str | None) -> CollectError:
    return CollectError(
        f"cannot read the organization: {e.call.operation} {f'of {of} ' if of else ''}failed "
        f"({e.call.summary()}); run from the management account or a delegated administrator with "
        "the permissions in policies/collector-readonly.json"
    )


def _need(aws: Aws, operation: str, *, paged: bool = True, **params: Any) -> dict[str, Any]:
    """One Organizations call (all its pages); a failure stops the whole collection."""
    try:
        if paged:
            return aws.pages("organizations", GLOBAL, operation, **params)
        return aws.call("organizations", GLOBAL, operation, **params)
    except Failure as e:
        raise _unreadable(e, next(iter(params.values()), None)) from e


def collect_tree(
    aws: Aws,
    *,
    accounts: Sequence[str] | None = None,
    ou: str | None = None,
    keep: Collection[str] = (),
    keep_org: str | None = None,
    tick: Callable[[str], None] = lambda _: None,
) -> Tree:
    """Read the organization (or the accounts asked for, or the subtree of `ou`).

    `keep` names the accounts an earlier run of organization `keep_org` listed: when only some
    accounts are asked for, those of `keep` still in the organization (ListAccounts) are read into
    the tree too (their OU path and policies, as `Tree.kept`) so the directory keeps describing
    them; the others are `Tree.gone`.
    """
    try:
        described = aws.call("organizations", GLOBAL, "describe_organization")
    except Failure as e:
        if e.call.code == NOT_IN_USE:
            raise CollectError(
                "the caller's account is not in an organization (AWSOrganizationsNotInUseException); "
                "collect it without --organization"
            ) from e
        raise _unreadable(e, None) from e
    info = described.get("Organization") or {}
    org_id, management = str(info.get("Id", "")), str(info.get("MasterAccountId", ""))
    tick(f"organization {org_id}: described")
    roots = _need(aws, "list_roots")
    if not roots.get("Roots"):
        raise CollectError("cannot read the organization: ListRoots lists no root")
    root = roots["Roots"][0]
    root_id = str(root["Id"])
    enabled = [t["Type"] for t in root.get("PolicyTypes", []) if t.get("Status") == "ENABLED"]

    every: list[dict[str, Any]] | None = None  # ListAccounts, when it was called
    if ou is not None:
        listed = _subtree_accounts(aws, ou, root_id, tick)
    else:
        listed = every = _need(aws, "list_accounts").get("Accounts", [])
        tick(f"organization: {len(listed)} accounts listed")
    if accounts is not None:
        by_id = {str(a.get("Id")): a for a in listed}
        unknown = [a for a in accounts if a not in by_id]
        if unknown:
            raise UsageError(
                f"--accounts: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not in "
                f"organization {org_id}"
            )
        listed = [by_id[a] for a in dict.fromkeys(accounts)]
    kept: list[dict[str, Any]] = []
    gone: list[str] = []
    selected = {str(a.get("Id")) for a in listed}
    others = [a for a in dict.fromkeys(keep) if a not in selected] if keep_org == org_id else []
    if others:
        if every is None:
            every = _need(aws, "list_accounts").get("Accounts", [])
            tick(f"organization: {len(every)} accounts listed")
        in_org = {str(a.get("Id")): a for a in every}
        kept = [in_org[a] for a in others if a in in_org]
        gone = [a for a in others if a not in in_org]
    selected_accounts = listed
    listed = [*listed, *kept]

    parents: dict[str, Any] = {}
    ou_paths: dict[str, tuple[str, ...]] = {}

    def parent_of(child: str) -> str | None:
        if child not in parents:
            parents[child] = _need(aws, "list_parents", ChildId=child)
            tick(f"organization: parents of {child}")
        found = parents[child].get("Parents") or []
        return str(found[0]["Id"]) if found else None

    for account in listed:
        chain: list[str] = []
        child: str | None = str(account["Id"])
        while child is not None and child != root_id and len(chain) < MAX_DEPTH:
            child = parent_of(child)
            if child is not None:
                chain.append(child)
        ou_paths[str(account["Id"])] = tuple(reversed(chain))
    ous = sorted({p for path in ou_paths.values() for p in path if p.startswith("ou-")})
    described_ous = {
        o: _need(aws, "describe_organizational_unit", paged=False, OrganizationalUnitId=o) for o in ous
    }
    if ous:
        tick(f"organization: {len(ous)} OUs described")

    targets = [root_id, *ous, *(str(a["Id"]) for a in listed)]
    attached: dict[str, dict[str, Any]] = {}

    def policies_of(target: str) -> tuple[str, dict[str, Any]]:
        got: dict[str, Any] = {}
        for ptype in (L.SCP_TYPE, L.RCP_TYPE):
            if ptype in enabled:
                got[ptype] = _need(aws, "list_policies_for_target", TargetId=target, Filter=ptype)
        return target, got

    with ThreadPoolExecutor(max_workers=TARGET_WORKERS) as pool:
        for target, got in pool.map(policies_of, targets):
            if got:
                attached[target] = got
            tick(f"organization: policies of {target}")
    policy_ids = sorted(
        {str(p["Id"]) for per in attached.values() for resp in per.values() for p in resp.get("Policies", [])}
    )

    def describe(pid: str) -> tuple[str, dict[str, Any]]:
        return pid, _need(aws, "describe_policy", paged=False, PolicyId=pid)

    with ThreadPoolExecutor(max_workers=TARGET_WORKERS) as pool:
        described_policies = dict(pool.map(describe, policy_ids))
    tick(f"organization: {len(policy_ids)} policies described")
    files: dict[str, Any] = {
        L.ORG_DESCRIBE: described,
        L.ORG_ROOTS: roots,
        L.ORG_ACCOUNTS: {"Accounts": listed},
        L.ORG_PARENTS: parents,
        L.ORG_OUS: described_ous,
        L.ORG_TARGET_POLICIES: attached,
        L.ORG_POLICIES: described_policies,
    }
    return Tree(
        organization_id=org_id,
        management_account_id=management,
        accounts=tuple(selected_accounts),
        kept=tuple(kept),
        gone=tuple(gone),
        ou_paths=ou_paths,
        files=files,
    )


def _subtree_accounts(aws: Aws, ou: str, root_id: str, tick: Callable[[str], None]) -> list[dict[str, Any]]:
    """Every account below `ou` (an OU id, or the root's id), breadth first."""
    if ou != root_id:
        try:
            aws.call("organizations", GLOBAL, "describe_organizational_unit", OrganizationalUnitId=ou)
        except Failure as e:
            if e.call.code in ("OrganizationalUnitNotFoundException", "InvalidInputException"):
                raise UsageError(f"--ou {ou}: no such OU in the organization ({e.call.code})") from e
            raise _unreadable(e, ou) from e
    found: list[dict[str, Any]] = []
    queue = [ou]
    while queue:
        parent = queue.pop(0)
        found += _need(aws, "list_accounts_for_parent", ParentId=parent).get("Accounts", [])
        children = _need(aws, "list_organizational_units_for_parent", ParentId=parent).get(
            "OrganizationalUnits", []
        )
        queue += [str(c["Id"]) for c in children]
        tick(f"organization: below {parent}")
    return found
