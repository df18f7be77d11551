"""A small builder of in-memory snapshots for technique tests: model objects + parse_policy.

acct = Account()
acct.user("attacker", allow("iam:PutUserPolicy"))
snap = acct.build()
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from deescalate.model import (
    Group,
    InstanceProfile,
    InventoryRecord,
    InventoryState,
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
from deescalate.snapshot.layout import RESOURCE_KINDS

ACCT = "111111111111"
OTHER = "222222222222"
REGION = "us-east-1"
ADMIN_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
# shared/ lies beside the repository (CI lays it there too); /work/shared is this workplace's copy.
_REFERENCE = next(
    (
        p
        for p in (
            Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "aws-managed-policies.json",
            Path("/work/shared/reference/aws-managed-policies.json"),
        )
        if p.is_file()
    ),
    Path("/work/shared/reference/aws-managed-policies.json"),
)


def stmt(
    effect: str, actions: str | list[str], resources: str | list[str] = "*", **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": effect, "Action": actions, "Resource": resources}
    out.update(extra)
    return out


def allow(actions: str | list[str], resources: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return stmt("Allow", actions, resources, **extra)


def deny(actions: str | list[str], resources: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return stmt("Deny", actions, resources, **extra)


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def trust_service(*services: str) -> dict[str, Any]:
    return doc({"Effect": "Allow", "Principal": {"Service": list(services)}, "Action": "sts:AssumeRole"})


def trust_aws(*principals: str) -> dict[str, Any]:
    return doc({"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"})


def user_arn(name: str, account: str = ACCT) -> str:
    return f"arn:aws:iam::{account}:user/{name}"


def role_arn(name: str, account: str = ACCT) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def group_arn(name: str, account: str = ACCT) -> str:
    return f"arn:aws:iam::{account}:group/{name}"


def policy_arn(name: str, account: str = ACCT) -> str:
    return f"arn:aws:iam::{account}:policy/{name}"


def _inline(owner: str, docs: tuple[dict[str, Any], ...]) -> tuple[Policy, ...]:
    return tuple(
        parse_policy(d, PolicyRef(kind=PolicyKind.INLINE, name=f"inline-{i}", attached_to=owner))
        for i, d in enumerate(docs)
    )


def aws_managed(name: str) -> ManagedPolicy:
    """An AWS managed policy with its real document (AdministratorAccess, ReadOnlyAccess, ...)."""
    data = json.loads(_REFERENCE.read_text())["policies"][name]
    arn, vid = data["Arn"], data["VersionId"]
    ref = PolicyRef(kind=PolicyKind.MANAGED, name=name, arn=arn, version=vid)
    return ManagedPolicy(
        arn=arn,
        name=name,
        default_version=vid,
        versions=MappingProxyType({vid: parse_policy(data["Document"], ref)}),
    )


@dataclass
class Account:
    """A mutable recipe for a Snapshot; `build()` freezes it."""

    account_id: str = ACCT
    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    policies: dict[str, ManagedPolicy] = field(default_factory=dict)
    profiles: dict[str, InstanceProfile] = field(default_factory=dict)
    resources: list[Resource] = field(default_factory=list)
    inventory: dict[tuple[str, str], InventoryRecord] = field(default_factory=dict)
    scps: list[dict[str, Any]] = field(default_factory=list)
    has_inventory: bool = True

    def __post_init__(self) -> None:
        self.policies[ADMIN_ACCESS] = aws_managed("AdministratorAccess")
        for kind in RESOURCE_KINDS:
            self.inventory[(kind, REGION)] = InventoryRecord(
                kind=kind, region=REGION, state=InventoryState.OK
            )

    def managed(self, name: str, *versions: dict[str, Any], default: int | None = None) -> str:
        """A customer managed policy; versions v1, v2, ...; the default is the last unless given."""
        arn = policy_arn(name, self.account_id)
        parsed = {
            f"v{i + 1}": parse_policy(
                d, PolicyRef(kind=PolicyKind.MANAGED, name=name, arn=arn, version=f"v{i + 1}")
            )
            for i, d in enumerate(versions)
        }
        self.policies[arn] = ManagedPolicy(
            arn=arn,
            name=name,
            default_version=f"v{default or len(versions)}",
            versions=MappingProxyType(parsed),
        )
        return arn

    def user(
        self,
        name: str,
        *inline: dict[str, Any],
        managed: tuple[str, ...] = (),
        groups: tuple[str, ...] = (),
        boundary: str | None = None,
        keys: int | None = 0,
        login: bool | None = False,
    ) -> str:
        arn = user_arn(name, self.account_id)
        self.users[arn] = User(
            arn=arn,
            name=name,
            inline_policies=_inline(arn, inline),
            managed_policy_arns=managed,
            group_arns=tuple(group_arn(g, self.account_id) for g in groups),
            boundary_arn=boundary,
            access_key_count=keys,
            has_login_profile=login,
        )
        return arn

    def group(self, name: str, *inline: dict[str, Any], managed: tuple[str, ...] = ()) -> str:
        arn = group_arn(name, self.account_id)
        self.groups[arn] = Group(
            arn=arn, name=name, inline_policies=_inline(arn, inline), managed_policy_arns=managed
        )
        return arn

    def role(
        self,
        name: str,
        trust: dict[str, Any],
        *inline: dict[str, Any],
        managed: tuple[str, ...] = (),
        boundary: str | None = None,
        profile: bool = False,
        path: str = "/",
    ) -> str:
        arn = role_arn(name, self.account_id)
        trust_policy = parse_policy(
            trust, PolicyRef(kind=PolicyKind.TRUST, name=f"{name} trust", attached_to=arn)
        )
        profiles: tuple[str, ...] = ()
        if profile:
            parn = f"arn:aws:iam::{self.account_id}:instance-profile/{name}"
            self.profiles[parn] = InstanceProfile(arn=parn, name=name, role_arns=(arn,))
            profiles = (parn,)
        self.roles[arn] = Role(
            arn=arn,
            name=name,
            path=path,
            trust_policy=trust_policy,
            inline_policies=_inline(arn, inline),
            managed_policy_arns=managed,
            boundary_arn=boundary,
            instance_profile_arns=profiles,
        )
        return arn

    def admin_role(self, name: str, trust: dict[str, Any], *, profile: bool = False) -> str:
        return self.role(name, trust, managed=(ADMIN_ACCESS,), profile=profile)

    def resource(
        self, kind: str, arn: str, *roles: str, name: str = "", attributes: dict[str, str] | None = None
    ) -> str:
        self.resources.append(
            Resource(
                kind=kind,
                arn=arn,
                region=REGION,
                name=name or arn.rsplit("/", 1)[-1],
                role_arns=roles,
                attributes=MappingProxyType(dict(attributes or {})),
            )
        )
        return arn

    def fail_inventory(self, kind: str, error: str = "AccessDenied: not authorized") -> None:
        self.inventory[(kind, REGION)] = InventoryRecord(
            kind=kind, region=REGION, state=InventoryState.FAILED, error=error
        )

    def scp(self, *statements: dict[str, Any]) -> None:
        self.scps.append(doc(*statements))

    def build(self) -> Snapshot:
        org = None
        if self.scps:
            scps = tuple(
                parse_policy(d, PolicyRef(kind=PolicyKind.SCP, name=f"scp-{i}", attached_to=self.account_id))
                for i, d in enumerate(self.scps)
            )
            full = parse_policy(doc(allow("*")), PolicyRef(kind=PolicyKind.SCP, name="FullAWSAccess"))
            org = Organization(
                management_account_id="999999999999",
                path=(
                    OrgNode(id="r-root", name="Root", kind="root", scps=(full,)),
                    OrgNode(id=self.account_id, name="account", kind="account", scps=(full, *scps)),
                ),
            )
        return Snapshot(
            account_id=self.account_id,
            users=MappingProxyType(dict(self.users)),
            groups=MappingProxyType(dict(self.groups)),
            roles=MappingProxyType(dict(self.roles)),
            policies=MappingProxyType(dict(self.policies)),
            instance_profiles=MappingProxyType(dict(self.profiles)),
            organization=org,
            resources=tuple(self.resources),
            inventory=tuple(self.inventory.values()) if self.has_inventory else (),
            has_inventory=self.has_inventory,
            source="test",
        )
