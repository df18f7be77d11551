"""The request-context keys the snapshot can supply for a principal and a resource.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
Keys the snapshot knows completely are "closed": when it has no value for them they are absent
from the request (a role session has no `aws:username`; a user without a `team` tag has no
`aws:PrincipalTag/team`). Every other key not passed in by the caller is unknown offline
(`aws:SourceIp`, `aws:MultiFactorAuthPresent`, `aws:CurrentTime`, `aws:RequestTag/*`, ...): a
condition on it is reported, never guessed.

Approximations, stated: a role session's principal tags are taken to be the role's tags (session
tags passed at AssumeRole time are not known); `aws:userid` of a role session is unknown (it
carries the session name).
"""

from __future__ import annotations

from collections.abc import Mapping

from deescalate.model import Role, Snapshot, User

# Closed for every principal: the snapshot knows them or knows they are absent.
PRINCIPAL_CLOSED_KEYS = frozenset(
    {
        "aws:username",
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principaltype",
        "aws:principalisawsservice",
        "aws:principalservicename",
        "aws:principalservicenameslist",
        "aws:viaawsservice",
        "aws:federatedprovider",
    }
)
PRINCIPAL_CLOSED_PREFIXES = ("aws:principaltag/",)
# Present only when a service calls on the principal's behalf (or is the principal); with
# aws:ViaAWSService and aws:PrincipalIsAWSService false they are absent. A caller that says the
# request comes through a service (either key "true" in the context) reopens them.
SERVICE_CHAIN_KEYS = frozenset(
    {
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:calledvia",
        "aws:calledviafirst",
        "aws:calledvialast",
    }
)
RESOURCE_TAG_PREFIXES = ("aws:resourcetag/", "iam:resourcetag/")
# Facts of the live request only (how the caller signed in and connects, the region it sends the
# request to): no snapshot knows them,
# and no technique passes them in a grant's context, so a condition on one is unknown for every
# request the analysis asks. A Deny statement with such a condition never denies definitively:
# taking it away makes no request possible that was not (analysis/compose.py).
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
SESSION_ONLY_KEYS = frozenset(
    {
        "aws:multifactorauthpresent",
        "aws:multifactorauthage",
        "aws:sourceip",
        "aws:securetransport",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:vpcsourceip",
        "aws:useragent",
        "aws:referer",
        "aws:requestedregion",
    }
)


def principal_values(principal: User | Role) -> dict[str, tuple[str, ...]]:
    """Context values derived from the principal, with lower-cased keys."""
    account = principal.account_id
    out: dict[str, tuple[str, ...]] = {
        "aws:principalarn": (principal.arn,),
        "aws:principalaccount": (account,),
        # Requests made by an IAM principal directly: not by a service on its behalf, unless the
        # caller says so in the context.
        "aws:principalisawsservice": ("false",),
        "aws:viaawsservice": ("false",),
    }
    if isinstance(principal, User):
        out["aws:username"] = (principal.name,)
        out["aws:principaltype"] = ("User",)
        if principal.user_id:
            out["aws:userid"] = (principal.user_id,)
    else:
        out["aws:principaltype"] = ("AssumedRole",)
    for k, v in principal.tags.items():
        out[f"aws:principaltag/{k.lower()}"] = (v,)
    return out


def closed_keys_for(principal: User | Role) -> frozenset[str]:
    closed = PRINCIPAL_CLOSED_KEYS | SERVICE_CHAIN_KEYS
    if isinstance(principal, User) and principal.user_id:
        return closed | {"aws:userid"}
    return closed


def via_service(given: Mapping[str, tuple[str, ...]]) -> bool:
    """Does the caller's context say a service makes (or forwards) the request?"""
    return any(
        v.lower() == "true"
        for k in ("aws:viaawsservice", "aws:principalisawsservice")
        for v in given.get(k, ())
    )


def resource_values(
    resource_account: str, tags: Mapping[str, str] | None
) -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    """Values derived from the resource, and the key prefixes they close (tags, when known)."""
    out: dict[str, tuple[str, ...]] = {}
    if resource_account:
        out["aws:resourceaccount"] = (resource_account,)
    if tags is None:
        return out, ()
    for k, v in tags.items():
        out[f"aws:resourcetag/{k.lower()}"] = (v,)
        out[f"iam:resourcetag/{k.lower()}"] = (v,)
    return out, RESOURCE_TAG_PREFIXES


def org_values(snapshot: Snapshot, account: str, side: str) -> dict[str, tuple[str, ...]]:
    """aws:{Principal,Resource}OrgID and ...OrgPaths for an account of the snapshot's organization.

    Known when the snapshot holds `account`'s organization path (`Snapshot.org_of`: the home
    account of a single-account snapshot, every collected account of an organization snapshot) and
    the organization's id. The path has the form
    `o-id/r-root/ou-1/.../` (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgpaths).
    """
    org = snapshot.org_of(account) if account else None
    if org is not None:
        org_id, parents = org.id, [n.id for n in org.path if n.kind != "account"]
    else:
        # An account of the organization that was not collected: its manifest entry gives its
        # OU path, and any collected account's organization the id.
        info = snapshot.account_infos.get(account) if account else None
        known = next(iter(snapshot.organizations.values()), None)
        if info is None or known is None or not info.ou_path:
            return {}
        org_id, parents = known.id, list(info.ou_path)
    if not org_id:
        return {}
    path = "/".join([org_id, *parents]) + "/"
    return {f"aws:{side}orgid": (org_id,), f"aws:{side}orgpaths": (path,)}
