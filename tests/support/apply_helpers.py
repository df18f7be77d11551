"""Helpers for the apply/revert end-to-end tests: an exact dump of IAM, and a client that fails on cue."""

from __future__ import annotations

import json
from typing import Any


def _doc(raw: Any) -> Any:
    return json.loads(raw) if isinstance(raw, str) else raw


def iam_dump(iam: Any) -> dict[str, Any]:
    """Everything apply could touch: inline policies (name → document), attachments, customer
    managed policies (name → default document, version count), per user, role and group."""
    out: dict[str, Any] = {"users": {}, "roles": {}, "groups": {}, "policies": {}}
    for kind, lister, key, nk in (("user", "list_users", "Users", "UserName"),
                                  ("role", "list_roles", "Roles", "RoleName"),
                                  ("group", "list_groups", "Groups", "GroupName")):
        K = kind.capitalize()
        for page in iam.get_paginator(lister).paginate():
            for ent in page[key]:
                name = ent[nk]
                inline = {}
                for p in iam.get_paginator(f"list_{kind}_policies").paginate(**{nk: name}):
                    for pn in p["PolicyNames"]:
                        inline[pn] = _doc(getattr(iam, f"get_{kind}_policy")(**{nk: name, "PolicyName": pn})
                                          ["PolicyDocument"])
                attached = sorted(
                    a["PolicyArn"]
                    for p in iam.get_paginator(f"list_attached_{kind}_policies").paginate(**{nk: name})
                    for a in p["AttachedPolicies"]
                )
                out[f"{kind}s"][name] = {"inline": inline, "attached": attached, "K": K}
    for page in iam.get_paginator("list_policies").paginate(Scope="Local"):
        for pol in page["Policies"]:
            versions = iam.list_policy_versions(PolicyArn=pol["Arn"])["Versions"]
            default = iam.get_policy_version(PolicyArn=pol["Arn"], VersionId=pol["DefaultVersionId"])
            out["policies"][pol["PolicyName"]] = {
                "document": _doc(default["PolicyVersion"]["Document"]), "versions": len(versions)}
    return out


class FailingIAM:
    """Wraps a boto3 IAM client; the n-th mutating call (Put/Create/Attach/...) raises instead."""

    MUTATING = ("put_", "create_", "attach_", "delete_", "detach_", "set_")

    def __init__(self, inner: Any, fail_at: int) -> None:
        self.inner = inner
        self.fail_at = fail_at
        self.mutations = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not name.startswith(self.MUTATING):
            return attr

        def wrapped(**kwargs: Any) -> Any:
            self.mutations += 1
            if self.mutations == self.fail_at:
                from botocore.exceptions import EndpointConnectionError

                raise EndpointConnectionError(endpoint_url="injected failure")
            return attr(**kwargs)

        return wrapped


def seed_from_snapshot(iam: Any, snapshot: Any) -> None:
    """Recreate a snapshot's IAM (customer managed policies, groups, users, roles, their policies,
    attachments, boundaries, instance profiles) in an empty moto account of the same id, so a plan
    made from the snapshot matches the live state exactly (used for the demo walkthrough)."""
    for p in snapshot.policies.values():
        if not p.aws_managed:
            iam.create_policy(PolicyName=p.name, Path=p.path, PolicyDocument=p.document.document)
    for g in snapshot.groups.values():
        iam.create_group(GroupName=g.name, Path=g.path)
        for pol in g.inline_policies:
            iam.put_group_policy(GroupName=g.name, PolicyName=pol.ref.name, PolicyDocument=pol.document)
        for a in g.managed_policy_arns:
            iam.attach_group_policy(GroupName=g.name, PolicyArn=a)
    for u in snapshot.users.values():
        extra = {"PermissionsBoundary": u.boundary_arn} if u.boundary_arn else {}
        iam.create_user(UserName=u.name, Path=u.path, **extra)
        for pol in u.inline_policies:
            iam.put_user_policy(UserName=u.name, PolicyName=pol.ref.name, PolicyDocument=pol.document)
        for a in u.managed_policy_arns:
            iam.attach_user_policy(UserName=u.name, PolicyArn=a)
        for g in u.group_arns:
            iam.add_user_to_group(UserName=u.name, GroupName=g.rsplit("/", 1)[-1])
    for r in snapshot.roles.values():
        extra = {"PermissionsBoundary": r.boundary_arn} if r.boundary_arn else {}
        trust = r.trust_policy.document if r.trust_policy else json.dumps({"Version": "2012-10-17", "Statement": []})
        iam.create_role(RoleName=r.name, Path=r.path, AssumeRolePolicyDocument=trust, **extra)
        for pol in r.inline_policies:
            iam.put_role_policy(RoleName=r.name, PolicyName=pol.ref.name, PolicyDocument=pol.document)
        for a in r.managed_policy_arns:
            iam.attach_role_policy(RoleName=r.name, PolicyArn=a)
    for ip in snapshot.instance_profiles.values():
        iam.create_instance_profile(InstanceProfileName=ip.name)
        for role_arn in ip.role_arns:
            iam.add_role_to_instance_profile(InstanceProfileName=ip.name, RoleName=role_arn.rsplit("/", 1)[-1])
