"""Small builders for evaluator tests: model objects straight from policy JSON via `parse_policy`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from deescalate.model import (
    Group,
    ManagedPolicy,
    Organization,
    OrgNode,
    Policy,
    PolicyKind,
    PolicyRef,
    Resource,
    Role,
    Snapshot,
    User,
)
from deescalate.policy.parse import parse_policy

ACCT = "111111111111"
OTHER = "222222222222"
MGMT = "999999999999"


def stmt(effect: str = "Allow", action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"Effect": effect}
    if "NotAction" not in extra and action is not None:
        s["Action"] = action
    if "NotResource" not in extra and resource is not None:
        s["Resource"] = resource
    s.update(extra)
    return s


def doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    d: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        d["Version"] = version
    return d


def policy(document: dict[str, Any], kind: PolicyKind = PolicyKind.INLINE, name: str = "p",
           arn: str | None = None, attached_to: str | None = None) -> Policy:
    return parse_policy(document, PolicyRef(kind=kind, name=name, arn=arn, attached_to=attached_to))


def user_arn(name: str, account: str = ACCT) -> str:
    return f"arn:aws:iam::{account}:user/{name}"


def role_arn(name: str, account: str = ACCT, path: str = "/") -> str:
    return f"arn:aws:iam::{account}:role{path}{name}"


class SnapshotBuilder:
    """Accumulates users, roles, groups, managed policies, resources and an organization."""

    def __init__(self, account: str = ACCT) -> None:
        self.account = account
        self.users: dict[str, User] = {}
        self.roles: dict[str, Role] = {}
        self.groups: dict[str, Group] = {}
        self.policies: dict[str, ManagedPolicy] = {}
        self.resources: list[Resource] = []
        self.organization: Organization | None = None

    def managed(self, name: str, document: dict[str, Any], account: str | None = None) -> str:
        arn = f"arn:aws:iam::{account or self.account}:policy/{name}"
        p = policy(document, PolicyKind.MANAGED, name=name, arn=arn)
        self.policies[arn] = ManagedPolicy(arn=arn, name=name, default_version="v1", versions={"v1": p})
        return arn

    def user(self, name: str, *inline: dict[str, Any], managed: Iterable[str] = (),
             groups: Iterable[str] = (), boundary: str | None = None,
             tags: Mapping[str, str] | None = None, account: str | None = None) -> str:
        arn = user_arn(name, account or self.account)
        self.users[arn] = User(
            arn=arn, name=name, user_id=f"AIDA{name.upper()}",
            inline_policies=tuple(policy(d, name=f"{name}-inline-{i}", attached_to=arn)
                                  for i, d in enumerate(inline)),
            managed_policy_arns=tuple(managed), group_arns=tuple(groups), boundary_arn=boundary,
            tags=dict(tags or {}),
        )
        return arn

    def role(self, name: str, *inline: dict[str, Any], trust: dict[str, Any] | None = None,
             managed: Iterable[str] = (), boundary: str | None = None,
             tags: Mapping[str, str] | None = None, path: str = "/", account: str | None = None) -> str:
        arn = role_arn(name, account or self.account, path)
        self.roles[arn] = Role(
            arn=arn, name=name, role_id=f"AROA{name.upper()}", path=path,
            trust_policy=policy(trust, PolicyKind.TRUST, name=f"{name}-trust", attached_to=arn)
            if trust is not None else None,
            inline_policies=tuple(policy(d, name=f"{name}-inline-{i}", attached_to=arn)
                                  for i, d in enumerate(inline)),
            managed_policy_arns=tuple(managed), boundary_arn=boundary, tags=dict(tags or {}),
        )
        return arn

    def group(self, name: str, *inline: dict[str, Any], managed: Iterable[str] = ()) -> str:
        arn = f"arn:aws:iam::{self.account}:group/{name}"
        self.groups[arn] = Group(
            arn=arn, name=name,
            inline_policies=tuple(policy(d, name=f"{name}-inline-{i}", attached_to=arn)
                                  for i, d in enumerate(inline)),
            managed_policy_arns=tuple(managed),
        )
        return arn

    def resource(self, arn: str, document: dict[str, Any] | None = None, kind: str = "s3:bucket") -> str:
        pol = policy(document, PolicyKind.RESOURCE, name=arn, attached_to=arn) if document else None
        self.resources.append(Resource(kind=kind, arn=arn, region="us-east-1", policy=pol))
        return arn

    def org(self, levels: list[list[dict[str, Any]]], *, management: str = MGMT,
            rcps: list[list[dict[str, Any]]] | None = None, org_id: str = "") -> None:
        names = ["r-root"] + [f"ou-{i}" for i in range(1, len(levels) - 1)] + [self.account]
        names = names[: len(levels)]
        nodes = []
        for i, docs in enumerate(levels):
            kind = "root" if i == 0 else ("account" if i == len(levels) - 1 else "ou")
            rdocs = rcps[i] if rcps is not None and i < len(rcps) else []
            nodes.append(OrgNode(
                id=names[i], name=names[i], kind=kind,
                scps=tuple(policy(d, PolicyKind.SCP, name=f"scp-{i}-{j}", attached_to=names[i])
                           for j, d in enumerate(docs)),
                rcps=tuple(policy(d, PolicyKind.RCP, name=f"rcp-{i}-{j}", attached_to=names[i])
                           for j, d in enumerate(rdocs)),
            ))
        self.organization = Organization(management_account_id=management, path=tuple(nodes),
                                         rcps_enabled=rcps is not None, id=org_id)

    def build(self) -> Snapshot:
        return Snapshot(
            account_id=self.account, users=dict(self.users), roles=dict(self.roles),
            groups=dict(self.groups), policies=dict(self.policies), resources=tuple(self.resources),
            organization=self.organization, source="test",
        )


FULL_ACCESS = doc(stmt())
