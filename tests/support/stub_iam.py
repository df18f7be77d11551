"""An in-memory IAM and STS with boto3's method names, for unit tests of apply and revert.

It keeps users, roles, groups, inline policies, customer managed policies (versions, default,
attachments) and records every call made (`calls`, `mutations`), so a test can assert that a forged
input made no call at all. Errors are botocore `ClientError`s with AWS's codes (NoSuchEntity,
EntityAlreadyExists, LimitExceeded), like the real client. Only what apply and revert use exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

ACCT = "123456789012"
MUTATING = ("put_", "create_", "attach_", "delete_", "detach_", "set_")


def _err(code: str, message: str, op: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, op)


@dataclass
class _Principal:
    kind: str
    name: str
    path: str = "/"
    inline: dict[str, str] = field(default_factory=dict)
    attached: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    account: str = ACCT

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:{self.kind}{self.path}{self.name}"


@dataclass
class _Managed:
    name: str
    versions: dict[str, str]
    default: str
    next_version: int = 2
    account: str = ACCT

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:policy/{self.name}"


class _Paginator:
    def __init__(self, stub: StubIAM, name: str) -> None:
        self.stub, self.name = stub, name

    def paginate(self, **kw: Any) -> list[dict[str, Any]]:
        return [getattr(self.stub, self.name)(**kw)]


class StubIAM:
    def __init__(self, caller: str = f"arn:aws:iam::{ACCT}:user/operator", *, account: str = ACCT) -> None:
        self.account = account
        self.users: dict[str, _Principal] = {}
        self.roles: dict[str, _Principal] = {}
        self.groups: dict[str, _Principal] = {}
        self.managed: dict[str, _Managed] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.caller = caller

    # ------------------------------------------------------------------ set-up helpers
    def add(self, kind: str, name: str, path: str = "/") -> str:
        table = {"user": self.users, "role": self.roles, "group": self.groups}[kind]
        table[name] = _Principal(kind=kind, name=name, path=path, account=self.account)
        return table[name].arn

    @property
    def mutations(self) -> list[tuple[str, dict[str, Any]]]:
        return [c for c in self.calls if c[0].startswith(MUTATING)]

    def dump(self) -> Any:
        def p(t: dict[str, _Principal]) -> Any:
            return {n: (dict(x.inline), sorted(x.attached)) for n, x in t.items()}
        return (p(self.users), p(self.roles), p(self.groups),
                {n: (dict(m.versions), m.default) for n, m in self.managed.items()})

    # ------------------------------------------------------------------ plumbing
    def __getattribute__(self, name: str) -> Any:
        attr = object.__getattribute__(self, name)
        if callable(attr) and not name.startswith("_") and name not in (
                "add", "dump", "get_paginator", "mutations"):
            calls = object.__getattribute__(self, "calls")

            def logged(**kw: Any) -> Any:
                calls.append((name, kw))
                return attr(**kw)
            return logged
        return attr

    def get_paginator(self, name: str) -> _Paginator:
        return _Paginator(self, name)

    def _table(self, key: str) -> dict[str, _Principal]:
        return {"UserName": self.users, "RoleName": self.roles, "GroupName": self.groups}[key]

    def _who(self, kw: dict[str, Any], op: str) -> _Principal:
        for key in ("UserName", "RoleName", "GroupName"):
            if key in kw:
                found = self._table(key).get(kw[key])
                if found is None:
                    raise _err("NoSuchEntity", f"{kw[key]} not found", op)
                return found
        raise _err("ValidationError", "no principal", op)

    def _policy(self, arn: str, op: str) -> _Managed:
        name = arn.rsplit("/", 1)[-1]
        m = self.managed.get(name)
        if m is None or m.arn != arn:
            raise _err("NoSuchEntity", f"{arn} not found", op)
        return m

    # ------------------------------------------------------------------ STS
    def get_caller_identity(self) -> dict[str, Any]:
        return {"Arn": self.caller, "Account": self.caller.split(":")[4]}

    # ------------------------------------------------------------------ principals
    def get_user(self, **kw: Any) -> dict[str, Any]:
        u = self._who(kw, "GetUser")
        return {"User": {"UserName": u.name, "Arn": u.arn, "Path": u.path}}

    def get_role(self, **kw: Any) -> dict[str, Any]:
        r = self._who(kw, "GetRole")
        return {"Role": {"RoleName": r.name, "Arn": r.arn, "Path": r.path}}

    def list_users(self, **kw: Any) -> dict[str, Any]:
        return {"Users": [{"UserName": u.name, "Arn": u.arn} for u in self.users.values()]}

    def list_roles(self, **kw: Any) -> dict[str, Any]:
        return {"Roles": [{"RoleName": r.name, "Arn": r.arn} for r in self.roles.values()]}

    def list_groups(self, **kw: Any) -> dict[str, Any]:
        return {"Groups": [{"GroupName": g.name, "Arn": g.arn} for g in self.groups.values()]}

    def list_groups_for_user(self, **kw: Any) -> dict[str, Any]:
        u = self._who(kw, "ListGroupsForUser")
        return {"Groups": [{"GroupName": g, "Arn": self.groups[g].arn} for g in u.groups]}

    # ------------------------------------------------------------------ inline policies
    def _get_inline(self, op: str, **kw: Any) -> dict[str, Any]:
        p = self._who(kw, op)
        doc = p.inline.get(kw["PolicyName"])
        if doc is None:
            raise _err("NoSuchEntity", "no such policy", op)
        return {"PolicyName": kw["PolicyName"], "PolicyDocument": json.loads(doc)}

    def _put_inline(self, op: str, **kw: Any) -> dict[str, Any]:
        p = self._who(kw, op)
        json.loads(kw["PolicyDocument"])
        p.inline[kw["PolicyName"]] = kw["PolicyDocument"]
        return {}

    def _delete_inline(self, op: str, **kw: Any) -> dict[str, Any]:
        p = self._who(kw, op)
        if kw["PolicyName"] not in p.inline:
            raise _err("NoSuchEntity", "no such policy", op)
        del p.inline[kw["PolicyName"]]
        return {}

    def _list_inline(self, op: str, **kw: Any) -> dict[str, Any]:
        return {"PolicyNames": sorted(self._who(kw, op).inline)}

    def get_user_policy(self, **kw: Any) -> dict[str, Any]:
        return self._get_inline("GetUserPolicy", **kw)

    def get_role_policy(self, **kw: Any) -> dict[str, Any]:
        return self._get_inline("GetRolePolicy", **kw)

    def get_group_policy(self, **kw: Any) -> dict[str, Any]:
        return self._get_inline("GetGroupPolicy", **kw)

    def put_user_policy(self, **kw: Any) -> dict[str, Any]:
        return self._put_inline("PutUserPolicy", **kw)

    def put_role_policy(self, **kw: Any) -> dict[str, Any]:
        return self._put_inline("PutRolePolicy", **kw)

    def put_group_policy(self, **kw: Any) -> dict[str, Any]:
        return self._put_inline("PutGroupPolicy", **kw)

    def delete_user_policy(self, **kw: Any) -> dict[str, Any]:
        return self._delete_inline("DeleteUserPolicy", **kw)

    def delete_role_policy(self, **kw: Any) -> dict[str, Any]:
        return self._delete_inline("DeleteRolePolicy", **kw)

    def delete_group_policy(self, **kw: Any) -> dict[str, Any]:
        return self._delete_inline("DeleteGroupPolicy", **kw)

    def list_user_policies(self, **kw: Any) -> dict[str, Any]:
        return self._list_inline("ListUserPolicies", **kw)

    def list_role_policies(self, **kw: Any) -> dict[str, Any]:
        return self._list_inline("ListRolePolicies", **kw)

    def list_group_policies(self, **kw: Any) -> dict[str, Any]:
        return self._list_inline("ListGroupPolicies", **kw)

    # ------------------------------------------------------------------ managed policies
    def create_policy(self, **kw: Any) -> dict[str, Any]:
        name = kw["PolicyName"]
        if name in self.managed:
            raise _err("EntityAlreadyExists", name, "CreatePolicy")
        self.managed[name] = _Managed(name=name, versions={"v1": kw["PolicyDocument"]}, default="v1",
                                      account=self.account)
        return {"Policy": {"PolicyName": name, "Arn": self.managed[name].arn, "DefaultVersionId": "v1"}}

    def get_policy(self, **kw: Any) -> dict[str, Any]:
        m = self._policy(kw["PolicyArn"], "GetPolicy")
        return {"Policy": {"PolicyName": m.name, "Arn": m.arn, "DefaultVersionId": m.default}}

    def get_policy_version(self, **kw: Any) -> dict[str, Any]:
        m = self._policy(kw["PolicyArn"], "GetPolicyVersion")
        if kw["VersionId"] not in m.versions:
            raise _err("NoSuchEntity", "no such version", "GetPolicyVersion")
        return {"PolicyVersion": {"Document": json.loads(m.versions[kw["VersionId"]]),
                                  "VersionId": kw["VersionId"], "IsDefaultVersion": kw["VersionId"] == m.default}}

    def list_policy_versions(self, **kw: Any) -> dict[str, Any]:
        m = self._policy(kw["PolicyArn"], "ListPolicyVersions")
        return {"Versions": [{"VersionId": v, "IsDefaultVersion": v == m.default} for v in m.versions]}

    def create_policy_version(self, **kw: Any) -> dict[str, Any]:
        m = self._policy(kw["PolicyArn"], "CreatePolicyVersion")
        if len(m.versions) >= 5:
            raise _err("LimitExceeded", "5 versions", "CreatePolicyVersion")
        vid = f"v{m.next_version}"
        m.next_version += 1
        m.versions[vid] = kw["PolicyDocument"]
        if kw.get("SetAsDefault"):
            m.default = vid
        return {"PolicyVersion": {"VersionId": vid}}

    def set_default_policy_version(self, **kw: Any) -> dict[str, Any]:
        m = self._policy(kw["PolicyArn"], "SetDefaultPolicyVersion")
        if kw["VersionId"] not in m.versions:
            raise _err("NoSuchEntity", "no such version", "SetDefaultPolicyVersion")
        m.default = kw["VersionId"]
        return {}

    def delete_policy_version(self, **kw: Any) -> dict[str, Any]:
        m = self._policy(kw["PolicyArn"], "DeletePolicyVersion")
        if kw["VersionId"] == m.default:
            raise _err("DeleteConflict", "default version", "DeletePolicyVersion")
        del m.versions[kw["VersionId"]]
        return {}

    def delete_policy(self, **kw: Any) -> dict[str, Any]:
        m = self._policy(kw["PolicyArn"], "DeletePolicy")
        for table in (self.users, self.roles, self.groups):
            if any(m.arn in p.attached for p in table.values()):
                raise _err("DeleteConflict", "attached", "DeletePolicy")
        if len(m.versions) > 1:
            raise _err("DeleteConflict", "versions", "DeletePolicy")
        del self.managed[m.name]
        return {}

    def list_policies(self, **kw: Any) -> dict[str, Any]:
        return {"Policies": [{"PolicyName": m.name, "Arn": m.arn, "DefaultVersionId": m.default}
                             for m in self.managed.values()]}

    def _attach(self, op: str, **kw: Any) -> dict[str, Any]:
        p = self._who(kw, op)
        arn = kw["PolicyArn"]
        if not arn.startswith("arn:aws:iam::aws:"):
            self._policy(arn, op)
        if arn not in p.attached:
            p.attached.append(arn)
        return {}

    def _detach(self, op: str, **kw: Any) -> dict[str, Any]:
        p = self._who(kw, op)
        if kw["PolicyArn"] not in p.attached:
            raise _err("NoSuchEntity", "not attached", op)
        p.attached.remove(kw["PolicyArn"])
        return {}

    def attach_user_policy(self, **kw: Any) -> dict[str, Any]:
        return self._attach("AttachUserPolicy", **kw)

    def attach_role_policy(self, **kw: Any) -> dict[str, Any]:
        return self._attach("AttachRolePolicy", **kw)

    def attach_group_policy(self, **kw: Any) -> dict[str, Any]:
        return self._attach("AttachGroupPolicy", **kw)

    def detach_user_policy(self, **kw: Any) -> dict[str, Any]:
        return self._detach("DetachUserPolicy", **kw)

    def detach_role_policy(self, **kw: Any) -> dict[str, Any]:
        return self._detach("DetachRolePolicy", **kw)

    def detach_group_policy(self, **kw: Any) -> dict[str, Any]:
        return self._detach("DetachGroupPolicy", **kw)

    def _attached(self, op: str, **kw: Any) -> dict[str, Any]:
        p = self._who(kw, op)
        return {"AttachedPolicies": [{"PolicyArn": a, "PolicyName": a.rsplit("/", 1)[-1]} for a in p.attached]}

    def list_attached_user_policies(self, **kw: Any) -> dict[str, Any]:
        return self._attached("ListAttachedUserPolicies", **kw)

    def list_attached_role_policies(self, **kw: Any) -> dict[str, Any]:
        return self._attached("ListAttachedRolePolicies", **kw)

    def list_entities_for_policy(self, **kw: Any) -> dict[str, Any]:
        arn, which = kw["PolicyArn"], kw.get("EntityFilter")
        out: dict[str, Any] = {"PolicyUsers": [], "PolicyRoles": [], "PolicyGroups": []}
        for kind, table, key, nk in (("User", self.users, "PolicyUsers", "UserName"),
                                     ("Role", self.roles, "PolicyRoles", "RoleName"),
                                     ("Group", self.groups, "PolicyGroups", "GroupName")):
            if which in (None, kind):
                out[key] = [{nk: p.name} for p in table.values() if arn in p.attached]
        return out
