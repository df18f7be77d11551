"""Account shapes for the scan benchmarks, each a deterministic transform of `generate_account.generate`.

    default        generate_account's shape (70% users, shared policies, ReadOnlyAccess holders, ...)
    groups         40% users / 60% roles, about one group with policies per 50 principals, users in
                   one to three groups, 0.5% of users (at least 3) allowed iam:AddUserToGroup on *,
                   no ReadOnlyAccess holders
    groups-ro      `groups` plus 0.5% of principals holding ReadOnlyAccess
    mfa-wildcard   `default` with its most attached shared policy turned into Allow * on * if MFA
    iam-writers    `default` plus 2% of principals allowed iam:PutUserPolicy/AttachUserPolicy on user/*
                   and iam:PutRolePolicy on role/* (IAM-write holders)
    chains         `default` plus 5% of principals as roles in assume-role chains of length 20, each
                   role trusting the previous one and allowed sts:AssumeRole on *
    mesh           `default` plus 10% of principals as roles that all trust the account root and
                   may all sts:AssumeRole on role/mesh-* (roles trusting one another)
    replicated     a 60-principal `default` account copied with renamed principals up to the size

`shaped(shape, n, seed)` returns the get-account-authorization-details document.
"""

from __future__ import annotations

import copy
import json
import random
import zlib
from typing import Any

from generate_account import ACCOUNT, DATE, REFERENCE, _attached, _doc, generate

SHAPES = ("default", "groups", "groups-ro", "mfa-wildcard", "iam-writers", "chains", "mesh", "replicated")


def _user(name: str, groups: list[str], inline: list[dict[str, Any]], managed: list[str]) -> dict[str, Any]:
    return {"Path": "/", "UserName": name, "UserId": f"AIDA{zlib.crc32(name.encode()) % 10**12:012d}",
            "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}", "CreateDate": DATE,
            "UserPolicyList": inline, "GroupList": groups, "AttachedManagedPolicies": _attached(managed),
            "Tags": []}


def _role(
    name: str, trust: dict[str, Any], inline: list[dict[str, Any]], managed: list[str]
) -> dict[str, Any]:
    return {"Path": "/", "RoleName": name, "RoleId": f"AROA{zlib.crc32(name.encode()) % 10**12:012d}",
            "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}", "CreateDate": DATE,
            "AssumeRolePolicyDocument": trust, "InstanceProfileList": [], "RolePolicyList": inline,
            "AttachedManagedPolicies": _attached(managed), "Tags": [], "RoleLastUsed": {}}


def _trust_aws(principal: str) -> dict[str, Any]:
    return _doc({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"})


def _inline(name: str, *statements: dict[str, Any]) -> dict[str, Any]:
    return {"PolicyName": name, "PolicyDocument": _doc(*statements)}


def _readonly_arn() -> str:
    return str(json.loads(REFERENCE.read_text())["policies"]["ReadOnlyAccess"]["Arn"])


def _drop_readonly(doc: dict[str, Any]) -> None:
    ro = _readonly_arn()
    for kind in ("UserDetailList", "RoleDetailList", "GroupDetailList"):
        for p in doc[kind]:
            p["AttachedManagedPolicies"] = [a for a in p["AttachedManagedPolicies"] if a["PolicyArn"] != ro]


def _groups_shape(n: int, rng: random.Random, readonly: bool) -> dict[str, Any]:
    doc = generate(n, seed=rng.randint(0, 10**6))
    _drop_readonly(doc)
    users = doc["UserDetailList"]
    keep_users = max(10, n * 4 // 10)
    doc["UserDetailList"] = users = users[:keep_users]
    shared = [p["Arn"] for p in doc["Policies"] if "/team-" in p["Arn"]]
    groups = []
    for i in range(max(5, n // 50)):
        name = f"grp-{i}"
        groups.append({"Path": "/", "GroupName": name, "GroupId": f"AGPA{i:012d}",
                       "Arn": f"arn:aws:iam::{ACCOUNT}:group/{name}", "CreateDate": DATE,
                       "GroupPolicyList": [_inline(f"grp-{i}-inline", {"Effect": "Allow", "Action": [
                           rng.choice(["s3:GetObject", "sqs:SendMessage", "logs:PutLogEvents"])],
                           "Resource": "*"})],
                       "AttachedManagedPolicies": _attached(rng.sample(shared, min(len(shared), 2)))})
    doc["GroupDetailList"] += groups
    names = [g["GroupName"] for g in groups]
    for u in users:
        u["GroupList"] = sorted(set(u["GroupList"]) | set(rng.sample(names, rng.randint(1, 3))))
    for u in rng.sample(users, max(3, len(users) // 200)):
        u["UserPolicyList"].append(_inline("joiner", {"Effect": "Allow", "Action": "iam:AddUserToGroup",
                                                      "Resource": "*"}))
    roles = doc["RoleDetailList"]
    for i in range(max(0, n - keep_users - len(roles))):
        roles.append(_role(f"app-{i}", _trust_aws(f"arn:aws:iam::{ACCOUNT}:root"), [],
                           rng.sample(shared, min(len(shared), 2))))
    if readonly:
        ro = _readonly_arn()
        for p in rng.sample(users + roles, max(1, (len(users) + len(roles)) // 200)):
            p["AttachedManagedPolicies"].append({"PolicyName": "ReadOnlyAccess", "PolicyArn": ro})
    return doc


def _mfa_wildcard(doc: dict[str, Any]) -> None:
    counts: dict[str, int] = {}
    for kind in ("UserDetailList", "RoleDetailList", "GroupDetailList"):
        for p in doc[kind]:
            for a in p["AttachedManagedPolicies"]:
                counts[a["PolicyArn"]] = counts.get(a["PolicyArn"], 0) + 1
    top = max((a for a in counts if "/team-" in a), key=lambda a: (counts[a], a))
    for pol in doc["Policies"]:
        if pol["Arn"] == top:
            for v in pol["PolicyVersionList"]:
                if v["IsDefaultVersion"]:
                    v["Document"] = _doc({"Effect": "Allow", "Action": "*", "Resource": "*",
                                          "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}})


def _iam_writers(doc: dict[str, Any], n: int, rng: random.Random) -> None:
    people = doc["UserDetailList"] + doc["RoleDetailList"]
    for p in rng.sample(people, max(2, n // 50)):
        key = "UserPolicyList" if "UserName" in p else "RolePolicyList"
        p[key].append(_inline("iam-writer", {"Effect": "Allow", "Action": [
            "iam:PutUserPolicy", "iam:AttachUserPolicy"], "Resource": f"arn:aws:iam::{ACCOUNT}:user/*"},
            {"Effect": "Allow", "Action": "iam:PutRolePolicy", "Resource": f"arn:aws:iam::{ACCOUNT}:role/*"}))


def _chains(doc: dict[str, Any], n: int) -> None:
    admin = next(p["Arn"] for p in doc["Policies"] if p["Arn"].endswith("/AdministratorAccess"))
    length = 20
    for c in range(max(1, n // 20 // length)):
        prev = f"arn:aws:iam::{ACCOUNT}:user/{doc['UserDetailList'][c]['UserName']}"
        for i in range(length):
            name = f"chain-{c}-{i}"
            managed = [admin] if i == length - 1 else []
            doc["RoleDetailList"].append(_role(name, _trust_aws(prev), [_inline("hop", {
                "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})], managed))
            prev = f"arn:aws:iam::{ACCOUNT}:role/{name}"


def _mesh(doc: dict[str, Any], n: int) -> None:
    for i in range(max(2, n // 10)):
        doc["RoleDetailList"].append(_role(f"mesh-{i}", _trust_aws(f"arn:aws:iam::{ACCOUNT}:root"), [
            _inline("mesh", {"Effect": "Allow", "Action": "sts:AssumeRole",
                             "Resource": f"arn:aws:iam::{ACCOUNT}:role/mesh-*"})], []))


def _replicated(n: int, seed: int) -> dict[str, Any]:
    base = generate(60, seed=seed)
    out: dict[str, Any] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [],
                           "Policies": base["Policies"]}
    copies = max(1, n // (len(base["UserDetailList"]) + len(base["RoleDetailList"])))
    for c in range(copies):
        text = json.dumps({k: base[k] for k in ("UserDetailList", "GroupDetailList", "RoleDetailList")})
        for kind, key in (("user", "UserName"), ("role", "RoleName"), ("group", "GroupName")):
            for p in base[f"{kind.capitalize()}DetailList"]:
                old = p[key]
                text = text.replace(f':{kind}/{old}"', f':{kind}/c{c}-{old}"')
                text = text.replace(f'"{old}"', f'"c{c}-{old}"')
        part = json.loads(text)
        for k in ("UserDetailList", "GroupDetailList", "RoleDetailList"):
            out[k] += part[k]
    return out


def shaped(shape: str, n: int, seed: int = 1) -> dict[str, Any]:
    rng = random.Random(seed * 7919 + len(shape))
    if shape == "groups":
        return _groups_shape(n, rng, readonly=False)
    if shape == "groups-ro":
        return _groups_shape(n, rng, readonly=True)
    if shape == "replicated":
        return _replicated(n, seed)
    doc = copy.deepcopy(generate(n, seed=seed))
    if shape == "mfa-wildcard":
        _mfa_wildcard(doc)
    elif shape == "iam-writers":
        _iam_writers(doc, n, rng)
    elif shape == "chains":
        _chains(doc, n)
    elif shape == "mesh":
        _mesh(doc, n)
    elif shape != "default":
        raise ValueError(f"unknown shape {shape!r}; one of {', '.join(SHAPES)}")
    return doc
