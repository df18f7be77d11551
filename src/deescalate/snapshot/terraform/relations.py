"""Inline policies, attachments, memberships, keys, login profiles and the `*_exclusive` resources.

A relation is removed with its old values and added with its new ones. Exclusive resources
(`aws_iam_policy_attachment`, `aws_iam_group_membership`, `*_exclusive`) set the whole relation on
`add`; destroying an `*_exclusive` resource leaves the account as it is, as the provider documents.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from deescalate.snapshot.terraform.account import (
    inline_ref,
)
from deescalate.snapshot.terraform.context import Ctx, placeholder
from deescalate.snapshot.terraform.plan import Instance
from deescalate.snapshot.terraform.principals import (
    _attach,
    _detach,
    _drop_inline,
    _principal,
    _set_inline,
    _table,
    _update_principal,
    owner,
    policy_arn_value,
    policy_doc,
    unknown_policy,
)

# --------------------------------------------------------------------------- relations


def _inline_effect(
    kind: str,
) -> tuple[Callable[[Ctx, Instance], set[str]], Callable[[Ctx, Instance], set[str]]]:
    def name_of(ctx: Ctx, inst: Instance) -> str:
        v = ctx.text(inst, "name")
        return v or placeholder(inst)

    def add(ctx: Ctx, inst: Instance) -> set[str]:
        arn = owner(ctx, inst, kind, kind)
        if arn is None:
            return set()
        obj = _principal(ctx, kind, arn)
        name = name_of(ctx, inst)
        doc = policy_doc(ctx, inst, "policy", inline_ref(name, arn))
        if doc is None:
            return set()
        _update_principal(ctx, kind, arn, inline_policies=_set_inline(obj.inline_policies, doc))
        return _with_members(ctx, kind, arn)

    def remove(ctx: Ctx, inst: Instance) -> set[str]:
        arn = owner(ctx, inst, kind, kind)
        if arn is None:
            return set()
        obj = _principal(ctx, kind, arn)
        _update_principal(
            ctx, kind, arn, inline_policies=_drop_inline(obj.inline_policies, name_of(ctx, inst))
        )
        return _with_members(ctx, kind, arn)

    return add, remove


def _with_members(ctx: Ctx, kind: str, arn: str) -> set[str]:
    if kind != "group":
        return {arn}
    return {arn} | {a for a, u in ctx.acct.users.items() if arn in u.group_arns}


def _attachment_effect(
    kind: str,
) -> tuple[Callable[[Ctx, Instance], set[str]], Callable[[Ctx, Instance], set[str]]]:
    def add(ctx: Ctx, inst: Instance) -> set[str]:
        arn = owner(ctx, inst, kind, kind)
        parn = policy_arn_value(ctx, inst)
        if arn is None or parn is None:
            return set()
        obj = _principal(ctx, kind, arn)
        _update_principal(ctx, kind, arn, managed_policy_arns=_attach(obj.managed_policy_arns, parn))
        return _with_members(ctx, kind, arn)

    def remove(ctx: Ctx, inst: Instance) -> set[str]:
        arn = owner(ctx, inst, kind, kind)
        parn = ctx.text(inst, "policy_arn")
        if arn is None or parn is None:
            return set()
        obj = _principal(ctx, kind, arn)
        _update_principal(ctx, kind, arn, managed_policy_arns=_detach(obj.managed_policy_arns, parn))
        return _with_members(ctx, kind, arn)

    return add, remove


def _names(ctx: Ctx, inst: Instance, key: str, kind: str) -> list[str]:
    """ARNs of the users/roles/groups a set argument names; unknown members are noted."""
    names = ctx.strings(inst, key)
    if names is None:
        ctx.note(f"{inst.address}: its {key} are known only after apply; not analysed")
        return []
    lookup = {"user": ctx.acct.user_arn, "role": ctx.acct.role_arn, "group": ctx.acct.group_arn}[kind]
    out = []
    for n in names:
        arn = lookup(n)
        if arn is None:
            ctx.note(f"{inst.address}: {kind} {n} is in neither the plan nor the snapshot")
        elif not ctx.fill or arn in ctx.created:
            out.append(arn)
    return out


def add_policy_attachment(ctx: Ctx, inst: Instance) -> set[str]:
    """`aws_iam_policy_attachment` is exclusive: the policy ends up attached to exactly these principals."""
    parn = policy_arn_value(ctx, inst)
    if parn is None:
        return set()
    touched = set()
    for kind, key in (("user", "users"), ("role", "roles"), ("group", "groups")):
        want = set(_names(ctx, inst, key, kind))
        table = _table(ctx, kind)
        for arn, obj in list(table.items()):
            has = parn in obj.managed_policy_arns
            if arn in want and not has:
                table[arn] = replace(obj, managed_policy_arns=_attach(obj.managed_policy_arns, parn))
                touched |= _with_members(ctx, kind, arn)
            elif arn not in want and has and not ctx.prior:
                table[arn] = replace(obj, managed_policy_arns=_detach(obj.managed_policy_arns, parn))
                touched |= _with_members(ctx, kind, arn)
    return touched


def remove_policy_attachment(ctx: Ctx, inst: Instance) -> set[str]:
    parn = ctx.text(inst, "policy_arn")
    if parn is None:
        return set()
    touched = set()
    for kind, key in (("user", "users"), ("role", "roles"), ("group", "groups")):
        for arn in _names(ctx, inst, key, kind):
            obj = _principal(ctx, kind, arn)
            _update_principal(ctx, kind, arn, managed_policy_arns=_detach(obj.managed_policy_arns, parn))
            touched |= _with_members(ctx, kind, arn)
    return touched


def add_user_groups(ctx: Ctx, inst: Instance) -> set[str]:
    uarn = owner(ctx, inst, "user", "user")
    if uarn is None:
        return set()
    groups = _names(ctx, inst, "groups", "group")
    user = ctx.acct.users[uarn]
    ctx.acct.users[uarn] = replace(user, group_arns=tuple(dict.fromkeys([*user.group_arns, *groups])))
    return {uarn}


def remove_user_groups(ctx: Ctx, inst: Instance) -> set[str]:
    uarn = owner(ctx, inst, "user", "user")
    if uarn is None:
        return set()
    gone = set(_names(ctx, inst, "groups", "group"))
    user = ctx.acct.users[uarn]
    ctx.acct.users[uarn] = replace(user, group_arns=tuple(g for g in user.group_arns if g not in gone))
    return {uarn}


def add_group_membership(ctx: Ctx, inst: Instance) -> set[str]:
    """`aws_iam_group_membership` is exclusive: the group's members are exactly these users."""
    garn = owner(ctx, inst, "group", "group")
    if garn is None:
        return set()
    want = set(_names(ctx, inst, "users", "user"))
    touched = set()
    for uarn, user in list(ctx.acct.users.items()):
        member = garn in user.group_arns
        if uarn in want and not member:
            ctx.acct.users[uarn] = replace(user, group_arns=(*user.group_arns, garn))
            touched.add(uarn)
        elif uarn not in want and member and not ctx.prior:
            ctx.acct.users[uarn] = replace(user, group_arns=_detach(user.group_arns, garn))
            touched.add(uarn)
    return touched


def remove_group_membership(ctx: Ctx, inst: Instance) -> set[str]:
    garn = owner(ctx, inst, "group", "group")
    if garn is None:
        return set()
    touched = set()
    for uarn in _names(ctx, inst, "users", "user"):
        user = ctx.acct.users[uarn]
        ctx.acct.users[uarn] = replace(user, group_arns=_detach(user.group_arns, garn))
        touched.add(uarn)
    return touched


def _count_effect(
    attr: str,
) -> tuple[Callable[[Ctx, Instance], set[str]], Callable[[Ctx, Instance], set[str]]]:
    def change(ctx: Ctx, inst: Instance, delta: int) -> set[str]:
        uarn = owner(ctx, inst, "user", "user")
        if uarn is None:
            return set()
        user = ctx.acct.users[uarn]
        if attr == "access_key_count":
            if user.access_key_count is None:
                return set()
            ctx.acct.users[uarn] = replace(user, access_key_count=max(0, user.access_key_count + delta))
        else:
            ctx.acct.users[uarn] = replace(user, has_login_profile=delta > 0)
        return {uarn}

    return (lambda ctx, inst: change(ctx, inst, 1)), (lambda ctx, inst: change(ctx, inst, -1))


def _exclusive_attachments(kind: str) -> Callable[[Ctx, Instance], set[str]]:
    def add(ctx: Ctx, inst: Instance) -> set[str]:
        arn = owner(ctx, inst, kind, f"{kind}_name")
        if arn is None:
            return set()
        arns = ctx.strings(inst, "policy_arns")
        if arns is None:
            arns = [unknown_policy(ctx, inst, "policy_arns")]
        if ctx.prior:
            obj = _principal(ctx, kind, arn)
            arns = list(dict.fromkeys([*obj.managed_policy_arns, *arns]))
        _update_principal(ctx, kind, arn, managed_policy_arns=tuple(arns))
        return _with_members(ctx, kind, arn)

    return add


def _exclusive_inline(kind: str) -> Callable[[Ctx, Instance], set[str]]:
    def add(ctx: Ctx, inst: Instance) -> set[str]:
        arn = owner(ctx, inst, kind, f"{kind}_name")
        names = ctx.strings(inst, "policy_names")
        if arn is None or names is None or ctx.prior:
            return set()
        obj = _principal(ctx, kind, arn)
        keep = set(names)
        _update_principal(
            ctx, kind, arn, inline_policies=tuple(p for p in obj.inline_policies if p.ref.name in keep)
        )
        return _with_members(ctx, kind, arn)

    return add


def _nothing(ctx: Ctx, inst: Instance) -> set[str]:
    return set()
