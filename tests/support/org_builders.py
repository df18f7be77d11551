"""Build an organization snapshot directory on disk (the layout `collect --organization` writes).

    org = OrgDir()                                   # management account 999999999999
    prod = org.ou("prod")
    ci = Account(account_id="111111111111"); ci.user("ci", allow("sts:AssumeRole"))
    org.account(ci, parent=prod, name="workload")
    scp = org.scp(prod, deny("sts:AssumeRole"), name="NoAssume")   # attached to prod
    path = org.write(tmp_path / "org")               # DIR/manifest.json, organization/, accounts/ID/
    snap = load_snapshot(path)

Each member is an `Account` of builders.py written as a normal snapshot directory (its IAM as
`get-account-authorization-details`, every resource kind listed ok in us-east-1, no resources).
FullAWSAccess is attached to every level while SCPs are enabled, as AWS does; RCPFullAWSAccess
likewise when `rcps=True`. `manifest()` returns the manifest `write` would write, for tests that
make it hostile (`write(path, manifest=...)`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builders import Account, allow, doc

from deescalate.model import Policy
from deescalate.snapshot import layout as L

MGMT = "999999999999"
ORG_ID = "o-exampleorg1"
ROOT = "r-root"
REGION = "us-east-1"
WHEN = "2026-01-01T00:00:00+00:00"
SCP = L.SCP_TYPE
RCP = L.RCP_TYPE


def _document(p: Policy) -> Any:
    return json.loads(p.document)


def _inline_list(policies: Any) -> list[dict[str, Any]]:
    return [{"PolicyName": p.ref.name, "PolicyDocument": _document(p)} for p in policies]


def _attached(acct: Account, arns: Any) -> list[dict[str, Any]]:
    return [{"PolicyName": acct.policies[a].name, "PolicyArn": a} for a in arns]


def _boundary(arn: str | None) -> dict[str, Any]:
    if not arn:
        return {}
    return {"PermissionsBoundary": {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}}


def details_of(acct: Account) -> dict[str, Any]:
    """An `Account` builder as the output of `aws iam get-account-authorization-details`."""
    if acct.resources:
        raise ValueError("org_builders writes IAM only; resources are not written")
    users = []
    for u in acct.users.values():
        users.append(
            {
                "UserName": u.name,
                "UserId": u.user_id or f"AIDA{u.name.upper()}",
                "Arn": u.arn,
                "Path": u.path,
                "UserPolicyList": _inline_list(u.inline_policies),
                "GroupList": [acct.groups[g].name for g in u.group_arns],
                "AttachedManagedPolicies": _attached(acct, u.managed_policy_arns),
                **_boundary(u.boundary_arn),
                "Tags": [{"Key": k, "Value": v} for k, v in u.tags.items()],
            }
        )
    groups = [
        {
            "GroupName": g.name,
            "GroupId": f"AGPA{g.name.upper()}",
            "Arn": g.arn,
            "Path": g.path,
            "GroupPolicyList": _inline_list(g.inline_policies),
            "AttachedManagedPolicies": _attached(acct, g.managed_policy_arns),
        }
        for g in acct.groups.values()
    ]
    roles = []
    for r in acct.roles.values():
        roles.append(
            {
                "RoleName": r.name,
                "RoleId": r.role_id or f"AROA{r.name.upper()}",
                "Arn": r.arn,
                "Path": r.path,
                "AssumeRolePolicyDocument": _document(r.trust_policy) if r.trust_policy else None,
                "InstanceProfileList": [
                    {
                        "InstanceProfileName": acct.profiles[p].name,
                        "Arn": p,
                        "Roles": [{"RoleName": r.name, "Arn": r.arn}],
                    }
                    for p in r.instance_profile_arns
                ],
                "RolePolicyList": _inline_list(r.inline_policies),
                "AttachedManagedPolicies": _attached(acct, r.managed_policy_arns),
                **_boundary(r.boundary_arn),
                "Tags": [{"Key": k, "Value": v} for k, v in r.tags.items()],
            }
        )
    policies = [
        {
            "PolicyName": mp.name,
            "PolicyId": f"ANPA{mp.name.upper()}",
            "Arn": mp.arn,
            "Path": mp.path,
            "DefaultVersionId": mp.default_version,
            "IsAttachable": True,
            "PolicyVersionList": [
                {"Document": _document(v), "VersionId": vid, "IsDefaultVersion": vid == mp.default_version}
                for vid, v in mp.versions.items()
            ],
        }
        for mp in acct.policies.values()
    ]
    return {"UserDetailList": users, "GroupDetailList": groups, "RoleDetailList": roles, "Policies": policies}


def write_account(acct: Account, path: Path) -> Path:
    """One account as a snapshot directory (manifest, IAM, per-user credential files)."""
    (path / "iam").mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": L.FORMAT_NAME,
        "format_version": L.FORMAT_VERSION,
        "account_id": acct.account_id,
        "caller_arn": f"arn:aws:sts::{acct.account_id}:assumed-role/OrganizationAccountAccessRole/deescalate",
        "collected_at": WHEN,
        "regions": [REGION],
        "organization": "not collected (organization snapshot)",
        "calls": [],
        "failures": [],
        "inventory": [{"kind": k, "region": REGION, "state": "ok"} for k in L.RESOURCE_KINDS],
    }
    (path / L.MANIFEST).write_text(json.dumps(manifest, indent=1))
    (path / L.IAM_DETAILS).write_text(json.dumps(details_of(acct)))
    users = list(acct.users.values())
    (path / L.IAM_ACCESS_KEYS).write_text(json.dumps({
        u.name: {"AccessKeyMetadata": [{"AccessKeyId": f"AKIA{i}{u.name.upper()}", "Status": "Active"}
                                       for i in range(u.access_key_count or 0)]}
        for u in users if u.access_key_count is not None
    }))
    (path / L.IAM_LOGIN_PROFILES).write_text(json.dumps({
        u.name: ({"LoginProfile": {"UserName": u.name}} if u.has_login_profile else None)
        for u in users if u.has_login_profile is not None
    }))
    return path


@dataclass
class _Member:
    account_id: str
    name: str
    parent: str
    acct: Account | None
    collection: str
    error: str | None


@dataclass
class OrgDir:
    """A mutable recipe for an organization snapshot directory; `write()` lays it on disk."""

    management: str = MGMT
    org_id: str = ORG_ID
    scps: bool = True  # the SERVICE_CONTROL_POLICY type enabled at the root
    rcps: bool = False  # the RESOURCE_CONTROL_POLICY type enabled at the root
    ous: dict[str, tuple[str, str]] = field(default_factory=dict)  # OU id -> (name, parent id)
    members: list[_Member] = field(default_factory=list)
    policies: dict[str, tuple[str, str, dict[str, Any]]] = field(default_factory=dict)  # id -> (name, type, doc)
    attached: dict[str, list[str]] = field(default_factory=dict)  # target id -> policy ids
    # Targets (root, OU, account ids) where FullAWSAccess / RCPFullAWSAccess is not attached.
    without_full_access: set[str] = field(default_factory=set)

    def ou(self, name: str, parent: str = ROOT) -> str:
        oid = f"ou-root-{len(self.ous) + 1:08x}"
        self.ous[oid] = (name, parent)
        return oid

    def account(
        self,
        acct: Account | str,
        *,
        parent: str = ROOT,
        name: str = "",
        collection: str = "collected",
        error: str | None = None,
    ) -> str:
        """A member account: an `Account` builder, or a bare id for one that was not collected."""
        aid = acct if isinstance(acct, str) else acct.account_id
        self.members.append(
            _Member(
                account_id=aid,
                name=name or f"account-{aid}",
                parent=parent,
                acct=None if isinstance(acct, str) else acct,
                collection=collection,
                error=error,
            )
        )
        return aid

    def _policy(self, ptype: str, target: str | None, statements: tuple[dict[str, Any], ...],
                name: str | None) -> str:
        pid = f"p-{len(self.policies) + 1:08x}"
        self.policies[pid] = (name or pid, ptype, doc(*statements))
        if target is not None:
            self.attach(pid, target)
        return pid

    def scp(self, target: str | None, *statements: dict[str, Any], name: str | None = None) -> str:
        """A service control policy attached to `target` (root, OU or account id; None: not attached)."""
        return self._policy(SCP, target, statements, name)

    def rcp(self, target: str | None, *statements: dict[str, Any], name: str | None = None) -> str:
        """A resource control policy attached to `target`."""
        return self._policy(RCP, target, statements, name)

    def attach(self, pid: str, target: str) -> None:
        self.attached.setdefault(target, []).append(pid)

    def detach(self, pid: str, target: str) -> None:
        self.attached[target].remove(pid)

    def move(self, pid: str, old: str, new: str) -> None:
        self.detach(pid, old)
        self.attach(pid, new)

    # ------------------------------------------------------------------ writing

    def _ou_path(self, parent: str) -> list[str]:
        out = []
        node = parent
        while node != ROOT:
            out.append(node)
            node = self.ous[node][1]
        return [ROOT, *reversed(out)]

    def manifest(self) -> dict[str, Any]:
        return {
            "format": L.ORG_FORMAT_NAME,
            "format_version": L.ORG_FORMAT_VERSION,
            "tool_version": "test",
            "collected_at": WHEN,
            "caller": f"arn:aws:iam::{self.management}:user/auditor",
            "organization_id": self.org_id,
            "management_account_id": self.management,
            "role": "OrganizationAccountAccessRole",
            "accounts": [
                {
                    "id": m.account_id,
                    "name": m.name,
                    "email": f"{m.account_id}@example.com",
                    "status": "ACTIVE",
                    "ou_path": self._ou_path(m.parent),
                    "collection": m.collection,
                    "error": m.error,
                    "snapshot": f"{L.ORG_ACCOUNTS_DIR}/{m.account_id}" if m.collection == "collected" else None,
                }
                for m in self.members
            ],
        }

    def _organization_files(self) -> dict[str, Any]:
        types = [t for t, on in ((SCP, self.scps), (RCP, self.rcps)) if on]
        policies = dict(self.policies)
        attached = {t: list(ids) for t, ids in self.attached.items()}
        targets = [ROOT, *self.ous, *(m.account_id for m in self.members)]
        defaults = {SCP: ("p-FullAWSAccess", "FullAWSAccess"), RCP: ("p-RCPFullAWSAccess", "RCPFullAWSAccess")}
        for ptype in types:
            pid, pname = defaults[ptype]
            policies[pid] = (pname, ptype, doc(allow("*")) if ptype == SCP else doc(
                {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}))
            for t in targets:
                if t not in self.without_full_access:
                    attached.setdefault(t, []).insert(0, pid)

        def summary(pid: str) -> dict[str, Any]:
            name, ptype, _ = policies[pid]
            return {"Id": pid, "Arn": f"arn:aws:organizations::{self.management}:policy/{self.org_id}/"
                    f"{ptype.lower()}/{pid}", "Name": name, "Type": ptype, "AwsManaged": pid.startswith("p-F")}

        parents: dict[str, Any] = {}
        for oid, (_, parent) in self.ous.items():
            parents[oid] = {"Parents": [{"Id": parent, "Type": "ROOT" if parent == ROOT else "ORGANIZATIONAL_UNIT"}]}
        for m in self.members:
            parents[m.account_id] = {"Parents": [{"Id": m.parent,
                                                  "Type": "ROOT" if m.parent == ROOT else "ORGANIZATIONAL_UNIT"}]}
        return {
            L.ORG_DESCRIBE: {"Organization": {"Id": self.org_id, "MasterAccountId": self.management,
                                              "Arn": f"arn:aws:organizations::{self.management}:organization/"
                                              f"{self.org_id}", "FeatureSet": "ALL"}},
            L.ORG_ROOTS: {"Roots": [{"Id": ROOT, "Name": "Root", "Arn": f"arn:aws:organizations::{self.management}"
                                     f":root/{self.org_id}/{ROOT}",
                                     "PolicyTypes": [{"Type": t, "Status": "ENABLED"} for t in types]}]},
            L.ORG_ACCOUNTS: {"Accounts": [{"Id": m.account_id, "Name": m.name, "Status": "ACTIVE",
                                           "Email": f"{m.account_id}@example.com"} for m in self.members]},
            L.ORG_PARENTS: parents,
            L.ORG_OUS: {oid: {"OrganizationalUnit": {"Id": oid, "Name": name}} for oid, (name, _) in self.ous.items()},
            L.ORG_TARGET_POLICIES: {
                t: {ptype: {"Policies": [summary(p) for p in attached.get(t, []) if policies[p][1] == ptype]}
                    for ptype in types}
                for t in targets
            },
            L.ORG_POLICIES: {pid: {"Policy": {"PolicySummary": summary(pid), "Content": json.dumps(d)}}
                             for pid, (_, _, d) in policies.items()},
        }

    def write(self, path: Path, *, manifest: dict[str, Any] | None = None) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        (path / L.MANIFEST).write_text(json.dumps(manifest if manifest is not None else self.manifest(), indent=1))
        for rel, content in self._organization_files().items():
            f = path / L.ORG_FILES_DIR / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(content))
        for m in self.members:
            if m.acct is not None and m.collection == "collected":
                write_account(m.acct, path / L.ORG_ACCOUNTS_DIR / m.account_id)
        return path
