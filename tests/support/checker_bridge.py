"""Write an in-memory Snapshot as the raw IAM files `escalation_checker` reads.

The end-to-end tests give the independent checker a directory a real `collect` wrote (moto); unit
tests build their accounts in memory (builders.py). This writes such an account, with a plan's
denies applied or not, as `iam/get-account-authorization-details.json`, `get-login-profile.json`
and `list-access-keys.json`, so the checker (its own evaluator and search, nothing shared with
deescalate's analysis) can judge it too. Only what the checker reads is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deescalate.model import Policy, Role, Snapshot, User


def _inline(policies: tuple[Policy, ...]) -> list[dict[str, Any]]:
    return [{"PolicyName": p.ref.name, "PolicyDocument": json.loads(p.document)} for p in policies]


def _identity(p: User | Role, kind: str) -> dict[str, Any]:
    """The fields a user's and a role's details share (`kind`: "User" or "Role")."""
    out: dict[str, Any] = {
        "Arn": p.arn,
        f"{kind}Name": p.name,
        f"{kind}PolicyList": _inline(p.inline_policies),
        "AttachedManagedPolicies": [{"PolicyArn": a} for a in p.managed_policy_arns],
    }
    if p.boundary_arn:
        out["PermissionsBoundary"] = {"PermissionsBoundaryArn": p.boundary_arn}
    return out


def write_raw(snapshot: Snapshot, directory: Path) -> Path:
    iam = directory / "iam"
    iam.mkdir(parents=True, exist_ok=True)
    users = [
        {
            **_identity(u, "User"),
            "GroupList": [snapshot.groups[g].name for g in u.group_arns if g in snapshot.groups],
        }
        for u in snapshot.users.values()
    ]
    roles = [
        {
            **_identity(r, "Role"),
            "AssumeRolePolicyDocument": json.loads(r.trust_policy.document) if r.trust_policy else {},
        }
        for r in snapshot.roles.values()
    ]
    groups = [
        {
            "Arn": g.arn,
            "GroupName": g.name,
            "GroupPolicyList": _inline(g.inline_policies),
            "AttachedManagedPolicies": [{"PolicyArn": a} for a in g.managed_policy_arns],
        }
        for g in snapshot.groups.values()
    ]
    policies = [
        {
            "Arn": m.arn,
            "PolicyVersionList": [
                {"IsDefaultVersion": True, "Document": json.loads(m.versions[m.default_version].document)}
            ],
        }
        for m in snapshot.policies.values()
    ]
    details = {"UserDetailList": users, "RoleDetailList": roles, "GroupDetailList": groups, "Policies": policies}
    (iam / "get-account-authorization-details.json").write_text(json.dumps(details))
    logins = {u.name: ({"LoginProfile": {}} if u.has_login_profile else None) for u in snapshot.users.values()}
    (iam / "get-login-profile.json").write_text(json.dumps(logins))
    keys = {
        u.name: {"AccessKeyMetadata": [{}] * (u.access_key_count or 0)} for u in snapshot.users.values()
    }
    (iam / "list-access-keys.json").write_text(json.dumps(keys))
    return directory
