"""Organizations responses -> `Organization`: the path root -> OUs -> account with SCPs and RCPs.

SCPs must allow an action at every level from the root down to the account, and RCPs likewise;
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
A level whose policies of one type are not listed (the policy type is disabled) carries none; the
`Organization.rcps_enabled` flag says whether RCPs apply at all, and SCPs apply only when the root
lists SERVICE_CONTROL_POLICY as enabled (`Organization.scps_enabled`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from deescalate.model import Organization, OrgNode, Policy, PolicyKind, PolicyRef
from deescalate.snapshot import layout as L
from deescalate.snapshot.iam import policy
from deescalate.snapshot.where import At, as_object, get_objects, get_opt_object, get_str

Loaded = tuple[Any, At]  # parsed JSON and the position of its top level


@dataclass(slots=True)
class _Memo:
    """What the accounts of one organization share: policies by (target id, type), account names."""

    policies: dict[tuple[str, str], tuple[Policy, ...]] = field(default_factory=dict)
    names: dict[str, str] | None = None


def _enabled_types(root: dict[str, Any], at: At) -> set[str]:
    return {
        get_str(t, "Type", w)
        for w, t in get_objects(root, "PolicyTypes", at)
        if get_str(t, "Status", w, default="") == "ENABLED"
    }


def _policies(
    target: str, ptype: str, kind: PolicyKind, files: dict[str, Loaded], memo: _Memo | None = None
) -> tuple[Policy, ...]:
    if memo is not None:
        hit = memo.policies.get((target, ptype))
        if hit is None:
            hit = memo.policies[(target, ptype)] = _policies(target, ptype, kind, files)
        return hit
    if L.ORG_TARGET_POLICIES not in files:
        return ()
    raw, top = files[L.ORG_TARGET_POLICIES]
    by_target = as_object(raw, top)
    if target not in by_target:
        return ()
    tat = top.key(target)
    per_type = as_object(by_target[target], tat)
    if per_type.get(ptype) is None:
        return ()
    resp_at = tat.key(ptype)
    described: dict[str, Any] = {}
    dat = At(file="")
    if L.ORG_POLICIES in files:
        draw, dat = files[L.ORG_POLICIES]
        described = as_object(draw, dat)
    out = []
    for at, summary in get_objects(as_object(per_type[ptype], resp_at), "Policies", resp_at):
        pid = get_str(summary, "Id", at)
        name = get_str(summary, "Name", at, default=pid)
        if pid not in described:
            raise at.error(f"policy {pid} ({name}) has no entry in {L.ORG_POLICIES}")
        pat = dat.key(pid)
        body = get_opt_object(as_object(described[pid], pat), "Policy", pat)
        if body is None:
            raise pat.error("missing Policy")
        pat = pat.key("Policy")
        summary2 = get_opt_object(body, "PolicySummary", pat) or {}
        arn = summary2.get("Arn") if isinstance(summary2.get("Arn"), str) else None
        ref = PolicyRef(kind=kind, name=name, arn=arn, attached_to=target)
        out.append(policy(body.get("Content"), ref, pat.key("Content").named(f"policy {name}")))
    return tuple(out)


def parse_organizations(files: dict[str, Loaded], account_ids: list[str]) -> dict[str, Organization]:
    """Each account's organization path over one organization's files (an organization snapshot).

    A policy attached to the root or an OU is parsed once and shared by every account under it.
    """
    memo = _Memo()
    out = {}
    for account_id in account_ids:
        org = parse_organization(files, account_id, memo=memo)
        if org is not None:
            out[account_id] = org
    return out


def _account_names(files: dict[str, Loaded]) -> dict[str, str]:
    """Account id -> name from ListAccounts (organizations/list-accounts.json), when present."""
    if L.ORG_ACCOUNTS not in files:
        return {}
    raw, at = files[L.ORG_ACCOUNTS]
    return {
        get_str(a, "Id", w): get_str(a, "Name", w, default="")
        for w, a in get_objects(as_object(raw, at), "Accounts", at)
    }


def parse_organization(
    files: dict[str, Loaded], account_id: str, *, memo: _Memo | None = None
) -> Organization | None:
    """The organization of `account_id`, or None when the snapshot holds no Organizations data."""
    if L.ORG_DESCRIBE not in files or L.ORG_ROOTS not in files:
        return None
    raw, at = files[L.ORG_DESCRIBE]
    org = get_opt_object(as_object(raw, at), "Organization", at)
    if org is None:
        raise at.error("missing Organization")
    management = get_str(org, "MasterAccountId", at.key("Organization"), default="")
    org_id = get_str(org, "Id", at.key("Organization"), default="")
    raw, at = files[L.ORG_ROOTS]
    roots = get_objects(as_object(raw, at), "Roots", at, required=True)
    if not roots:
        raise at.key("Roots").error("the organization has no root")
    root_at, root = roots[0]
    root_id = get_str(root, "Id", root_at)
    enabled = _enabled_types(root, root_at)

    # Walk from the account up to the root through ListParents.
    chain: list[tuple[str, str]] = [(account_id, "account")]
    if L.ORG_PARENTS in files:
        praw, pat = files[L.ORG_PARENTS]
        parents = as_object(praw, pat)
        child = account_id
        while child != root_id:
            if child not in parents:
                raise pat.error(f"no parent listed for {child}, so the path to the root is incomplete")
            cat = pat.key(child)
            items = get_objects(as_object(parents[child], cat), "Parents", cat, required=True)
            if len(items) != 1:
                raise cat.key("Parents").error(f"expected one parent, found {len(items)}")
            wat, parent = items[0]
            child = get_str(parent, "Id", wat)
            chain.append((child, "root" if child == root_id else "ou"))
            if len(chain) > 10:  # AWS allows five OU levels; anything deeper is a loop
                raise pat.error("the parent chain does not reach the root")
    else:
        chain.append((root_id, "root"))
    chain.reverse()

    ou_names: dict[str, Any] = {}
    if L.ORG_OUS in files:
        oraw, oat = files[L.ORG_OUS]
        ou_names = as_object(oraw, oat)
    nodes = []
    if memo is None:
        account_names = _account_names(files)
    else:
        if memo.names is None:
            memo.names = _account_names(files)
        account_names = memo.names
    for node_id, kind in chain:
        name = node_id
        if kind == "account" and account_names.get(node_id):
            name = account_names[node_id]
        elif kind == "root":
            name = get_str(root, "Name", root_at, default="Root")
        elif kind == "ou" and isinstance(ou_names.get(node_id), dict):
            ou = ou_names[node_id].get("OrganizationalUnit")
            if isinstance(ou, dict) and isinstance(ou.get("Name"), str):
                name = ou["Name"]
        scps = _policies(node_id, L.SCP_TYPE, PolicyKind.SCP, files, memo) if L.SCP_TYPE in enabled else ()
        rcps = _policies(node_id, L.RCP_TYPE, PolicyKind.RCP, files, memo) if L.RCP_TYPE in enabled else ()
        nodes.append(OrgNode(id=node_id, name=name, kind=kind, scps=scps, rcps=rcps))
    return Organization(
        management_account_id=management,
        path=tuple(nodes),
        id=org_id,
        rcps_enabled=L.RCP_TYPE in enabled,
        scps_enabled=L.SCP_TYPE in enabled,
    )
