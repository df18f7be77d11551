"""Composition: take over and rewrite, over everything a principal can act as.

`S(P)` is P plus every principal P can act as, transitively over the graph's principal -> principal
edges (assume a role, a new access key or console password, a rewritten trust policy, a role
handed to a service, joining a group that can do any of these, ...). P reaches admin when a member
A of S(P) can rewrite a member B of S(P) that no permissions boundary caps:

- a principal rewrite: A attaches an admin-grade managed policy to B, puts an inline policy on B,
  or writes a new default version of a customer managed policy attached to B or one of its groups
  (iam-014..iam-021 when A is P and one take-over edge reaches B; `X-TakeoverRewrite` for the
  other shapes P rewrites itself, e.g. a console take-over; `X-HelperRewrite` when A is not P);
- a group rewrite (`X-GroupRewrite`): A puts or attaches a policy on a group G (or versions one
  attached to it), and a user B of S(P) is in G, or some C of S(P) may add B to G
  (iam:AddUserToGroup authorizes on the group alone).

P's protections hold only if no member of S(P) can take them away: a member R that may delete,
overwrite or detach one of P's policies holding a Deny (a remediation `deescalate-…` deny
included), take P out of a group holding one, or lift P's boundary, adds R's way to P's
X-RemoveDeny / X-Boundary edge (same edge id as P doing it itself). The same for any other member Q
of S(P): a member R of S(P) outside S(Q) that may take a protection away from Q gives P an edge to
what Q gains without it (`Composer.removals_of_others`), so a plan's deny on a principal other
than P holds against P too.

A composed edge carries grants of several principals (`Grant.principal` names who calls when it
is not P); its alternatives are the product of one shortest path to each member it uses and the
step's own ways, so cutting any one of them cuts it. The edge is given to the *meeting point*: a
P none of whose successors (outside P's strongly connected component) can compose the same
(A, B) or (A, G) — P's predecessors reach admin through it, as through any other edge.

A helper A that can rewrite more than MAX_TARGETS members of S(P) gives P one edge for A (`via`
`*?by=A`, `Composer.helper_edge`), cut on every last step into A, instead of one per member:
writers of `role/*` that many principals can act as gave |writers| x |S(P)| edges. Every source
keeps its own such edge (no meeting point: the key stands for other members at each source).

Cost: only rewriters that do not already reach an admin unconditionally are considered
(anything that reaches those is a finding anyway; a plan cutting them re-examines them in
verification); their ancestors come from the same outward growth as the findings; reachability
is one bitset per principal over the strongly connected components.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain
from typing import TypeGuard

from deescalate.analysis.admins import boundary_caps, identity_policies
from deescalate.analysis.edges.base import Alternative, EdgeContext, Principal
from deescalate.analysis.edges.direct import DIRECT, TO_PRINCIPALS, direct_edges, ordered, summarised
from deescalate.analysis.edges.iam_self import admin_policies, attach, own_managed_policies
from deescalate.analysis.edges.trust import admits
from deescalate.analysis.edges.whatif import (
    REOPENS,
    Removal,
    boundary_lift,
    own_removals,
    plans_own,
    reopening,
    what_if,
)
from deescalate.analysis.reuse import Reuse
from deescalate.arn import account_of, partition_of
from deescalate.model import ADMIN, Edge, Effect, Grant, Group, Role, Snapshot, User
from deescalate.policy.context import SESSION_ONLY_KEYS

# Actions by which one principal rewrites another's permissions or a group's.
REWRITE_ACTIONS = (
    "iam:AttachUserPolicy",
    "iam:PutUserPolicy",
    "iam:AttachRolePolicy",
    "iam:PutRolePolicy",
    "iam:CreatePolicyVersion",
    "iam:AttachGroupPolicy",
    "iam:PutGroupPolicy",
)
# Actions by which one principal removes another's protections (deny policies, groups, boundary).
REMOVE_ACTIONS = (
    "iam:DeleteUserPolicy",
    "iam:DetachUserPolicy",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:DeleteGroupPolicy",
    "iam:DetachGroupPolicy",
    "iam:RemoveUserFromGroup",
    "iam:DeleteUserPermissionsBoundary",
    "iam:PutUserPermissionsBoundary",
    "iam:DeleteRolePermissionsBoundary",
    "iam:PutRolePermissionsBoundary",
)
# (how the source acts as T, how it rewrites T) -> technique id (techniques.csv), when P itself
# takes T over in one edge and rewrites it.
TABLE: dict[tuple[str, str], str] = {
    ("sts-001", "attach"): "iam-014",
    ("sts-001", "version"): "iam-016",
    ("sts-001", "put"): "iam-017",
    ("iam-002", "attach"): "iam-015",
    ("iam-002", "put"): "iam-018",
    ("iam-012", "attach"): "iam-019",
    ("iam-012", "version"): "iam-020",
    ("iam-012", "put"): "iam-021",
}
MAX_ALTERNATIVES = 64  # per composed edge; beyond it path grants are dropped (a valid, coarser cut)
MAX_WAYS = 4  # ways to get a controlled user into a rewritten group, per edge
MAX_ROUTES = 4  # last steps into a member listed as ways to reach it (more: cut at the rewrite)
# A helper that can rewrite more members of S(P) than this gets one edge from P (`*?by=helper`),
# cut on every last step into the helper (past MAX_HELPER_ROUTES: by the helper's pattern denies),
# not one per member: a writer of `role/*` that many principals can act as gave |writers| x |S(P)|.
MAX_TARGETS = 4
MAX_HELPER_ROUTES = 64  # ways of the last steps into such a helper listed (more: only the helper's cut)

_HOW_TEXT = {
    "attach": "attaches an admin policy to",
    "put": "puts an inline admin policy on",
    "version": "writes a new default version of a policy attached to",
}


def _short(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


def _self_only(resource: str, principal: Principal) -> bool:
    return resource == principal.arn or (
        isinstance(principal, User) and resource.endswith(":user/${aws:username}")
    )


def _inert(snapshot: Snapshot, principal: Principal, changed: Snapshot) -> bool:
    """Whether every Deny statement the change takes away from `principal` has a condition on a
    key only the live request carries (`SESSION_ONLY_KEYS`: "force MFA" policies): such a Deny is
    never definite offline and does not count against admin (`admin_reason`), so taking it away
    adds no edge. A boundary change is never inert."""
    after = changed.users.get(principal.arn) or changed.roles.get(principal.arn)
    if after is None or after.boundary_arn != principal.boundary_arn:
        return False
    kept = {id(p) for p in identity_policies(changed, after)}
    return all(
        any(c.key.lower() in SESSION_ONLY_KEYS for c in st.conditions)
        for pol in identity_policies(snapshot, principal)
        if id(pol) not in kept
        for st in pol.statements
        if st.effect is Effect.DENY
    )


def may_touch_others(ctx: EdgeContext, principal: Principal, actions: Sequence[str]) -> bool:
    """Cheap prefilter: could an Allow let the principal call one of `actions` on another resource?

    Policies that allow rewriting only the principal itself (its own ARN, `user/${aws:username}`)
    are the self-escalation techniques' business, not composition's.
    """
    wanted = [a for a in actions if ctx.may(principal.arn, a)]
    if not wanted:
        return False
    arns = list(principal.managed_policy_arns)
    if isinstance(principal, User):
        for garn in principal.group_arns:
            group = ctx.snapshot.groups.get(garn)
            if group is None:
                return True
            arns.extend(group.managed_policy_arns)
    if any(a not in ctx.snapshot.policies for a in arns):
        return True  # a policy the snapshot lacks could allow anything
    for pol in identity_policies(ctx.snapshot, principal):
        for st in pol.statements:
            if st.effect is not Effect.ALLOW:
                continue
            hits = any(admits(st.actions, st.not_actions, a) for a in wanted)
            if not hits:
                continue
            if st.resources is None or any(not _self_only(r, principal) for r in st.resources):
                return True
    return False


@dataclass(slots=True)
class _Graph:
    """The principal -> principal edges composition walks, and reachability as bitsets."""

    out: dict[str, list[Edge]] = field(default_factory=dict)
    index: dict[str, int] = field(default_factory=dict)
    nodes: list[str] = field(default_factory=list)
    reach: dict[str, int] = field(default_factory=dict)  # node -> bitset of S(node)
    # target -> (bit of the source, edge) of the edges into it from other principals
    into: dict[str, list[tuple[int, Edge]]] = field(default_factory=dict)
    scc: dict[str, int] = field(default_factory=dict)
    comp_bits: list[int] = field(default_factory=list)  # component -> bitset of its members

    def bit(self, arn: str) -> int:
        i = self.index.get(arn)
        return 0 if i is None else 1 << i

    def firsts(self, arns: Iterable[str]) -> dict[int, str]:
        """Each component's first member by ARN among `arns`."""
        out: dict[int, str] = {}
        for arn in sorted(arns):
            out.setdefault(self.scc[arn], arn)
        return out

    def members(self, mask: int) -> Iterator[str]:
        while mask:
            low = mask & -mask
            yield self.nodes[low.bit_length() - 1]
            mask ^= low


def _sccs(nodes: Sequence[str], out: dict[str, list[Edge]]) -> tuple[dict[str, int], list[list[str]]]:
    """Tarjan's algorithm, iterative; components come out in reverse topological order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on: set[str] = set()
    stack: list[str] = []
    comp_of: dict[str, int] = {}
    comps: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on.add(node)
            succs = out.get(node, ())
            recurse = False
            while i < len(succs):
                nxt = succs[i].target
                i += 1
                if nxt not in index:
                    work.append((node, i))
                    work.append((nxt, 0))
                    recurse = True
                    break
                if nxt in on:
                    low[node] = min(low[node], index[nxt])
            if recurse:
                continue
            if low[node] == index[node]:
                comp: list[str] = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp_of[w] = len(comps)
                    comp.append(w)
                    if w == node:
                        break
                comps.append(comp)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return comp_of, comps


@dataclass(frozen=True, slots=True)
class _WayParts:
    """The users of S(arn) in or out of one group, and its joiners in S(arn): each kind's count
    and its nearest few as (path length, ARN) (Composer._group_ways)."""

    members: list[tuple[int, str]]
    member_count: int
    others: list[tuple[int, str]]
    other_count: int
    joiners: list[tuple[int, str]]
    joiner_count: int


class Composer:
    """One analysis run's composition stage (see the module docstring)."""

    def __init__(
        self,
        ctx: EdgeContext,
        sources: Sequence[Principal],
        found: dict[str, Edge],
        reuse: Reuse | None = None,
        *,
        exact: bool = True,
    ) -> None:
        self.ctx = ctx.for_round(None)  # composition asks for edges into every principal
        self.reuse = reuse
        self.sources = {p.arn: p for p in sources}
        self.found = found
        self.g = _Graph()
        self._rewrites: dict[tuple[str, str], dict[str, Edge]] = {}
        self._groups: dict[tuple[str, str], Edge | None] = {}
        self._joins: dict[tuple[str, str], Edge | None] = {}
        self._trees: dict[tuple[str, bool], dict[str, Edge]] = {}
        self._ways: dict[tuple[str, str, str], tuple[int, list[tuple[str | None, str]]]] = {}
        self._users: dict[str, list[User]] = {}
        self._may_join: int | None = None
        self._dists: dict[str, dict[str, int]] = {}
        self._parts: dict[tuple[str, str], _WayParts] = {}
        # (P, helper) -> some members it rewrites, and one it rewrites without a condition (or None)
        self._helped: dict[tuple[str, str], tuple[list[str], str | None]] = {}
        self._into: dict[tuple[str, str], list[Alternative]] = {}
        self._opens: dict[tuple[str, str, str], bool] = {}
        # Protections a member holds (removals_of_others): arn -> (technique, removal), and per
        # (remover, owner, via) the remover's way to take one away; per (owner, via) what it restores
        self._held: dict[str, list[tuple[str, Removal, bool]]] = {}
        self._group_removals: dict[str, list[Removal]] = {}
        self._removes: dict[tuple[str, str, str], Edge | None] = {}
        self._restored: dict[tuple[str, str], list[Edge]] = {}
        self.prior: dict[str, list[Edge]] = {}  # the edges found before composition, by source
        for e in found.values():
            self.prior.setdefault(e.source, []).append(e)
        self._escalating_ctx: EdgeContext | None = None
        self._route_cache: dict[tuple[str, str], list[Alternative]] = {}  # route_alts, kept
        # Whether a many-target helper's edge must say exactly whether it is conditional (False in
        # a verification analysis: it only asks whether any edge is left; principal_keys)
        self.exact = exact

    # ------------------------------------------------------------------ the graph

    def out_edges(self, arn: str) -> list[Edge]:
        hit = self.g.out.get(arn)
        if hit is not None:
            return hit
        source = self.sources.get(arn)
        if source is None:
            hit = self.g.out[arn] = []
            return hit
        if self.reuse is not None:
            hit = self.reuse.out_edges(self.ctx.snapshot, source, lambda: self._out_edges(source))
        else:
            hit = self._out_edges(source)
        self.g.out[arn] = hit
        return hit

    def _out_edges(self, source: Principal) -> list[Edge]:
        edges: dict[str, Edge] = {}
        # A summarised conditional-wildcard holder (edges/wildcards.py): its edges to others are
        # those of the snapshot without its conditional wildcards.
        summary = summarised(self.ctx, source)
        ctx, source = (self.ctx, source) if summary is None else summary[:2]
        for e in direct_edges(ctx, source, DIRECT if summary is None else TO_PRINCIPALS).values():
            if e.target != ADMIN and e.target in self.ctx.principals:
                edges[e.id] = e
        return ordered(edges.values())

    def build(self, roots: Iterable[str], found_out: dict[str, list[Edge]]) -> None:
        """Every principal reachable from `roots`, with all its principal -> principal edges."""
        order: list[str] = []
        seen: set[str] = set()
        queue = deque(sorted(roots))
        seen.update(queue)
        while queue:
            node = queue.popleft()
            order.append(node)
            extra = [
                e for e in found_out.get(node, ()) if e.target != ADMIN and e.target in self.ctx.principals
            ]
            if extra:
                self.g.out[node] = ordered({e.id: e for e in (*self.out_edges(node), *extra)}.values())
            else:  # out_edges is in that order already, one edge per id
                self.g.out[node] = self.out_edges(node)
            for e in self.g.out[node]:
                if e.target not in seen:
                    seen.add(e.target)
                    queue.append(e.target)
        self.g.nodes = order
        self.g.index = {arn: i for i, arn in enumerate(order)}
        for node in order:
            bit = self.g.bit(node)
            for e in self.g.out.get(node, ()):
                if e.target != node:
                    self.g.into.setdefault(e.target, []).append((bit, e))
        comp_of, comps = _sccs(order, self.g.out)
        self.g.scc = comp_of
        comp_reach: list[int] = []
        for comp in comps:  # successors' components come first
            mask = 0
            for node in comp:
                mask |= self.g.bit(node)
            self.g.comp_bits.append(mask)
            for node in comp:
                for e in self.g.out.get(node, ()):
                    c = comp_of[e.target]
                    if c != comp_of[node]:
                        mask |= comp_reach[c]
            comp_reach.append(mask)
        self.g.reach = {node: comp_reach[comp_of[node]] for node in order}

    def _tree(self, start: str, firm: bool) -> dict[str, Edge]:
        key = (start, firm)
        hit = self._trees.get(key)
        if hit is None:
            hit = {}
            seen = {start}
            queue = deque([start])
            while queue:
                node = queue.popleft()
                for e in self.g.out.get(node, ()):
                    if (firm and e.conditional) or e.target in seen:
                        continue
                    seen.add(e.target)
                    hit[e.target] = e
                    queue.append(e.target)
            self._trees[key] = hit
        return hit

    def path(self, start: str, end: str) -> tuple[Edge, ...]:
        """A shortest path in the graph, through unconditional edges when there is one."""
        if start == end:
            return ()
        for firm in (True, False):
            parent = self._tree(start, firm)
            if end in parent:
                steps: list[Edge] = []
                node = end
                while node != start:
                    steps.append(parent[node])
                    node = parent[node].source
                return tuple(reversed(steps))
        return ()

    # ------------------------------------------------------------------ the steps, decided once

    def rewrites(self, actor: Principal, target: Principal) -> dict[str, Edge]:
        """How `actor` can give `target` an admin policy: "attach" / "put" / "version" -> its edge."""
        key = (actor.arn, target.arn)
        hit = self._rewrites.get(key)
        if hit is not None:
            return hit
        out: dict[str, Edge] = {}
        kind = "Role" if isinstance(target, Role) else "User"
        attaches = self._open(actor.arn, f"iam:Attach{kind}Policy", target.arn)
        puts = self._open(actor.arn, f"iam:Put{kind}Policy", target.arn)
        versions_open = self.ctx.may(actor.arn, "iam:CreatePolicyVersion")
        if (
            (attaches or puts or versions_open)
            and target.arn != actor.arn
            and target.arn not in self.ctx.admins
            and not (isinstance(target, Role) and target.is_service_linked)
            and boundary_caps(self.ctx.snapshot, target) is None
        ):
            ways: list[tuple[str, list[Alternative]]] = []
            if attaches:
                policies = admin_policies(self.ctx, target.account_id)
                ways.append(("attach", attach(f"iam:Attach{kind}Policy", target.arn, policies)))
            if puts:
                ways.append(("put", [(Grant(action=f"iam:Put{kind}Policy", resource=target.arn),)]))
            if versions_open:
                versions: list[Alternative] = [
                    (Grant(action="iam:CreatePolicyVersion", resource=mp.arn),)
                    for mp in own_managed_policies(self.ctx, target)
                    if self._open(actor.arn, "iam:CreatePolicyVersion", mp.arn)
                ]
                if versions:
                    ways.append(("version", versions))
            for how, candidates in ways:
                e = self.ctx.edge(
                    source=actor.arn, target=ADMIN, technique=how, candidates=candidates, always=True
                )
                if e is not None:
                    out[how] = e
        self._rewrites[key] = out
        return out

    def _open(self, actor: str, action: str, resource: str) -> bool:
        """False when `actor` may not call `action` at all, or an unconditional Deny of its own
        covers every ARN of `resource`'s type (`arn:...:role/`: a plan's deny widened to `role/*`
        is one, and the helper's many targets are then not asked one by one). True otherwise: the
        request itself is decided as before (a superset filter, like `may`)."""
        head, slash, _ = resource.partition("/")
        key = (actor, action, head + slash)
        hit = self._opens.get(key)
        if hit is None:
            hit = self._opens[key] = self.ctx.may(actor, action) and not self.ctx.authorizer.denies_every(
                actor, action, head + slash
            )
        return hit

    def group_rewrite(self, actor: Principal, group: Group) -> Edge | None:
        key = (actor.arn, group.arn)
        if key in self._groups:
            return self._groups[key]
        candidates: list[Alternative] = []
        if self.ctx.may(actor.arn, "iam:PutGroupPolicy"):
            candidates.append((Grant(action="iam:PutGroupPolicy", resource=group.arn),))
        if self.ctx.may(actor.arn, "iam:AttachGroupPolicy"):
            account = account_of(group.arn)
            candidates.extend(attach("iam:AttachGroupPolicy", group.arn, admin_policies(self.ctx, account)))
        if self.ctx.may(actor.arn, "iam:CreatePolicyVersion"):
            for arn in group.managed_policy_arns:
                mp = self.ctx.snapshot.policies.get(arn)
                if mp is not None and not mp.aws_managed:
                    candidates.append((Grant(action="iam:CreatePolicyVersion", resource=arn),))
        e = None
        if candidates:
            e = self.ctx.edge(
                source=actor.arn, target=ADMIN, technique="group", candidates=candidates, always=True
            )
        self._groups[key] = e
        return e

    def join(self, actor: str, group: str) -> Edge | None:
        key = (actor, group)
        if key in self._joins:
            return self._joins[key]
        e = None
        if self.ctx.may(actor, "iam:AddUserToGroup"):
            e = self.ctx.edge(
                source=actor,
                target=ADMIN,
                technique="join",
                candidates=[(Grant(action="iam:AddUserToGroup", resource=group),)],
                always=True,
            )
        self._joins[key] = e
        return e

    # ------------------------------------------------------------------ composing

    def _owned(self, source: str, owner: str, alt: Alternative) -> Alternative:
        """The grants of `owner`'s step as seen from `source` (its own grants name no principal)."""
        out: list[Grant] = []
        for g in alt:
            who = g.principal or owner
            who = "" if who == source else who
            out.append(g if g.principal == who else replace(g, principal=who))
        return tuple(out)

    def _path_alts(self, source: str, path: Sequence[Edge]) -> list[Alternative]:
        alts: list[Alternative] = [()]
        for e in path:
            alts = [(*a, *self._owned(source, e.source, b)) for a in alts for b in e.alternatives]
        return alts

    def route_alts(self, source: str, end: str) -> list[Alternative]:
        """The ways `source` gets to act as `end`, as alternatives of grants.

        Every last step into `end` from a principal `source` can act as counts (each after one
        shortest path to that principal), so denying one route does not leave another open for the
        next verification round to find. With more than MAX_ROUTES such steps, the routes cannot be
        the cut: no path grant is listed (the composition is then cut at its own step).
        """
        if source == end:
            return [()]
        hit = self._route_cache.get((source, end))
        if hit is not None:
            return hit
        steps = self._last_steps(source, end)
        if not steps or len(steps) > MAX_ROUTES:
            hit = self._route_cache[(source, end)] = [()]
            return hit
        alts: dict[Alternative, None] = {}  # an insertion-ordered set
        for e in steps:
            before = self._path_alts(source, self.path(source, e.source))
            for a in before:
                for b in self._edge_alts(source, e):
                    alts[(*a, *(g for g in b if g not in a))] = None
        hit = self._route_cache[(source, end)] = list(alts)
        return hit

    def _edge_alts(self, source: str, e: Edge) -> list[Alternative]:
        return [self._owned(source, e.source, alt) for alt in e.alternatives]

    def compose_edge(
        self,
        source: str,
        *,
        parts: Sequence[list[Alternative]],
        optional: Sequence[int],
        conditional: Sequence[Edge],
        technique: str,
        via: str,
        description: str,
        target: str = ADMIN,
    ) -> Edge:
        """The product of the parts' alternatives (an alternative = one of each part, joined)."""
        chosen = list(parts)
        size = 1
        for p in chosen:
            size *= max(1, len(p))
        for i in optional:  # path parts, dropped (a coarser but valid cut) when the product is too big
            if size <= MAX_ALTERNATIVES:
                break
            size //= max(1, len(chosen[i]))
            chosen[i] = [()]
        alts: list[Alternative] = [()]
        for p in chosen:
            alts = [(*a, *(g for g in b if g not in a)) for a in alts for b in p]
        unique = list(dict.fromkeys(alts))[:MAX_ALTERNATIVES * 4]
        conditions: list[str] = []
        for e in conditional:
            conditions.extend(c for c in e.conditions if c not in conditions)
        return Edge(
            source=source,
            target=target,
            technique=technique,
            alternatives=tuple(unique),
            via=via,
            conditions=tuple(conditions),
            description=description,
        )

    def _steps(self, path: Sequence[Edge]) -> str:
        return ", then ".join(e.description or f"{e.technique} to {_short(e.target)}" for e in path)

    def principal_keys(self, arn: str, actors: int) -> Iterator[tuple[str, str]]:
        """(A, B): A of S(arn) can rewrite B of S(arn); (A, "*") when A is a helper (not arn) that
        can rewrite more than MAX_TARGETS of them (`helper_edge`)."""
        mask = self.g.reach.get(arn, 0)
        # Members reached without a condition first (arn itself, then its firm tree in BFS order):
        # only they can make a helper's edge unconditional, and a helper's scan stops as soon as
        # it has more than MAX_TARGETS members and one of them rewritten without a condition (in a
        # verification analysis, which only asks whether an edge is left, at MAX_TARGETS + 1).
        tree = self._tree(arn, True)
        for a in self.g.members(mask & actors):
            actor = self.ctx.principals[a]
            coarse = a != arn
            found: list[str] = []
            sure: str | None = None  # a member reached and rewritten without a condition
            for b in chain((arn,), tree):
                ways = self._rewrites_of(actor, b)
                if ways:
                    found.append(b)
                    if coarse and sure is None and not any(e.conditional for e in ways.values()):
                        sure = b  # as a per-member edge, unconditional only when every way is
                    if coarse and len(found) > MAX_TARGETS and (sure is not None or not self.exact):
                        break
            if not (coarse and len(found) > MAX_TARGETS):
                for b in self.g.members(mask):
                    if b != arn and b not in tree and self._rewrites_of(actor, b):
                        found.append(b)
                        if coarse and len(found) > MAX_TARGETS:
                            break
            if coarse and len(found) > MAX_TARGETS:
                self._helped[(arn, a)] = (found[: MAX_TARGETS + 1], sure)
                yield a, "*"
            else:
                yield from ((a, b) for b in found)

    def _rewrites_of(self, actor: Principal, arn: str) -> dict[str, Edge]:
        target = self.ctx.principals.get(arn)
        return {} if target is None else self.rewrites(actor, target)

    def _steps_into(self, source: str, end: str) -> list[Alternative]:
        """The grants of each last step into `end` from a member of S(source), one alternative each."""
        key = (source, end)
        hit = self._into.get(key)
        if hit is None:
            steps = self._last_steps(source, end)
            hit = self._into[key] = list(dict.fromkeys(a for e in steps for a in self._edge_alts(source, e)))
        return hit

    def _last_steps(self, source: str, end: str) -> list[Edge]:
        """The edges into `end` from members of S(source)."""
        mask = self.g.reach.get(source, 0)
        return [e for b, e in self.g.into.get(end, ()) if mask & b]

    def group_ways(self, arn: str, group: Group, actor: str) -> tuple[int, list[tuple[str | None, str]]]:
        """How many (joiner or None for a member, user) pairs put a controlled user in `group`, and
        the nearest MAX_WAYS + 1 of them, nearest first (more than MAX_WAYS are never listed)."""
        key = (arn, group.arn, actor)
        hit = self._ways.get(key)
        if hit is None:
            hit = self._ways[key] = self._group_ways(arn, group, actor)
        return hit

    def _users_of(self, arn: str) -> list[User]:
        """The users of S(arn) a group rewrite can make admin (no admin, no capping boundary)."""
        hit = self._users.get(arn)
        if hit is None:
            hit = self._users[arn] = [
                u
                for u in (self.ctx.principals.get(x) for x in self.g.members(self.g.reach.get(arn, 0)))
                if self._eligible(u)
            ]
        return hit

    def _joinable(self) -> int:
        """The graph's principals that may call iam:AddUserToGroup at all (`join`'s prefilter)."""
        if self._may_join is None:
            mask = 0
            for node in self.g.nodes:
                if self.ctx.may(node, "iam:AddUserToGroup"):
                    mask |= self.g.bit(node)
            self._may_join = mask
        return self._may_join

    def _dist(self, start: str) -> dict[str, int]:
        """len(self.path(start, x)) for every x reachable from `start`: the firm tree's depth
        where x is in it, else the whole graph's."""
        hit = self._dists.get(start)
        if hit is None:
            hit = {}
            for firm in (False, True):  # the firm tree's depths override
                depth = {start: 0}
                for node, e in self._tree(start, firm).items():  # BFS order: a parent comes first
                    depth[node] = depth[e.source] + 1
                hit.update(depth)
            hit[start] = 0
            self._dists[start] = hit
        return hit

    def _eligible(self, u: Principal | None) -> TypeGuard[User]:
        """Whether `u` is a user a group rewrite can make admin: not an admin, no capping boundary."""
        return (isinstance(u, User) and u.arn not in self.ctx.admins
                and boundary_caps(self.ctx.snapshot, u) is None)

    def _way_parts(self, arn: str, group: Group) -> _WayParts:
        """What every actor's `group_ways(arn, group, actor)` is made of, nearest first."""
        key = (arn, group.arn)
        hit = self._parts.get(key)
        if hit is not None:
            return hit
        dist = self._dist(arn)
        keep = MAX_WAYS + 1
        members: list[tuple[int, str]] = []
        others: list[tuple[int, str]] = []
        for u in self._users_of(arn):
            (members if group.arn in u.group_arns else others).append((dist.get(u.arn, 0), u.arn))
        joiners = [
            (dist.get(c, 0), c)
            for c in self.g.members(self.g.reach.get(arn, 0) & self._joinable())
            if self.join(c, group.arn) is not None
        ]

        def nearest(ways: list[tuple[int, str]], n: int) -> list[tuple[int, str]]:
            return heapq.nsmallest(n, ways, key=lambda w: (w[0], w[1] != arn, w[1]))

        hit = self._parts[key] = _WayParts(
            members=nearest(members, keep + 1),  # one more: the actor itself is left out
            member_count=len(members),
            others=nearest(others, keep),
            other_count=len(others),
            joiners=nearest(joiners, keep),
            joiner_count=len(joiners),
        )
        return hit

    def _group_ways(self, arn: str, group: Group, actor: str) -> tuple[int, list[tuple[str | None, str]]]:
        """Every way is (joiner or None, user): a member of `group` in S(arn) other than the actor
        (the actor rewriting its own group is iam-010/iam-011), or a joiner of S(arn) adding a
        non-member of S(arn). Ranked by (path lengths, user is not arn, joiner is not arn, user,
        joiner); only the nearest MAX_WAYS + 1 are listed, and those can only pair one of the
        MAX_WAYS + 1 nearest non-members with one of the MAX_WAYS + 1 nearest joiners (for a fixed
        user, joiners rank by their own key; for a fixed joiner, users do), so no more are ranked."""
        parts = self._way_parts(arn, group)
        who = self.ctx.principals.get(actor)
        actor_member = self._eligible(who) and group.arn in who.group_arns
        ways: list[tuple[int, str | None, str]] = [(d, None, u) for d, u in parts.members if u != actor]
        ways.extend((du + dc, c, u) for du, u in parts.others for dc, c in parts.joiners)
        nearest = heapq.nsmallest(
            MAX_WAYS + 1, ways, key=lambda w: (w[0], w[2] != arn, w[1] != arn, w[2], w[1] or "")
        )
        count = parts.member_count - (1 if actor_member else 0) + parts.other_count * parts.joiner_count
        return count, [(c, u) for _, c, u in nearest]

    def group_keys(self, arn: str, actors: int) -> Iterator[tuple[str, str]]:
        if not self._users_of(arn):
            return  # no user of S(arn) to make admin through a group: every group_ways count is 0
        mask = self.g.reach.get(arn, 0)
        for a in self.g.members(mask & actors):
            actor = self.ctx.principals[a]
            for garn in sorted(self.ctx.snapshot.groups):
                group = self.ctx.snapshot.groups[garn]
                if self.group_rewrite(actor, group) is not None and self.group_ways(arn, group, a)[0]:
                    yield a, garn

    def principal_edges(self, source: str, actor: str, target: str) -> Iterator[Edge]:
        to_actor = self.path(source, actor)
        to_target = self.path(source, target)
        ways = self.rewrites(self.ctx.principals[actor], self.ctx.principals[target])
        who = f"{_short(actor)}, which it can act as ({self._steps(to_actor)})," if to_actor else "it"
        took = f"which it can act as ({self._steps(to_target)})" if to_target else "itself"
        groups: list[tuple[str, list[str]]] = []
        if actor == source and len(to_target) == 1 and any(
            (to_target[0].technique, how) in TABLE for how in ways
        ):
            for how in ways:
                tid = TABLE.get((to_target[0].technique, how), "X-TakeoverRewrite")
                groups.append((tid, [how]))
        else:
            groups.append(("X-TakeoverRewrite" if actor == source else "X-HelperRewrite", list(ways)))
        merged: dict[str, list[str]] = {}
        for tid, hows in groups:
            merged.setdefault(tid, []).extend(hows)
        for tid, hows in sorted(merged.items()):
            rewrite_alts = [a for how in hows for a in self._edge_alts(source, ways[how])]
            text = " or ".join(_HOW_TEXT[h] for h in hows)
            yield self.compose_edge(
                source,
                parts=[self.route_alts(source, actor), rewrite_alts, self.route_alts(source, target)],
                optional=[2, 0],
                conditional=[*to_actor, *(ways[h] for h in hows), *to_target],
                technique=tid,
                via=target if actor == source else f"{target}?by={actor}",
                description=f"{who} {text} {_short(target)}, {took}: admin",
            )

    def helper_edge(self, source: str, actor: str) -> Edge:
        """A helper that can rewrite many principals `source` can act as (principal_keys' (A, "*")).

        The edge is cut when no member of S(source) can take a last step into the helper: each
        such step's grants are an alternative, so denying them all keeps the helper out of
        S(source) whatever the paths to the steps' sources (no later verification round finds
        another path), and the helper keeps its everyday work. With more than MAX_HELPER_ROUTES
        ways into the helper (the source can act as a crowd that can each take it over), the
        steps are not listed: the cut is then the helper's own rewrite actions on every user, role
        or customer managed policy of the accounts involved (pattern denies). Offering both ends
        at once made each edge a steps x actions product whose exact cover the planner's search
        took 29 s to prove at 3,000 principals."""
        sample, sure = self._helped[(source, actor)]
        routes = self._steps_into(source, actor)
        to_actor = self.path(source, actor)
        ways: list[Alternative] = [()]
        if len(routes) > MAX_HELPER_ROUTES:
            routes, ways = [()], []
            partition = partition_of(actor)
            for account in sorted({account_of(b) for b in sample} | {account_of(actor)}):
                for action, kind in (
                    ("iam:AttachUserPolicy", "user"),
                    ("iam:PutUserPolicy", "user"),
                    ("iam:AttachRolePolicy", "role"),
                    ("iam:PutRolePolicy", "role"),
                    ("iam:CreatePolicyVersion", "policy"),
                ):
                    if self.ctx.may(actor, action):
                        resource = f"arn:{partition}:iam::{account}:{kind}/*"
                        ways.append((Grant(action=action, resource=resource, principal=actor),))
        # Conditions: none when some member is reached and rewritten without one (principal_keys'
        # `sure`), else those of every listed member's path and rewrite.
        used: list[Edge] = [*to_actor]
        for b in [sure] if sure is not None else sample:
            rewrite = self.rewrites(self.ctx.principals[actor], self.ctx.principals[b]).values()
            used.extend(self.path(source, b))
            used.extend(rewrite)
        named = ", ".join(_short(b) for b in sample[:3])
        return self.compose_edge(
            source,
            parts=[routes, ways],
            optional=[],
            conditional=used,
            technique="X-HelperRewrite",
            via=f"*?by={actor}",
            description=f"{_short(actor)}, which it can act as ({self._steps(to_actor)}), can give an "
            f"admin policy to more than {MAX_TARGETS} principals it can act as ({named}, ...): admin",
        )

    def group_edge(self, source: str, actor: str, garn: str) -> Edge:
        group = self.ctx.snapshot.groups[garn]
        rewrite = self.group_rewrite(self.ctx.principals[actor], group)
        assert rewrite is not None
        to_actor = self.path(source, actor)
        ways_alts: list[Alternative] = []
        used: list[Edge] = [*to_actor, rewrite]
        texts: list[str] = []
        count, ways = self.group_ways(source, group, actor)
        if count > MAX_WAYS:
            # So many users it could have in the group that they cannot be the cut: the way is
            # listed without their grants, and the composition is cut at the group's rewrite.
            joiner, user = ways[0]
            used.extend(self.path(source, user))
            if joiner is not None:
                join = self.join(joiner, garn)
                assert join is not None
                used.extend((*self.path(source, joiner), join))
            texts.append(f"any of {count} ways puts a user it can act as in it")
            ways_alts.append(())
        for n, (joiner, user) in enumerate(ways if count <= MAX_WAYS else ()):
            part = self.route_alts(source, user)
            if n == 0:  # the conditions of the best way (ways are alternatives: one suffices)
                used.extend(self.path(source, user))
            if joiner is not None:
                join = self.join(joiner, garn)
                assert join is not None
                if n == 0:
                    used.extend((*self.path(source, joiner), join))
                part = [
                    (*a, *b, *c)
                    for a in self.route_alts(source, joiner)
                    for b in self._edge_alts(source, join)
                    for c in part
                ]
                texts.append(f"{_short(joiner)} adds {_short(user)} to it")
            else:
                texts.append(f"{_short(user)} is in it")
            ways_alts.extend(part)
        who = f"{_short(actor)}, which it can act as ({self._steps(to_actor)})," if to_actor else "it"
        return self.compose_edge(
            source,
            parts=[self.route_alts(source, actor), self._edge_alts(source, rewrite), ways_alts],
            optional=[0],
            conditional=used,
            technique="X-GroupRewrite",
            via=garn if actor == source else f"{garn}?by={actor}",
            description=f"{who} gives group {group.name} an admin policy, and "
            + " or ".join(texts)
            + " (a user it can act as): admin",
        )

    def helper_removals(self, source: Principal, helpers: int, prior: Sequence[Edge]) -> Iterator[Edge]:
        """Another member R of S(source) removes one of source's protections (X-RemoveDeny/X-Boundary)."""
        mask = self.g.reach.get(source.arn, 0) & ~self.g.bit(source.arn)
        others = list(self.g.members(mask & helpers))
        if not others:
            return
        summary = summarised(self.ctx, source)
        ctx, source = (self.ctx, source) if summary is None else summary[:2]
        changes_of: list[tuple[str, Removal]] = [("X-RemoveDeny", r) for r in own_removals(ctx, source)]
        lift = boundary_lift(ctx, source)
        if lift is not None:
            changes_of.append(("X-Boundary", lift))
        for technique, (changed, changes, via, description) in changes_of:
            alts: list[Alternative] = []
            for r in others:
                path = self.route_alts(source.arn, r)
                for change in changes:
                    mine = tuple(replace(g, principal=r) for g in change)
                    alts.extend((*p, *mine) for p in path)
            if plans_own(ctx.snapshot, source, via):
                # The plan's own deny: whatever it cut, composition included, opens again.
                yield from reopening(
                    ctx, source, technique=technique, candidates=alts, via=via,
                    description=f"{description} (by a principal it can act as)", always=True,
                )
                continue
            yield from what_if(
                ctx,
                source,
                prior,
                changed,
                technique=technique,
                changes=alts,
                via=via,
                description=f"{description} (by a principal it can act as)",
            )

    # ------------------------------------------------------------------ removals of others' protections

    def held(self, arn: str) -> list[tuple[str, Removal, bool]]:
        """The protections of `arn` another principal could take away: each policy holding a Deny
        (its own, its groups'), its membership of a group holding one, its boundary; as (technique,
        removal, whether it is one of the plan's own policies: `plans_own`)."""
        hit = self._held.get(arn)
        if hit is None:
            hit = []
            principal = self.sources.get(arn)
            if principal is not None:
                summary = summarised(self.ctx, principal)
                ctx, view = (self.ctx, principal) if summary is None else summary[:2]
                cache = self._group_removals if summary is None else None
                changes: list[tuple[str, Removal]] = [
                    ("X-RemoveDeny", r) for r in own_removals(ctx, view, cache)
                    if not _inert(ctx.snapshot, view, r[0])
                ]
                lift = boundary_lift(ctx, view)
                if lift is not None:
                    changes.append(("X-Boundary", lift))
                hit.extend((t, r, plans_own(self.ctx.snapshot, principal, r[2])) for t, r in changes)
            self._held[arn] = hit
        return hit

    def _removal_by(self, remover: str, owner: str, via: str, changes: Sequence[Alternative]) -> Edge | None:
        """`remover`'s ways to make one change (`changes`, alternatives) to `owner`'s protections."""
        key = (remover, owner, via)
        if key in self._removes:
            return self._removes[key]
        candidates = [a for a in changes if all(self._open(remover, g.action, g.resource) for g in a)]
        e = None
        if candidates:
            e = self.ctx.edge(
                source=remover, target=ADMIN, technique="remove", candidates=candidates, always=True
            )
        self._removes[key] = e
        return e

    def _restores(self, owner: str, technique: str, removal: Removal) -> list[Edge]:
        """The edges `owner` gains when `removal` takes one of its protections away (its what-if,
        with no gate: the ways to make the change are the remover's, added by the caller)."""
        changed, _, via, description = removal
        key = (owner, via)
        hit = self._restored.get(key)
        if hit is None:
            principal = self.ctx.principals[owner]
            wanted = self._escalating_ctx or self.ctx
            summary = summarised(wanted, principal)
            ctx, principal = (wanted, principal) if summary is None else summary[:2]
            prior = [*self.prior.get(owner, ()), *self.g.out.get(owner, ())]
            # A change to a group's policies is the same change for each member: one sub-analysis.
            head = via.partition("?")[0]
            shared = head if head in self.ctx.snapshot.groups and not via.endswith("?leave") else None
            # Taking a policy, a group or a boundary away never adds an Allow, and the checkers'
            # prefilter reads only Allows: the owner's own prefiltered checkers are a superset.
            checkers = None if summary is not None else self.ctx.applicable(principal, DIRECT)
            hit = self._restored[key] = list(
                what_if(
                    ctx, principal, prior, changed, technique=technique, changes=[()], via=via,
                    description=description, changed_key=shared, checkers=checkers,
                )
            )
        return hit

    def removals_of_others(self, removers: int, escalating: set[str]) -> Iterator[Edge]:
        """A member R of S(P) takes a protection away from another member Q (a Deny, a plan's
        `deescalate-…` policy included, or a boundary) that R could not reach through Q, and Q then
        gains an edge to ADMIN or to a principal in `escalating`: P gets an X-RemoveDeny /
        X-Boundary edge there. (Q's own removals, and those by members of S(Q), are Q's edges
        already; P's own protections are `helper_removals`.)

        The edge goes to the meeting point of (Q, R): a P none of whose successors outside its
        component can act as both (its predecessors reach admin through it); in a verification
        analysis to the component's first member by ARN only."""
        g = self.g
        # What a removal restores is asked only for edges into ADMIN and `escalating` (the others
        # are dropped anyway): a what-if per protection of every member is the cost here.
        self._escalating_ctx = self.ctx.for_round(frozenset(escalating) | {ADMIN})
        holding = 0
        for arn in g.nodes:
            if self.held(arn):
                holding |= g.bit(arn)
        if not holding:
            return
        firsts = set() if self.exact else set(g.firsts(a for a in g.nodes if a in self.sources).values())
        ancestors = self._ancestors()
        dead = 0  # owners none of whose protections gives anything back (`_live`)
        for arn in g.nodes:
            if arn not in self.sources or (not self.exact and arn not in firsts):
                continue
            mine = g.reach.get(arn, 0)
            able = mine & removers
            owners = mine & holding & ~g.bit(arn) & ~dead
            if not able or not owners:
                continue
            later = {
                g.reach[e.target] for e in g.out.get(arn, ()) if g.scc[e.target] != g.scc[arn]
            }
            extra: dict[str, int] = {}  # owner -> the removers arn has the edge for
            for r in g.members(able):
                rbit = g.bit(r)
                # owners R cannot reach through (else the owner's own edge), and no successor can
                # act as both (else that successor's edge)
                cover = ancestors[g.scc[r]]
                for s in later:
                    if s & rbit:
                        cover |= s
                for q in g.members(owners & ~cover):
                    extra[q] = extra.get(q, 0) | rbit
            for q in sorted(extra, key=g.index.__getitem__):
                if not self._live(q, escalating):
                    dead |= g.bit(q)
                    continue
                yield from self._removal_edges(arn, q, extra[q], escalating)

    def _ancestors(self) -> list[int]:
        """Per strongly connected component, the nodes that can act as its members (them included)."""
        g = self.g
        members: dict[int, list[str]] = {}
        for n in g.nodes:
            members.setdefault(g.scc[n], []).append(n)
        out = [0] * len(g.comp_bits)
        for c in reversed(range(len(g.comp_bits))):  # components come sinks first: predecessors now
            mask = g.comp_bits[c]
            for n in members.get(c, ()):
                for _, e in g.into.get(n, ()):
                    before = g.scc[e.source]
                    if before != c:
                        mask |= out[before]
            out[c] = mask
        return out

    def _live(self, owner: str, escalating: set[str]) -> bool:
        """Whether taking one of `owner`'s protections away can give anything back: one of the plan's
        own policies, or a what-if that restores an edge into ADMIN or `escalating`."""
        return any(
            own or any(e.target == ADMIN or e.target in escalating for e in self._restores(owner, t, removal))
            for t, removal, own in self.held(owner)
        )

    def _removal_edges(self, source: str, owner: str, removers: int, escalating: set[str]) -> Iterator[Edge]:
        for technique, removal, own in self.held(owner):
            _, changes, via, description = removal
            able = [
                (r, e) for r in self.g.members(removers)
                if (e := self._removal_by(r, owner, via, changes)) is not None
            ]
            if not able:
                continue
            # The plan's own deny policy: whatever it cut opens again, composed paths through the
            # owner included (an actor's rewrite, a step of a path), so its removal is an edge to
            # ADMIN. Another Deny: what the owner gains without it, into ADMIN or `escalating`.
            restored: list[Edge | None] = [None]
            if not own:
                restored = [
                    e for e in self._restores(owner, technique, removal)
                    if e.target == ADMIN or e.target in escalating
                ]
                if not restored:
                    continue
            gates: dict[Alternative, None] = {}  # an insertion-ordered set
            for r, e in able:
                for a in self.route_alts(source, r):
                    for b in self._edge_alts(source, e):
                        gates[(*a, *(x for x in b if x not in a))] = None
            if len(gates) > MAX_ALTERNATIVES:  # too many ways in: the cut is the removals themselves
                gates = dict.fromkeys(a for _, e in able for a in self._edge_alts(source, e))
            # Conditions: those of one remover's path and removal, an unconditional one if any.
            steps = [(*self.path(source, r), e) for r, e in able]
            best = next((s for s in steps if not any(x.conditional for x in s)), steps[0])
            to_owner = self.path(source, owner)
            names = [("it" if r == source else _short(r)) for r, _ in able]
            who = " or ".join(names[:3]) + (f" (or {len(names) - 3} more)" if len(names) > 3 else "")
            key = via if via.startswith(owner + "?") else f"{via}?of={owner}"
            head = f"for {_short(owner)}, which it can act as ({self._steps(to_owner)}), {who} can "
            head += description
            for gained in restored:
                yield self.compose_edge(
                    source,
                    # For the plan's own policy, only the removal is the cut (the remover's way
                    # there or its call), not the source's way to the owner: a deny on that way
                    # is a new plan policy some remover may delete again, and the plan moved
                    # from one such placement to the next until it ran out of rounds (review 4).
                    parts=[list(gates)] if gained is None else [
                        list(gates), self.route_alts(source, owner), self._edge_alts(source, gained)
                    ],
                    optional=[] if gained is None else [1],
                    conditional=[*best, *to_owner, *([] if gained is None else [gained])],
                    technique=technique,
                    via=key,
                    target=ADMIN if gained is None else gained.target,
                    description=f"{head}: {REOPENS}" if gained is None
                    else f"{head}; then {gained.description.rsplit('; then ', 1)[-1]}",
                )


def compose(
    ctx: EdgeContext,
    sources: Sequence[Principal],
    found: dict[str, Edge],
    *,
    actors: Sequence[str],
    removers: Sequence[str],
    escalating: set[str],
    reuse: Reuse | None = None,
    verification: bool = False,
) -> list[Edge]:
    """The composed edges of every principal that can act as one of `actors`/`removers`.

    `verification` (an analysis that only has to tell whether any edge is left, analyze()): the
    members of a strongly connected component all have the same S(P), so each of the component's
    rewrites goes to one member only: to its actor A when A is a member, else to the component's
    first member by ARN. Every member can act as that one, so the same principals reach admin; the
    edges found are fewer (members that may all rewrite one another gave |component|^3 edges, and
    every member of a component that can act as an outside writer composed each of its targets)
    and some edge is found exactly when the full composition finds one.

    `escalating`: the principals known to reach an admin or target; a member whose protection a
    helper takes away counts when it then gains an edge to ADMIN or to one of them
    (`Composer.removals_of_others`)."""
    composer = Composer(ctx, sources, found, reuse, exact=not verification)
    found_out = composer.prior
    anchors = set(actors) | set(removers)
    # Ancestors of the anchors among the edges found so far (the growth asked for them).
    reverse: dict[str, list[str]] = {}
    for e in found.values():
        reverse.setdefault(e.target, []).append(e.source)
    roots = set(anchors)
    queue = deque(anchors)
    while queue:
        node = queue.popleft()
        for src in reverse.get(node, ()):
            if src not in roots:
                roots.add(src)
                queue.append(src)
    roots &= set(composer.sources)
    composer.build(roots, found_out)
    g = composer.g
    actor_mask = 0
    for a in actors:
        actor_mask |= g.bit(a)
    remover_mask = 0
    for r in removers:
        remover_mask |= g.bit(r)
    composing = [
        arn for arn in g.nodes if arn in composer.sources and g.reach.get(arn, 0) & actor_mask
    ]
    # verification: each component's first composing member (by ARN) composes the rewrites of actors
    # outside the component, every member its own; the other members nothing (docstring).
    first = g.firsts(composing)
    keys: dict[str, set[tuple[str, str, str]]] = {}
    for arn in composing:
        mask = actor_mask
        if verification:
            inside = g.comp_bits[g.scc[arn]]
            mask &= g.bit(arn) if first[g.scc[arn]] != arn else ~inside | g.bit(arn)
        mine = {("p", a, b) for a, b in composer.principal_keys(arn, mask)}
        mine |= {("g", a, grp) for a, grp in composer.group_keys(arn, mask)}
        keys[arn] = mine
    # What each component composes: the union of its members' keys (with `verification`, the
    # members split the component's keys between them; without, each has them all).
    by_comp: dict[int, set[tuple[str, str, str]]] = {}
    for arn, mine in keys.items():
        by_comp.setdefault(g.scc[arn], set()).update(mine)
    out: list[Edge] = []
    for arn, mine in sorted(keys.items()):
        # A successor outside arn's component that composes the same key owns it (the meeting point).
        succ = {e.target for e in g.out.get(arn, ()) if g.scc.get(e.target) != g.scc.get(arn)}
        taken: set[tuple[str, str, str]] = set()
        for c in {g.scc[m] for m in succ & keys.keys()}:
            taken |= by_comp[c]
        # A many-target helper's key (A, "*") stands for different members at each source: every
        # source keeps its own, so its finding reads its own members' conditions.
        own = sorted(k for k in mine if k not in taken or k[2] == "*")
        for kind, a, b in own:
            if kind == "p" and b == "*":
                out.append(composer.helper_edge(arn, a))
            elif kind == "p":
                out.extend(composer.principal_edges(arn, a, b))
            else:
                out.append(composer.group_edge(arn, a, b))
    if remover_mask:
        out.extend(composer.removals_of_others(remover_mask, escalating))
        for arn in g.nodes:
            source = composer.sources.get(arn)
            if source is None or not (g.reach.get(arn, 0) & ~g.bit(arn) & remover_mask):
                continue
            prior = [*found_out.get(arn, ()), *g.out.get(arn, ())]
            out.extend(composer.helper_removals(source, remover_mask, prior))
    return out


def actors_and_removers(
    ctx: EdgeContext, sources: Sequence[Principal], firm: set[str]
) -> tuple[list[str], list[str]]:
    """Principals that may rewrite (actors) / strip protections of (removers) *others*, leaving out
    those that reach an admin through unconditional edges anyway (see the module docstring)."""
    actors: list[str] = []
    removers: list[str] = []
    for p in sources:
        if p.arn in firm:
            continue
        if may_touch_others(ctx, p, REWRITE_ACTIONS):
            actors.append(p.arn)
        if may_touch_others(ctx, p, (*REMOVE_ACTIONS, *REWRITE_ACTIONS)):
            removers.append(p.arn)
    return actors, removers


# Every technique id composition's edges carry.
TECHNIQUES: tuple[str, ...] = (
    *sorted(set(TABLE.values())),
    "X-TakeoverRewrite",
    "X-HelperRewrite",
    "X-GroupRewrite",
)

__all__ = ["REMOVE_ACTIONS", "REWRITE_ACTIONS", "TABLE", "TECHNIQUES", "actors_and_removers", "compose"]
