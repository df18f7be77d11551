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
