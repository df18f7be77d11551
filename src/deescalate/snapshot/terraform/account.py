"""The account a plan is applied to: a mutable copy of a `Snapshot` that Terraform resources edit.

`Account.of(snapshot)` copies a snapshot (or starts empty), effects (`effects.py`) add and remove
users, roles, policies, attachments and resources by AWS identity (ARN, or name within the account),
and `freeze()` turns the result back into a `Snapshot` the analysis reads unchanged.

Also here: how a policy whose document is known only after apply enters the model. Such a document
could grant anything, so it stands as an Allow of every action on every resource *under a condition
no request can settle* (`terraform:KnownAfterApply`): the evaluator then answers "conditional" for
whatever depends on it, never "allowed" and never "denied". That makes exactly the principals that
depend on the unknown document conditional, and the condition names the Terraform attribute.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from deescalate.errors import PolicyError
from deescalate.model import (
    Group,
    InstanceProfile,
    InventoryRecord,
    InventoryState,
    ManagedPolicy,
    Policy,
    PolicyKind,
    PolicyRef,
    Resource,
    Role,
    Snapshot,
    User,
)
from deescalate.policy.parse import parse_policy
from deescalate.snapshot import layout as L
from deescalate.snapshot.terraform.plan import TerraformPlanError

UNKNOWN_KEY = "terraform:KnownAfterApply"
NEW_VERSION = "v1"  # the version id AWS gives the first version of a new managed policy


def unknown_document(
    ref: PolicyRef,
    what: str,
    *,
    trust_root: str = "",
    principals: tuple[str, ...] = (),
    services: tuple[str, ...] = (),
) -> Policy:
    """A stand-in for a document known only after apply: it may allow anything, nothing for certain.

    With `trust_root` (the account's root ARN) it stands for a trust policy: one that trusts the
    account (so a principal still needs its own permission to assume the role), the principals its
    configuration refers to (which need none), and the services it names — what the configuration
    shows it can be about.
    """
    statement: dict[str, object] = {
        "Sid": "KnownAfterApply",
        "Effect": "Allow",
        "Action": "sts:*" if trust_root else "*",
        "Condition": {"StringEquals": {UNKNOWN_KEY: what}},
    }
    if trust_root:
        principal: dict[str, list[str]] = {"AWS": [trust_root, *principals]}
        if services:
            principal["Service"] = list(services)
        statement["Principal"] = principal
    else:
        statement["Resource"] = "*"
    return parse_policy({"Version": "2012-10-17", "Statement": [statement]}, ref)


def document(raw: object, ref: PolicyRef, where: str) -> Policy:
    """Parse a policy document a plan holds (a JSON string); a bad one names the Terraform address."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as e:
            raise TerraformPlanError(f"{where}: the policy document is not JSON ({e.msg})") from e
    try:
        return parse_policy(raw, ref, where=where)
    except PolicyError as e:
        raise TerraformPlanError(str(e)) from e


@dataclass(slots=True, kw_only=True)
class Account:
    account_id: str
    partition: str = "aws"
    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    policies: dict[str, ManagedPolicy] = field(default_factory=dict)
    profiles: dict[str, InstanceProfile] = field(default_factory=dict)
    resources: dict[str, Resource] = field(default_factory=dict)
    base: Snapshot | None = None
    regions: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, snapshot: Snapshot | None, *, account_id: str, partition: str) -> Account:
        if snapshot is None:
            return cls(account_id=account_id, partition=partition)
        return cls(
            account_id=account_id,
            partition=partition,
            users=dict(snapshot.users),
            groups=dict(snapshot.groups),
            roles=dict(snapshot.roles),
            policies=dict(snapshot.policies),
            profiles=dict(snapshot.instance_profiles),
            resources={r.arn: r for r in snapshot.resources},
            base=snapshot,
            regions=list(snapshot.regions),
        )

    def copy(self) -> Account:
        return Account(
            account_id=self.account_id,
            partition=self.partition,
            users=dict(self.users),
            groups=dict(self.groups),
            roles=dict(self.roles),
            policies=dict(self.policies),
            profiles=dict(self.profiles),
            resources=dict(self.resources),
            base=self.base,
            regions=list(self.regions),
        )

    # ------------------------------------------------------------------ names and ARNs

    def iam_arn(self, kind: str, name: str, path: str = "/") -> str:
        path = path if path.startswith("/") and path.endswith("/") else "/"
        return f"arn:{self.partition}:iam::{self.account_id}:{kind}{path}{name}"

    def user_arn(self, name_or_arn: str) -> str | None:
        return self._by_name(self.users, "user", name_or_arn)

    def role_arn(self, name_or_arn: str) -> str | None:
        return self._by_name(self.roles, "role", name_or_arn)

    def group_arn(self, name_or_arn: str) -> str | None:
        return self._by_name(self.groups, "group", name_or_arn)

    def profile_arn(self, name_or_arn: str) -> str | None:
        return self._by_name(self.profiles, "instance-profile", name_or_arn)

    @staticmethod
    def _by_name(
        table: dict[str, User] | dict[str, Role] | dict[str, Group] | dict[str, InstanceProfile],
        kind: str,
        name_or_arn: str,
    ) -> str | None:
        if name_or_arn.startswith("arn:"):
            return name_or_arn if name_or_arn in table else None
        for arn, obj in table.items():
            # IAM names are unique within an account whatever the path, compared case-insensitively.
            if obj.name.lower() == name_or_arn.lower() and f":{kind}/" in arn:
                return arn
        return None

    # ------------------------------------------------------------------ the result

    def freeze(
        self,
        *,
        source: str,
        collected_at: str | None,
        inventory: tuple[InventoryRecord, ...],
        has_inventory: bool,
    ) -> Snapshot:
        roles = dict(self.roles)
        # A role's instance profiles, as GetAccountAuthorizationDetails would list them.
        for arn, role in roles.items():
            profs = tuple(sorted(p.arn for p in self.profiles.values() if arn in p.role_arns))
            if profs != role.instance_profile_arns:
                roles[arn] = replace(role, instance_profile_arns=profs)
        base = self.base
        return Snapshot(
            account_id=self.account_id,
            caller_arn=base.caller_arn if base else None,
            collected_at=collected_at,
            regions=tuple(self.regions),
            users=MappingProxyType(dict(self.users)),
            groups=MappingProxyType(dict(self.groups)),
            roles=MappingProxyType(roles),
            policies=MappingProxyType(dict(self.policies)),
            instance_profiles=MappingProxyType(dict(self.profiles)),
            organization=base.organization if base else None,
            resources=tuple(sorted(self.resources.values(), key=lambda r: r.arn)),
            inventory=inventory,
            has_inventory=has_inventory,
            source=source,
        )


def plan_inventory(regions: list[str]) -> tuple[InventoryRecord, ...]:
    """Inventory records for an account known only from a plan: every kind listed, but SSM unknown.

    A plan shows the resources Terraform manages; which instances SSM manages is a runtime fact
    (the agent, its network path, its role) no plan states, so SSM techniques stay conditional.
    """
    out = []
    for region in regions:
        for kind in L.RESOURCE_KINDS:
            if kind == L.SSM_MANAGED_INSTANCE:
                out.append(
                    InventoryRecord(
                        kind=kind,
                        region=region,
                        state=InventoryState.MISSING,
                        error="a Terraform plan does not show which instances SSM manages",
                    )
                )
            else:
                out.append(InventoryRecord(kind=kind, region=region, state=InventoryState.OK))
    return tuple(out)


def managed(arn: str, name: str, doc: Policy, path: str = "/") -> ManagedPolicy:
    return ManagedPolicy(
        arn=arn,
        name=name,
        default_version=NEW_VERSION,
        versions=MappingProxyType({NEW_VERSION: doc}),
        path=path,
    )


def inline_ref(name: str, owner: str) -> PolicyRef:
    return PolicyRef(kind=PolicyKind.INLINE, name=name, attached_to=owner)
