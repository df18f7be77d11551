"""Techniques judged by re-analysing a changed snapshot: "if the source did X, what could it do?".

- iam-setdefaultversion: make an older version of a customer managed policy attached to itself
  (or its group) the default again.
- iam-013: add itself to a group.
- X-RemoveDeny: delete, detach or overwrite one of its own policies (or its group's) that holds
  a Deny — a remediation deny `deescalate-…` included — or leave the group that holds it.
- X-Boundary: delete or replace its own permissions boundary.

Each change is applied to a copy of the snapshot (only the source's view is re-analysed). If the
changed source is admin, the edge goes to ADMIN; otherwise each edge the changed source has and
the original had not becomes an edge of this technique, whose alternatives are the change's grants
joined with the new edge's. A change that restores nothing gives no edge: a Deny that blocks
nothing escalating is not worth removing. Sub-analyses run phase 0 only, so they never recurse;
one change at a time is considered (two denies that must both go are a documented blind spot).
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType

from deescalate.analysis.admins import admin_reason, administrator_access
from deescalate.analysis.edges.base import Alternative, Checker, EdgeContext, Principal, any_of
from deescalate.analysis.edges.direct import direct_edges, ordered, run_phase
from deescalate.analysis.edges.iam_self import own_managed_policies
from deescalate.arn import account_of, name_of
from deescalate.model import ADMIN, POLICY_PREFIX, Edge, Effect, Grant, Group, Policy, Role, Snapshot, User

# The changed snapshot of a what-if overlays the one changed object on the snapshot's mappings
# (a view, not a copy: one what-if per (source, change) over an account of any size).


def _with_principal(snapshot: Snapshot, principal: Principal) -> Snapshot:
    if isinstance(principal, User):
        users: Mapping[str, User] = ChainMap({principal.arn: principal}, snapshot.users)  # type: ignore[arg-type]
        return replace(snapshot, users=MappingProxyType(users))
    roles: Mapping[str, Role] = ChainMap({principal.arn: principal}, snapshot.roles)  # type: ignore[arg-type]
    return replace(snapshot, roles=MappingProxyType(roles))


def _with_group(snapshot: Snapshot, group: Group) -> Snapshot:
    groups: Mapping[str, Group] = ChainMap({group.arn: group}, snapshot.groups)  # type: ignore[arg-type]
    return replace(snapshot, groups=MappingProxyType(groups))


def _has_deny(policy: Policy) -> bool:
    return any(st.effect is Effect.DENY for st in policy.statements)


def what_if(
    ctx: EdgeContext,
    source: Principal,
    prior: Sequence[Edge],
    changed: Snapshot,
    *,
    technique: str,
    changes: Iterable[Alternative],
    via: str,
    description: str,
    changed_key: str | None = None,
    checkers: tuple[Checker, ...] | None = None,
) -> Iterator[Edge]:
    """`changed_key`: what the change is keyed by for the sub-analysis' caches, when it is not the
    source's own (a group's change, the same for every member: they share one sub-analysis).
    `checkers`: the direct checkers to run on the changed source, when the caller knows a superset
    of those its prefilter passes (a change that only takes policies away can only shrink it)."""
    gate = ctx.edge(
        source=source.arn,
        target=ADMIN,
        technique=technique,
        candidates=changes,
        via=via,
        description=description,
        always=True,
    )
    if gate is None:
        return
    new_source = changed.users.get(source.arn) or changed.roles.get(source.arn)
    if new_source is None:
        return
    if admin_reason(changed, new_source) is not None:
        if ctx.wants(source.arn, ADMIN):
            yield replace(gate, description=f"{description}: it is then admin")
        return
    sub = ctx.what_if_context((changed_key or source.arn, technique, via), changed)
    before = {(e.target, e.technique, e.via) for e in prior}
    by_target: dict[str, list[Edge]] = {}
    if checkers is None:
        edges = direct_edges(sub, new_source)
    else:
        edges = {}
        run_phase(sub, new_source, checkers, 0, edges)
    for e in ordered(edges.values()):
        if (e.target, e.technique, e.via) not in before:
            by_target.setdefault(e.target, []).append(e)
    for target, found in sorted(by_target.items()):
        alts: dict[Alternative, None] = {}  # insertion-ordered set: a helper's gate has hundreds
        for g in gate.alternatives:
            for e in found:
                for a in e.alternatives:
                    alts[(*g, *(x for x in a if x not in g))] = None
        conditions = list(gate.conditions)
        if all(e.conditional for e in found):
            conditions.extend(c for e in found for c in e.conditions if c not in conditions)
        yield Edge(
            source=source.arn,
            target=target,
            technique=technique,
            alternatives=tuple(alts),
            via=via,
            conditions=tuple(conditions),
            description=f"{description}; then {', '.join(sorted({e.technique for e in found}))}",
        )


def set_default_version(ctx: EdgeContext, source: Principal, prior: Sequence[Edge]) -> Iterator[Edge]:
    for mp in own_managed_policies(ctx, source):
        for vid in sorted(v for v in mp.versions if v != mp.default_version):
            changed = replace(
                ctx.snapshot,
                policies=MappingProxyType(
                    {**ctx.snapshot.policies, mp.arn: replace(mp, default_version=vid)}
                ),
            )
            yield from what_if(
                ctx,
                source,
                prior,
                changed,
                technique="iam-setdefaultversion",
                changes=[(Grant(action="iam:SetDefaultPolicyVersion", resource=mp.arn),)],
                via=f"{mp.arn}?version={vid}",
                description=f"make version {vid} of {mp.name} the default again",
            )


def join_group(ctx: EdgeContext, source: Principal, prior: Sequence[Edge]) -> Iterator[Edge]:
    if not isinstance(source, User):
        return
    for garn in sorted(ctx.snapshot.groups):
        group = ctx.snapshot.groups[garn]
        if garn in source.group_arns or account_of(group.arn) != source.account_id:
            continue
        if not group.inline_policies and not group.managed_policy_arns:
            continue
        changed = _with_principal(ctx.snapshot, replace(source, group_arns=(*source.group_arns, garn)))
        yield from what_if(
            ctx,
            source,
            prior,
            changed,
            technique="iam-013",
            changes=[(Grant(action="iam:AddUserToGroup", resource=garn),)],
            via=garn,
            description=f"add itself to group {group.name}",
        )


def _policy_arn(arn: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return (("iam:PolicyARN", (arn,)),)


Removal = tuple[Snapshot, list[Alternative], str, str]  # (changed snapshot, changes, via, description)


def _removals(
    snap: Snapshot,
    *,
    owner: str,
    kind: str,
    inline: tuple[Policy, ...],
    managed: tuple[str, ...],
    without_inline: Callable[[Policy], Snapshot],
    without_managed: Callable[[str], Snapshot],
    inline_text: Callable[[str], str],
    managed_text: Callable[[str], str],
    new_version: bool,
) -> Iterator[Removal]:
    """Each policy of `owner` (a user, role or group: `kind`) holding a Deny, and how it goes."""
    for pol in inline:
        if not _has_deny(pol):
            continue
        yield (
            without_inline(pol),
            [
                (Grant(action=f"iam:Delete{kind}Policy", resource=owner),),
                (Grant(action=f"iam:Put{kind}Policy", resource=owner),),
            ],
            f"{owner}?inline={pol.ref.name}",
            inline_text(pol.ref.name),
        )
    for arn in managed:
        mp = snap.policies.get(arn)
        if mp is None or not _has_deny(mp.document):
            continue
        changes: list[Alternative] = [
            (Grant(action=f"iam:Detach{kind}Policy", resource=owner, context=_policy_arn(arn)),)
        ]
        if new_version and not mp.aws_managed:
            changes.append((Grant(action="iam:CreatePolicyVersion", resource=arn),))
        yield without_managed(arn), changes, f"{owner}?managed={arn}", managed_text(mp.name)


# Actions whose Deny only keeps a policy, a group membership or a boundary in place: a plan policy
# holding nothing else cuts no escalation itself (what it protects takes a second change to undo).
_KEEPING = frozenset(
    {
        "iam:deleteuserpolicy",
        "iam:deleterolepolicy",
        "iam:deletegrouppolicy",
        "iam:detachuserpolicy",
        "iam:detachrolepolicy",
        "iam:detachgrouppolicy",
        "iam:removeuserfromgroup",
        "iam:deleteuserpermissionsboundary",
        "iam:deleterolepermissionsboundary",
    }
)


def plans_own(snapshot: Snapshot, owner: Principal, via: str) -> bool:
    """Whether a removal (its `via`) takes away one of `owner`'s own `deescalate-…` policies that
    denies more than removals.

    Such a removal is an edge to ADMIN whatever the owner's direct techniques regain: the plan's
    deny may cut a composed path (the owner's take-over and rewrite of another principal, a step
    of someone's path), which a what-if's sub-analysis (direct techniques only) does not see. A
    plan policy that only keeps other policies in place (`_KEEPING`) is judged by the what-if like
    any other Deny: undoing what it protects is a second change."""
    head, _, rest = via.partition("?")
    if head != owner.arn:
        return False
    if rest.startswith("inline="):
        name = rest[len("inline="):]
        mine = name.startswith(POLICY_PREFIX)
        policies = [p for p in owner.inline_policies if mine and p.ref.name == name]
    elif rest.startswith("managed=") and name_of(rest[len("managed="):]).startswith(POLICY_PREFIX):
        mp = snapshot.policies.get(rest[len("managed="):])
        policies = [] if mp is None else [mp.document]
    else:
        return False
    return any(
        st.effect is Effect.DENY
        and (st.actions is None or any(a.lower() not in _KEEPING for a in st.actions))
        for p in policies
        for st in p.statements
    )


# How an edge that removes one of the plan's own policies (`plans_own`) ends its description.
REOPENS = "what the plan denies it opens again"


def reopening(
    ctx: EdgeContext,
    source: Principal,
    *,
    technique: str,
    candidates: Sequence[Alternative],
    via: str,
    description: str,
    always: bool = False,
) -> Iterator[Edge]:
    """The edge to ADMIN of removing one of the plan's own policies (`plans_own`): no what-if,
    whatever the policy cut opens again. `always` as for `EdgeContext.edge`."""
    gate = ctx.edge(
        source=source.arn, target=ADMIN, technique=technique, candidates=candidates, via=via,
        description=f"{description}: {REOPENS}", always=always,
    )
    if gate is not None:
        yield gate


def _remove(ctx: EdgeContext, source: Principal, prior: Sequence[Edge], removal: Removal) -> Iterator[Edge]:
    changed, changes, via, description = removal
    if plans_own(ctx.snapshot, source, via):
        yield from reopening(
            ctx, source, technique="X-RemoveDeny", candidates=changes, via=via, description=description
        )
        return
    yield from what_if(
        ctx,
        source,
        prior,
        changed,
        technique="X-RemoveDeny",
        changes=changes,
        via=via,
        description=description,
    )


def own_removals(
    ctx: EdgeContext, source: Principal, groups: dict[str, list[Removal]] | None = None
) -> Iterator[Removal]:
    """Every way to take a Deny away from `source`: its own policies, its groups', leaving a group.

    `groups` keeps each group's removals (their changed snapshots are the same for every member)."""
    snap = ctx.snapshot
    yield from _removals(
        snap,
        owner=source.arn,
        kind="User" if isinstance(source, User) else "Role",
        inline=source.inline_policies,
        managed=source.managed_policy_arns,
        without_inline=lambda pol: _with_principal(
            snap, replace(source, inline_policies=tuple(p for p in source.inline_policies if p is not pol))
        ),
        without_managed=lambda arn: _with_principal(
            snap,
            replace(source, managed_policy_arns=tuple(a for a in source.managed_policy_arns if a != arn)),
        ),
        inline_text=lambda name: f"delete or overwrite its inline policy {name}, which holds a Deny",
        managed_text=lambda name: f"detach {name}, which holds a Deny",
        new_version=True,
    )
    if not isinstance(source, User):
        return
    for garn in source.group_arns:
        group = snap.groups.get(garn)
        if group is None:
            continue
        known = None if groups is None else groups.get(garn)
        removals = known if known is not None else list(_group_removals(snap, group))
        if groups is not None:
            groups[garn] = removals
        yield from removals
        if removals:
            changed = _with_principal(
                snap, replace(source, group_arns=tuple(g for g in source.group_arns if g != garn))
            )
            yield (
                changed,
                [(Grant(action="iam:RemoveUserFromGroup", resource=garn),)],
                f"{garn}?leave",
                f"leave group {group.name}, which holds a Deny",
            )


def remove_deny(ctx: EdgeContext, source: Principal, prior: Sequence[Edge]) -> Iterator[Edge]:
    for removal in own_removals(ctx, source):
        yield from _remove(ctx, source, prior, removal)


def _group_removals(snap: Snapshot, group: Group) -> Iterator[Removal]:
    return _removals(
        snap,
        owner=group.arn,
        kind="Group",
        inline=group.inline_policies,
        managed=group.managed_policy_arns,
        without_inline=lambda pol: _with_group(
            snap, replace(group, inline_policies=tuple(p for p in group.inline_policies if p is not pol))
        ),
        without_managed=lambda arn: _with_group(
            snap, replace(group, managed_policy_arns=tuple(a for a in group.managed_policy_arns if a != arn))
        ),
        inline_text=lambda name: f"delete or overwrite {group.name}'s inline policy {name}",
        managed_text=lambda name: f"detach {name} from {group.name}",
        # (a new version of a group's customer managed policy is not offered as a way here)
        new_version=False,
    )


def boundary_lift(ctx: EdgeContext, source: Principal) -> Removal | None:
    """Deleting or replacing `source`'s permissions boundary, or None when it has none."""
    if source.boundary_arn is None:
        return None
    kind = "User" if isinstance(source, User) else "Role"
    changes: list[Alternative] = [
        (Grant(action=f"iam:Delete{kind}PermissionsBoundary", resource=source.arn),),
        # Replacing it with AdministratorAccess is the same as lifting it.
        (
            Grant(
                action=f"iam:Put{kind}PermissionsBoundary",
                resource=source.arn,
                context=(("iam:PermissionsBoundary", (administrator_access(source.partition),)),),
            ),
        ),
    ]
    boundary = ctx.snapshot.policies.get(source.boundary_arn)
    if boundary is not None and not boundary.aws_managed:
        changes.append((Grant(action="iam:CreatePolicyVersion", resource=boundary.arn),))
    changed = _with_principal(ctx.snapshot, replace(source, boundary_arn=None))
    return changed, changes, source.boundary_arn, f"lift its permissions boundary {source.boundary_arn}"


def lift_boundary(ctx: EdgeContext, source: Principal, prior: Sequence[Edge]) -> Iterator[Edge]:
    lift = boundary_lift(ctx, source)
    if lift is None:
        return
    changed, changes, via, description = lift
    yield from what_if(
        ctx, source, prior, changed, technique="X-Boundary", changes=changes, via=via, description=description
    )


CHECKERS: tuple[Checker, ...] = (
    Checker(
        technique="iam-setdefaultversion",
        needs=(("iam:SetDefaultPolicyVersion",),),
        find=set_default_version,
        phase=2,
    ),
    Checker(
        technique="iam-013",
        sources="user",
        needs=(("iam:AddUserToGroup",),),
        find=join_group,
        phase=2,
    ),
    Checker(
        technique="X-RemoveDeny",
        needs=any_of(
            "iam:DeleteUserPolicy",
            "iam:PutUserPolicy",
            "iam:DetachUserPolicy",
            "iam:DeleteRolePolicy",
            "iam:PutRolePolicy",
            "iam:DetachRolePolicy",
            "iam:CreatePolicyVersion",
            "iam:DeleteGroupPolicy",
            "iam:PutGroupPolicy",
            "iam:DetachGroupPolicy",
            "iam:RemoveUserFromGroup",
        ),
        find=remove_deny,
        phase=2,
    ),
    Checker(
        technique="X-Boundary",
        needs=any_of(
            "iam:DeleteUserPermissionsBoundary",
            "iam:PutUserPermissionsBoundary",
            "iam:DeleteRolePermissionsBoundary",
            "iam:PutRolePermissionsBoundary",
            "iam:CreatePolicyVersion",
        ),
        find=lift_boundary,
        phase=2,
    ),
)
