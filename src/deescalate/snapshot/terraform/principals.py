"""Users, roles, groups, managed policies and instance profiles: entities a plan creates, updates, deletes.

An entity is upserted: an update changes it and keeps what other resources attached to it. Policy
documents known only after apply become stand-ins (`account.unknown_document`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from deescalate.model import (
    Group,
    InstanceProfile,
    ManagedPolicy,
    Policy,
    PolicyKind,
    PolicyRef,
    Role,
    User,
)
from deescalate.snapshot.terraform.account import (
    NEW_VERSION,
    document,
    inline_ref,
    managed,
    unknown_document,
)
from deescalate.snapshot.terraform.context import IAM_KINDS, Ctx, Doubt, entity_name, entity_path, placeholder
from deescalate.snapshot.terraform.plan import UNKNOWN, Instance

# --------------------------------------------------------------------------- policies


def policy_doc(ctx: Ctx, inst: Instance, key: str, ref: PolicyRef, *, trust: bool = False) -> Policy | None:
    raw = ctx.value(inst, key)
    if raw is UNKNOWN:
        if not trust:
            return unknown_document(ref, f"{inst.address}.{key}")
        arns, services = _mentioned(ctx, inst, key)
        return unknown_document(
            ref,
            f"{inst.address}.{key}",
            trust_root=f"arn:{ctx.acct.partition}:iam::{ctx.acct.account_id}:root",
            principals=arns,
            services=services,
        )
    if raw is None or raw == "":
        return None
    return document(raw, ref, f"{inst.address}.{key}")


def _expressions(tree: Any) -> tuple[list[str], list[str]]:
    """(references, constant strings) anywhere in a configuration expression tree."""
    refs: list[str] = []
    consts: list[str] = []

    def walk(node: Any, depth: int) -> None:
        if depth > 32:
            return
        if isinstance(node, dict):
            r = node.get("references")
            if isinstance(r, list):
                refs.extend(x for x in r if isinstance(x, str))
            if "constant_value" in node:
                walk_const(node["constant_value"], depth + 1)
            for k, v in node.items():
                if k not in ("references", "constant_value"):
                    walk(v, depth + 1)
        elif isinstance(node, list):
            for v in node:
                walk(v, depth + 1)

    def walk_const(node: Any, depth: int) -> None:
        if depth > 32:
            return
        if isinstance(node, str):
            consts.append(node)
        elif isinstance(node, dict):
            for v in node.values():
                walk_const(v, depth + 1)
        elif isinstance(node, list):
            for v in node:
                walk_const(v, depth + 1)

    walk(tree, 0)
    return refs, consts


def _mentioned(ctx: Ctx, inst: Instance, key: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The IAM principals and services an unknown trust document's configuration refers to.

    Follows references into `data "aws_iam_policy_document"` blocks (their `principals`), to users
    and roles (their ARN as AWS derives it), and keeps constant service principals and ARNs.
    """
    arns: list[str] = []
    services: list[str] = []
    seen: set[str] = set()

    def visit(owner: Instance, tree: Any, depth: int) -> None:
        refs, consts = _expressions(tree)
        for c in consts:
            if c.endswith(".amazonaws.com") or c.endswith(".amazonaws.com.cn"):
                services.append(c)
            elif c.startswith("arn:") and ":iam::" in c:
                arns.append(c)
        for ref in refs:
            target = ctx.world.find(owner, ref)
            if target is None or target.address in seen or depth > 4:
                continue
            seen.add(target.address)
            if target.mode == "data" and target.type == "aws_iam_policy_document":
                visit(target, dict(target.config), depth + 1)
            elif target.mode == "managed" and target.type in ("aws_iam_user", "aws_iam_role"):
                kind = IAM_KINDS[target.type]
                name, _ = entity_name(ctx.world, target)
                arns.append(ctx.acct.iam_arn(kind, name, entity_path(target)))

    visit(inst, inst.config.get(key), 0)
    return tuple(dict.fromkeys(arns)), tuple(dict.fromkeys(services))


def _attach(arns: tuple[str, ...], arn: str) -> tuple[str, ...]:
    return arns if arn in arns else (*arns, arn)


def _detach(arns: tuple[str, ...], arn: str) -> tuple[str, ...]:
    return tuple(a for a in arns if a != arn)


def _set_inline(policies: tuple[Policy, ...], pol: Policy) -> tuple[Policy, ...]:
    return (*(p for p in policies if p.ref.name != pol.ref.name), pol)


def _drop_inline(policies: tuple[Policy, ...], name: str) -> tuple[Policy, ...]:
    return tuple(p for p in policies if p.ref.name != name)


def policy_arn_value(ctx: Ctx, inst: Instance, key: str = "policy_arn") -> str | None:
    """A policy ARN; one known only after apply becomes a stand-in policy that may allow anything."""
    v = ctx.value(inst, key)
    if isinstance(v, str) and v:
        return v
    if v is UNKNOWN:
        return unknown_policy(ctx, inst, key)
    return None


def unknown_policy(ctx: Ctx, inst: Instance, key: str) -> str:
    arn = ctx.acct.iam_arn("policy", placeholder(inst))
    ref = PolicyRef(kind=PolicyKind.MANAGED, name=placeholder(inst), arn=arn, version=NEW_VERSION)
    ctx.acct.policies[arn] = managed(arn, placeholder(inst), unknown_document(ref, f"{inst.address}.{key}"))
    return arn


# --------------------------------------------------------------------------- principals


Owner = tuple[str, str]  # ("user" | "role" | "group", ARN)


def owner(ctx: Ctx, inst: Instance, kind: str, key: str) -> str | None:
    """The ARN of the user/role/group an attachment names (by name, or ARN), or None (noted)."""
    v = ctx.value(inst, key)
    if v is UNKNOWN or not isinstance(v, str) or not v:
        ctx.note(f"{inst.address}: the {kind} it applies to is known only after apply; not analysed")
        return None
    lookup = {"user": ctx.acct.user_arn, "role": ctx.acct.role_arn, "group": ctx.acct.group_arn}[kind]
    arn = lookup(v)
    if arn is None:
        ctx.note(
            f"{inst.address}: {kind} {v} is in neither the plan nor the snapshot; what it does to "
            f"that {kind} is not analysed"
        )
    if ctx.fill and arn not in ctx.created:
        return None  # the snapshot speaks for this principal: it wins over Terraform's prior state
    return arn


def _table(ctx: Ctx, kind: str) -> dict[str, Any]:
    tables: dict[str, dict[str, Any]] = {
        "user": ctx.acct.users,
        "role": ctx.acct.roles,
        "group": ctx.acct.groups,
    }
    return tables[kind]


def _update_principal(ctx: Ctx, kind: str, arn: str, **changes: Any) -> None:
    table = _table(ctx, kind)
    table[arn] = replace(table[arn], **changes)


def _principal(ctx: Ctx, kind: str, arn: str) -> User | Role | Group:
    obj: User | Role | Group = _table(ctx, kind)[arn]
    return obj


def _entity_arn(ctx: Ctx, inst: Instance, kind: str) -> tuple[str, str]:
    name, known = entity_name(ctx.world, inst)
    arn = ctx.acct.iam_arn(kind, name, entity_path(inst))
    if not known:
        ctx.doubts.append(
            Doubt(
                arn=arn,
                why=f"the name of {inst.address} is known only after apply (policies "
                "that name it may match it differently)",
            )
        )
    return arn, name


def _tags(inst: Instance) -> Mapping[str, str]:
    tags = inst.values.get("tags")
    if not isinstance(tags, dict):
        return MappingProxyType({})
    return MappingProxyType({str(k): str(v) for k, v in tags.items() if isinstance(v, str)})


def _boundary(ctx: Ctx, inst: Instance, arn: str) -> str | None:
    v = ctx.value(inst, "permissions_boundary")
    if v is UNKNOWN:
        # An unknown boundary may cap anything or nothing: analysed without it, and every edge of the
        # principal conditional on it (it can only remove permissions, so nothing is missed).
        ctx.doubts.append(
            Doubt(arn=arn, why=f"the permissions boundary of {inst.address} is known only after apply")
        )
        return None
    return v if isinstance(v, str) and v else None


def add_user(ctx: Ctx, inst: Instance) -> set[str]:
    arn, name = _entity_arn(ctx, inst, "user")
    old = ctx.acct.users.get(arn)
    if old is not None and ctx.fill:
        return set()
    fields: dict[str, Any] = {
        "path": entity_path(inst),
        "boundary_arn": _boundary(ctx, inst, arn),
        "tags": _tags(inst),
    }
    if old is None:
        ctx.created.add(arn)
        uid = inst.values.get("unique_id")
        new = not ctx.prior  # a user this plan creates: it starts with no key and no password
        ctx.acct.users[arn] = User(
            arn=arn,
            name=name,
            user_id=uid if isinstance(uid, str) else "",
            access_key_count=0 if new else None,
            has_login_profile=False if new else None,
            **fields,
        )
    else:
        ctx.acct.users[arn] = replace(old, **fields)
    return {arn}


def remove_user(ctx: Ctx, inst: Instance) -> set[str]:
    arn, _ = _entity_arn(ctx, inst, "user")
    return {arn} if ctx.acct.users.pop(arn, None) is not None else set()


def _role_inline(ctx: Ctx, inst: Instance, arn: str) -> tuple[Policy, ...] | None:
    if not (inst.configured("inline_policy") or ctx.prior) or ctx.unknown(inst, "inline_policy"):
        return None
    blocks = inst.values.get("inline_policy")
    if not isinstance(blocks, list):
        return None
    flags = inst.unknown.get("inline_policy") if isinstance(inst.unknown, dict) else None
    out = []
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        name = block.get("name")
        pol_raw = block.get("policy")
        f = flags[i] if isinstance(flags, list) and i < len(flags) else None
        pol_unknown = f is True or (isinstance(f, dict) and f.get("policy") is True)
        if not isinstance(name, str) or not name:
            if pol_unknown or pol_raw:
                name = f"(known after apply: {inst.address}.inline_policy[{i}])"
            else:
                continue  # the empty block the provider uses to say "no inline policies"
        ref = inline_ref(name, arn)
        if pol_unknown:
            out.append(unknown_document(ref, f"{inst.address}.inline_policy[{i}].policy"))
        elif isinstance(pol_raw, str) and pol_raw:
            out.append(document(pol_raw, ref, f"{inst.address}.inline_policy[{i}].policy"))
    return tuple(out)


def _role_managed(ctx: Ctx, inst: Instance) -> tuple[str, ...] | None:
    if not (inst.configured("managed_policy_arns") or ctx.prior):
        return None
    arns = ctx.strings(inst, "managed_policy_arns")
    if arns is None:
        if not inst.configured("managed_policy_arns"):
            return None
        return (unknown_policy(ctx, inst, "managed_policy_arns"),)
    return tuple(arns)


def add_role(ctx: Ctx, inst: Instance) -> set[str]:
    arn, name = _entity_arn(ctx, inst, "role")
    old = ctx.acct.roles.get(arn)
    if old is not None and ctx.fill:
        return set()
    trust = policy_doc(
        ctx,
        inst,
        "assume_role_policy",
        PolicyRef(kind=PolicyKind.TRUST, name=f"{name} trust policy", attached_to=arn),
        trust=True,
    )
    if ctx.unknown(inst, "assume_role_policy"):
        # Service trust is read without conditions (edges/trust.py): the doubt keeps every edge into
        # the role conditional, whoever the document turns out to trust.
        ctx.doubts.append(Doubt(arn=arn, why=f"the trust policy of {inst.address} is known only after apply"))
    fields: dict[str, Any] = {
        "path": entity_path(inst),
        "trust_policy": trust,
        "boundary_arn": _boundary(ctx, inst, arn),
        "tags": _tags(inst),
    }
    inline = _role_inline(ctx, inst, arn)
    if inline is not None:
        fields["inline_policies"] = inline
    attached = _role_managed(ctx, inst)
    if attached is not None:
        fields["managed_policy_arns"] = attached
    if old is None:
        ctx.created.add(arn)
        rid = inst.values.get("unique_id")
        ctx.acct.roles[arn] = Role(arn=arn, name=name, role_id=rid if isinstance(rid, str) else "", **fields)
    else:
        ctx.acct.roles[arn] = replace(old, **fields)
    return {arn}


def remove_role(ctx: Ctx, inst: Instance) -> set[str]:
    arn, _ = _entity_arn(ctx, inst, "role")
    return {arn} if ctx.acct.roles.pop(arn, None) is not None else set()


def add_group(ctx: Ctx, inst: Instance) -> set[str]:
    arn, name = _entity_arn(ctx, inst, "group")
    old = ctx.acct.groups.get(arn)
    if old is not None:
        if not ctx.fill:
            ctx.acct.groups[arn] = replace(old, path=entity_path(inst))
        return set() if ctx.fill else {arn}
    ctx.created.add(arn)
    ctx.acct.groups[arn] = Group(arn=arn, name=name, path=entity_path(inst))
    return {arn}


def remove_group(ctx: Ctx, inst: Instance) -> set[str]:
    arn, _ = _entity_arn(ctx, inst, "group")
    if ctx.acct.groups.pop(arn, None) is None:
        return set()
    touched = {arn}
    for uarn, user in list(ctx.acct.users.items()):
        if arn in user.group_arns:
            ctx.acct.users[uarn] = replace(user, group_arns=_detach(user.group_arns, arn))
            touched.add(uarn)
    return touched


def _holders(ctx: Ctx, policy_arn: str) -> set[str]:
    out = {a for a, u in ctx.acct.users.items() if policy_arn in u.managed_policy_arns}
    out |= {a for a, r in ctx.acct.roles.items() if policy_arn in r.managed_policy_arns}
    for garn, g in ctx.acct.groups.items():
        if policy_arn in g.managed_policy_arns:
            out.add(garn)
            out |= {a for a, u in ctx.acct.users.items() if garn in u.group_arns}
    return out


def add_policy(ctx: Ctx, inst: Instance) -> set[str]:
    arn, name = _entity_arn(ctx, inst, "policy")
    old = ctx.acct.policies.get(arn)
    if old is not None and ctx.fill:
        return set()
    version = old.default_version if old is not None else NEW_VERSION
    ref = PolicyRef(kind=PolicyKind.MANAGED, name=name, arn=arn, version=version)
    doc = policy_doc(ctx, inst, "policy", ref)
    if doc is None:
        return set()
    if old is None:
        ctx.acct.policies[arn] = managed(arn, name, doc, entity_path(inst))
        return {arn}
    if old.versions[old.default_version].document != doc.document and not ctx.fill:
        ctx.note(
            f"{inst.address}: a new default version of {name} replaces the current one (AWS keeps up to "
            "five versions; the older ones are not in a plan)"
        )
    versions = dict(old.versions)
    versions[old.default_version] = doc
    ctx.acct.policies[arn] = replace(old, versions=MappingProxyType(versions))
    return {arn} | _holders(ctx, arn)


def remove_policy(ctx: Ctx, inst: Instance) -> set[str]:
    arn, _ = _entity_arn(ctx, inst, "policy")
    if ctx.acct.policies.pop(arn, None) is None:
        return set()
    return {arn} | _holders(ctx, arn)


def add_data_policy(ctx: Ctx, inst: Instance) -> set[str]:
    """`data "aws_iam_policy"`: the document of an existing managed policy (often an AWS managed one)."""
    arn = ctx.text(inst, "arn")
    doc_raw = ctx.value(inst, "policy")
    if arn is None or arn in ctx.acct.policies or not isinstance(doc_raw, str) or not doc_raw:
        return set()
    name = ctx.text(inst, "name") or arn.rsplit("/", 1)[-1]
    ref = PolicyRef(kind=PolicyKind.MANAGED, name=name, arn=arn, version="(default)")
    ctx.acct.policies[arn] = ManagedPolicy(
        arn=arn,
        name=name,
        default_version="(default)",
        versions=MappingProxyType({"(default)": document(doc_raw, ref, f"{inst.address}.policy")}),
        path=entity_path(inst),
    )
    return set()


def add_profile(ctx: Ctx, inst: Instance) -> set[str]:
    arn, name = _entity_arn(ctx, inst, "instance-profile")
    if arn in ctx.acct.profiles and ctx.fill:
        return set()
    role = ctx.value(inst, "role")
    role_arns: tuple[str, ...] = ()
    if role is UNKNOWN:
        ctx.note(f"{inst.address}: the role of the instance profile is known only after apply; not analysed")
    elif isinstance(role, str) and role:
        rarn = ctx.acct.role_arn(role)
        if rarn is None:
            ctx.note(f"{inst.address}: role {role} is in neither the plan nor the snapshot")
        else:
            role_arns = (rarn,)
    ctx.acct.profiles[arn] = InstanceProfile(arn=arn, name=name, role_arns=role_arns)
    return {arn, *role_arns}


def remove_profile(ctx: Ctx, inst: Instance) -> set[str]:
    arn, _ = _entity_arn(ctx, inst, "instance-profile")
    old = ctx.acct.profiles.pop(arn, None)
    return set() if old is None else {arn, *old.role_arns}


def rename(before: Ctx, after: Ctx, old: Instance, new: Instance) -> set[str]:
    """An entity updated under a new name: users and groups are renamed in place and keep what is
    attached to them; other kinds cannot be renamed (their name forces a replacement)."""
    kind = IAM_KINDS.get(old.type)
    if kind not in ("user", "group"):
        return set()
    old_arn, _ = _entity_arn(before, old, kind)
    new_arn, name = _entity_arn(after, new, kind)
    acct = after.acct
    if kind == "user":
        user = acct.users.pop(old_arn, None)
        if user is None:
            return set()
        acct.users[new_arn] = replace(user, arn=new_arn, name=name)
        return {old_arn, new_arn}
    group = acct.groups.pop(old_arn, None)
    if group is None:
        return set()
    acct.groups[new_arn] = replace(group, arn=new_arn, name=name)
    touched = {old_arn, new_arn}
    for uarn, user in list(acct.users.items()):
        if old_arn in user.group_arns:
            acct.users[uarn] = replace(
                user, group_arns=tuple(new_arn if g == old_arn else g for g in user.group_arns)
            )
            touched.add(uarn)
    return touched
