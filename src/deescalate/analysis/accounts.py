"""The accounts of a report over several accounts: names, OU paths, the management account.

A scan of an organization snapshot (or of several snapshots) reports findings grouped by account;
this module says what the report knows of each account (`AccountDetail`): its name (from the
organization's ListAccounts or the manifest), its OU path by name, whether it is the management
account, and for accounts of the organization that could not be collected, why. A scan of one
account has none of this, so its reports stay as they were.
"""

from __future__ import annotations

from deescalate.model import AccountDetail, Organization, Snapshot


def management_account(snapshot: Snapshot) -> str:
    """The organization's management account id, when any account's organization is known."""
    org = snapshot.org_of(snapshot.account_id)
    if org is None:
        org = next(iter(snapshot.organizations.values()), None)
    return org.management_account_id if org is not None else ""


def _names(orgs: list[Organization]) -> dict[str, str]:
    out: dict[str, str] = {}
    for org in orgs:
        for node in org.path:
            if node.name and node.name != node.id:
                out.setdefault(node.id, node.name)
    return out


def account_details(snapshot: Snapshot) -> tuple[AccountDetail, ...]:
    """Every account of a multi-account snapshot, the analysed ones first (in `accounts` order), then
    those of the organization that were not collected; () for a single account."""
    analysed = snapshot.all_accounts()
    if len(analysed) < 2 and not snapshot.account_infos:
        return ()
    mgmt = management_account(snapshot)
    orgs = [o for a in analysed if (o := snapshot.org_of(a)) is not None]
    names = _names(orgs)
    out = []
    for aid in (*analysed, *(a for a in snapshot.account_infos if a not in analysed)):
        info = snapshot.account_infos.get(aid)
        org = snapshot.org_of(aid)
        if org is not None:
            path = tuple(n.name or n.id for n in org.path if n.kind != "account")
        elif info is not None:
            path = tuple(names.get(i, i) for i in info.ou_path)
        else:
            path = ()
        name = info.name if info is not None and info.name else ""
        if not name and org is not None and org.path and org.path[-1].kind == "account":
            last = org.path[-1]
            name = last.name if last.name != last.id else ""
        out.append(
            AccountDetail(
                id=aid,
                name=name,
                ou_path=path,
                management=bool(mgmt) and aid == mgmt,
                collection=info.collection if info is not None else "collected",
                error=info.error if info is not None else None,
            )
        )
    return tuple(out)
