"""Report → Plan: the denies that cut every escalation edge while the principal keeps its work.

For one principal at risk, every escalation edge leaving it (to an admin or target, or a
self-escalation to ADMIN) lists alternatives, each a set of grants that must all be allowed. The
edge is cut when at least one grant of every alternative is denied. Over all of the principal's
edges that is a hitting-set problem: the sets are the alternatives, the elements the distinct
(action, resource) grants. `hitting.minimum_hitting_set` solves it exactly, minimising in order:

1. escalation left open: none (every edge is cut, or reported uncuttable);
2. *disruption* (`disruption`): what the principal loses that does not lead to admin;
3. pairs: the number of (action, resource) denies;
4. the *narrowness score* (`grant_score`), then a fixed order.

The statements actually written (denies merged by action or by resource, `quotas.render_document`)
are counted and reported, not minimised as a criterion of their own: counting them in the search
couples every component of a principal's instance through shared actions and defeats the
kernelization, and on an `iam:*` principal of a 1,000-principal account the exact search then
exceeded Python's recursion limit. Hand-off denies of one action (PassRole on five admin roles)
merge into one statement anyway.

Disruption of denying `action` on `resource`, for principal P whose edges end at admins/targets:

    0    a concrete hand-off: the resource is an admin or target principal an edge of P reaches
         (iam:PassRole, sts:AssumeRole, iam:CreateAccessKey, iam:UpdateLoginProfile, ... on it), or
         the admin group / instance profile an edge goes through. P needs nothing there but the
         escalation itself.
    1    P itself (P managing its own permissions or credentials)
    2    one other concrete resource (the instance, function, policy an edge goes through)
    20   a resource pattern (every instance, every function, ...): everyday work is lost with it
    100  "*"

so five hand-off denies on five admin roles (disruption 0, one statement) beat one workload deny
such as `ec2:RunInstances on instance/*` (20), which would leave the principal unable to launch
anything. With access-advisor data in the snapshot, a deny of an action P used within the tracking
window adds to its disruption (see `usage_penalty`).

Narrowness score of denying `action` on `resource` (the last tie-break):

    score = 3 * breadth(resource) + reach(action)
    breadth: 0 a concrete ARN, 1 an ARN pattern with * or ?, 2 the bare "*"
    reach:   0 iam:PassRole / sts:AssumeRole* (denies the use of one role only),
             1 any other IAM or STS action (permission and credential management, which workloads
               rarely need day to day),
             2 an action of any other service (launching instances, functions, stacks: everyday
               workload operations)

A deny is unconditional: `Deny action on resource` with no Condition, even when the grant carried
a request context such as iam:PassedToService. Copying the context into the deny would leave the
same grant open under another context (pass the admin role to a different service), so the simple
form is also the safe one; the cost is that the principal loses that action on that one resource
in every context, which the plan's `why` states.

The plan is then verified (`verify.py`): the denies are applied to the snapshot in memory and the
whole analysis runs again. Edges that appear only now — typically the principal deleting or
overwriting its own deny policy, or changing its boundary — join the instance and the plan is
solved again, until the analysis finds nothing or finds nothing new.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from deescalate.analysis.analyze import analyze
from deescalate.analysis.reuse import Reuse
from deescalate.errors import UsageError
from deescalate.gctune import fewer_full_collections
from deescalate.grounding import deny_problem
from deescalate.model import (
    ADMIN,
    Deny,
    DenyChoice,
    Edge,
    Plan,
    PolicyPlacement,
    PrincipalPlan,
    Report,
    Snapshot,
)
from deescalate.policy.match import action_matches, has_wildcard, resource_matches
from deescalate.remediate.fingerprint import snapshot_state
from deescalate.remediate.hitting import HittingSolution, Key, minimum_hitting_set
from deescalate.remediate.quotas import choose_placement, largest_quota, render_document, size_floor, widen
from deescalate.remediate.usage import penalty, usage_of
from deescalate.remediate.verify import AnalyzeFn, Verification, remaining_edges, verify
from deescalate.sar import reference_version

MAX_ROUNDS = 10
log = logging.getLogger("deescalate.plan")

_ROLE_USE_ACTIONS = (
    "iam:passrole", "sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity"
)


def resource_breadth(resource: str) -> int:
    if resource == "*":
        return 2
    return 1 if ("*" in resource or "?" in resource) else 0


def action_reach(action: str) -> int:
    low = action.lower()
    if low in _ROLE_USE_ACTIONS:
        return 0
    return 1 if low.startswith(("iam:", "sts:")) else 2


def grant_score(key: Key) -> int:
    action, resource = key[0], key[1]
    return 3 * resource_breadth(resource) + action_reach(action)


_BREADTH_TEXT = ("one specific resource", "a resource pattern", "every resource (*)")
_REACH_TEXT = ("the use of one role", "an IAM/STS management action", "a workload action of another service")

DISRUPTION_HANDOFF = 0
DISRUPTION_SELF = 1
DISRUPTION_ONE = 2
DISRUPTION_PATTERN = 20
DISRUPTION_ALL = 100
_HANDOFF_VIA = (":group/", ":instance-profile/")


def handoff_endpoints(edges: Iterable[Edge]) -> frozenset[str]:
    """The admins/targets the edges reach, and the admin groups or profiles they go through."""
    out: set[str] = set()
    for e in edges:
        if e.target != ADMIN:
            out.add(e.target)
        if e.via and any(marker in e.via for marker in _HANDOFF_VIA):
            out.add(e.via)
    return frozenset(out)


def disruption(key: Key, *, principal: str, endpoints: frozenset[str]) -> int:
    """What denying `key` takes from the principal besides the escalation (module docstring)."""
    resource = key[1]
    if resource == "*":
        return DISRUPTION_ALL
    if "*" in resource or "?" in resource:
        return DISRUPTION_PATTERN
    if resource in endpoints:
        return DISRUPTION_HANDOFF
    return DISRUPTION_SELF if resource == principal else DISRUPTION_ONE


_DISRUPTION_TEXT = {
    DISRUPTION_HANDOFF: "a hand-off to an admin: the principal loses nothing it needs for other work",
    DISRUPTION_SELF: "the principal's own permissions or credentials",
    DISRUPTION_ONE: "one resource the principal may also use for other work",
    DISRUPTION_PATTERN: "every resource matching a pattern: everyday work of this kind is lost",
    DISRUPTION_ALL: "every resource: this action is lost entirely",
}


def edge_sets(edge: Edge) -> list[frozenset[Key]]:
    """Each alternative as (action, resource, principal) keys: the principal is who must be denied
    the grant (the edge's source, or in a composed edge the principal that takes that step)."""
    return [
        frozenset((g.action, g.resource, g.principal or edge.source) for g in alt)
        for alt in edge.alternatives
    ]


def is_cut(edge: Edge, denied: Iterable[Key]) -> bool:
    """Every alternative has a denied grant (an edge without alternatives can never be cut).

    Keys of two items (action, resource) are denies of the edge's source."""
    keys = {k if len(k) > 2 else (k[0], k[1], edge.source) for k in denied}
    sets = edge_sets(edge)
    return bool(sets) and all(s & keys for s in sets)


@dataclass(frozen=True, slots=True, kw_only=True)
class PrincipalSolution:
    principal: str
    denies: tuple[Deny, ...]
    solution: HittingSolution
    uncuttable: tuple[Edge, ...]  # edges with an empty alternative: no deny can cut them


def solve_principal(
    principal: str,
    edges: Iterable[Edge],
    *,
    first_id: int = 1,
    penalty: Callable[[Key], int] | None = None,
    usage: Callable[[Key], str] | None = None,
) -> PrincipalSolution:
    """The exact best deny set for one principal's edges (module docstring's objective), explained.

    `penalty` adds to a key's disruption (recent use of the action, from access-advisor data).
    Composed edges may need a grant of another principal denied (a step it takes on the source's
    behalf): such a deny names that principal (`Deny.principal`), and `principal` is then only a
    label for the group of principals solved together.
    """
    drafts = _solve_drafts(principal, edges, first_id=first_id, penalty=penalty, usage=usage)
    return replace(drafts.solved, denies=tuple(drafts.explain(d) for d in drafts.solved.denies))


@dataclass(frozen=True, slots=True)
class _Drafts:
    """A solution whose denies are drafts (no `why`, `alternatives` or `usage` yet): `explain`
    completes one. Widening to fit the quotas replaces most drafts of a principal with thousands
    of edges (an `iam:*` role); only the denies that stay are explained (`principal_plan`)."""

    solved: PrincipalSolution
    explain: Callable[[Deny], Deny]


def _solve_drafts(
    principal: str,
    edges: Iterable[Edge],
    *,
    first_id: int,
    penalty: Callable[[Key], int] | None,
    usage: Callable[[Key], str] | None,
) -> _Drafts:
    edge_list = sorted({e.id: e for e in edges}.values(), key=lambda e: e.id)
    uncuttable = tuple(e for e in edge_list if not e.alternatives or any(not alt for alt in e.alternatives))
    skip = {e.id for e in uncuttable}
    cuttable = [e for e in edge_list if e.id not in skip]
    endpoints = handoff_endpoints(cuttable)

    harms: dict[Key, int] = {}  # asked again for each deny's rivals and alternatives

    def harm(key: Key) -> int:
        hit = harms.get(key)
        if hit is None:
            owner = key[2] if len(key) > 2 else principal
            hit = harms[key] = (
                disruption(key, principal=owner, endpoints=endpoints) + (penalty(key) if penalty else 0)
            )
        return hit

    scores: dict[Key, int] = {}  # asked by the search for every key, many times

    def score(key: Key) -> int:
        hit = scores.get(key)
        if hit is None:
            hit = scores[key] = grant_score(key)
        return hit

    per_edge = [(e, edge_sets(e)) for e in cuttable]
    sets = [s for _, ss in per_edge for s in ss]
    solution = minimum_hitting_set(sets, score, disruption=harm)
    chosen = set(solution.chosen)
    # key -> (edges it takes part in cutting, the other grants of the alternatives it hits)
    index: dict[Key, tuple[list[Edge], set[Key]]] = {k: ([], set()) for k in chosen}
    for e, ss in per_edge:
        if len(ss) == 1 and len(ss[0]) == 1:  # one grant (most edges): no other grant to record
            (k,) = ss[0]
            if k in chosen:
                index[k][0].append(e)
            continue
        for k in chosen.intersection(frozenset().union(*ss)):
            touched_edges, others = index[k]
            touched_edges.append(e)
            for s in ss:
                if k in s:
                    others |= s
    proof = (" (exact optimum)" if solution.optimal
             else " (search budget ran out: best found, not proven optimal)")
    owners = {k[2] for k in chosen}
    whose = "of this principal" if owners <= {principal} else "of these principals"
    keys: dict[int, Key] = {}  # id() of a draft -> its key
    drafts: list[Deny] = []
    for n, key in enumerate(solution.chosen, start=first_id):
        touched = index[key][0]
        draft = Deny(
            id=f"d{n}",
            principal=key[2],
            action=key[0],
            resource=key[1],
            cuts=tuple(e.id for e in touched),
            techniques=(touched[0].technique,) if len(touched) == 1
            else tuple(sorted({e.technique for e in touched})),
            why="",
            disruption=harm(key),
            narrowness=score(key),
        )
        keys[id(draft)] = key
        drafts.append(draft)

    def explain(draft: Deny) -> Deny:
        key = keys.get(id(draft))
        if key is None:
            return draft  # not one of this solution's drafts
        touched, others = index[key]
        narrow, lost = score(key), harm(key)
        rivals = sorted(others - chosen, key=lambda k: (harm(k), score(k), k))
        instead = (
            " Preferred over " + "; ".join(
                f"{k[0]} on {k[1]}{'' if k[2] == key[2] else f' (as {k[2]})'}"
                f" (disruption {harm(k)}, score {score(k)})"
                for k in rivals[:3]
            ) + (f" and {len(rivals) - 3} more" if len(rivals) > 3 else "") + "."
            if rivals else ""
        )
        why = (
            f"Cuts, alone or with the other denies, {len(touched)} of the {len(cuttable)} escalation "
            f"edge(s) {whose}. The plan's {len(solution.chosen)} deny(s) take the least from "
            f"the principal's other work{proof}: total disruption {solution.disruption}, then the fewest "
            f"denies. This deny's disruption is {lost}: "
            f"{_DISRUPTION_TEXT.get(lost - (penalty(key) if penalty else 0), 'see the plan docs')}"
            f"{_penalty_text(key, penalty)}; narrowness score {narrow}: "
            f"{_BREADTH_TEXT[resource_breadth(key[1])]}, {_REACH_TEXT[action_reach(key[0])]}.{instead} "
            f"Unconditional: the action is denied on this resource in every request context."
            + (f" Access advisor: {usage(key)}." if usage else "")
        )
        return replace(
            draft,
            why=why,
            alternatives=tuple(
                DenyChoice(action=k[0], resource=k[1], disruption=harm(k), narrowness=score(k))
                for k in [r for r in rivals if r[2] == key[2]][:10]
            ),
            usage=usage(key) if usage else "",
        )

    solved = PrincipalSolution(
        principal=principal, denies=tuple(drafts), solution=solution, uncuttable=uncuttable
    )
    return _Drafts(solved=solved, explain=explain)


def _penalty_text(key: Key, penalty: Callable[[Key], int] | None) -> str:
    extra = penalty(key) if penalty else 0
    return f" (+{extra} for recent use)" if extra else ""


def principal_plan(
    snapshot: Snapshot,
    principal: str,
    denies: tuple[Deny, ...],
    *,
    minimal: bool = True,
    explain: Callable[[Deny], Deny] | None = None,
) -> PrincipalPlan:
    """Render the active denies and place them within quotas.

    `explain` completes a draft deny (`_Drafts`), and is asked only for the denies the plan keeps:
    the placement reads only each deny's action, resource and `apply`."""
    done: Callable[[Deny], Deny] = explain or (lambda d: d)
    document = render_document(denies)
    active = any(d.apply for d in denies)
    placement = choose_placement(snapshot, principal, document)
    widened = None
    if active and placement.unfixable:
        # Last resort before "unfixable": widen the denies of one action to a resource pattern.
        # A document whose size floor exceeds every quota cannot fit: no need to render it (an
        # `iam:*` role's thousands of denies take several rounds of widening to come near).
        limit = largest_quota(principal)
        widened = widen(
            denies,
            lambda ds: size_floor(ds) <= limit
            and choose_placement(snapshot, principal, render_document(ds)).unfixable is None,
        )
    if widened is not None:
        note = (f" The exact plan ({len(denies)} denies) did not fit AWS's quotas, so denies of the "
                "same action were then widened to resource patterns (see those denies).")
        denies = tuple(d if d.why.startswith("Widened") else _noted(done(d), note) for d in widened)
        document = render_document(denies)
        placement = choose_placement(snapshot, principal, document)
    else:
        denies = tuple(done(d) for d in denies)
    return PrincipalPlan(
        principal=principal,
        denies=denies,
        placement=placement.placement if active else PolicyPlacement.NONE,
        policy_name=placement.policy_name if active else "",
        document=json.dumps(document, indent=2) if active else "",
        unfixable=placement.unfixable if active else None,
        state=snapshot_state(snapshot, principal) or (),
        minimal=minimal,
    )


def _noted(deny: Deny, note: str) -> Deny:
    return replace(deny, why=deny.why + note)


class _DenyIndex:
    """The plan's denies by principal, indexed for "does a deny of P match this grant?" (memoised).

    Matching is `action_matches` / `resource_matches`; a deny without wildcards in its action is
    found through its lower-cased action (actions match case-insensitively), one without wildcards
    in its resource by equality (resources match case-sensitively, every other character literal).
    """

    __slots__ = ("_exact", "_memo", "_wild")

    def __init__(self, pairs: Mapping[str, Iterable[Key]]) -> None:
        self._exact: dict[str, dict[str, tuple[set[str], list[str]]]] = {}
        self._wild: dict[str, list[Key]] = {}
        self._memo: dict[tuple[str, str, str], bool] = {}
        for who, keys in pairs.items():
            exact = self._exact.setdefault(who, {})
            for k in keys:
                action, resource = k[0], k[1]
                if has_wildcard(action):
                    self._wild.setdefault(who, []).append(k)
                    continue
                same, patterns = exact.setdefault(action.lower(), (set(), []))
                if has_wildcard(resource):
                    patterns.append(resource)
                else:
                    same.add(resource)

    def denies(self, who: str, action: str, resource: str) -> bool:
        key = (who, action, resource)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = self._test(who, action, resource)
        return hit

    def _test(self, who: str, action: str, resource: str) -> bool:
        found = self._exact.get(who, {}).get(action.lower())
        if found is not None and (
            resource in found[0] or any(resource_matches(p, resource) for p in found[1])
        ):
            return True
        return any(
            action_matches(k[0], action) and resource_matches(k[1], resource) for k in self._wild.get(who, ())
        )


def strip_denied(
    edge: Edge, denied: Mapping[str, Iterable[Key]] | Iterable[Key], *, index: _DenyIndex | None = None
) -> Edge:
    """An edge that survived verification, without the grants the plan already denies.

    If the analysis still finds an edge whose alternatives the plan's denies all hit, those denies
    demonstrably do not cut it. The typical case is undoing the fix (X-RemoveDeny: delete the deny
    policy, *then* use a way the policy denies): the denies of the policy being removed do not
    count, only denying the removal does. So the surviving edge keeps, in each alternative, only
    the grants the plan does not deny yet; an alternative left empty makes the edge uncuttable.
    A grant a helper makes (`Grant.principal`) counts as denied only by that helper's denies.
    `index` (`_DenyIndex` of the same denies) shares the matching work between edges.
    """
    if index is None:
        # Denies by principal; a plain list of (action, resource) is the edge's source's own denies.
        index = _DenyIndex(denied if isinstance(denied, Mapping) else {edge.source: list(denied)})
    alternatives = tuple(
        tuple(g for g in alt if not index.denies(g.principal or edge.source, g.action, g.resource))
        for alt in edge.alternatives
    )
    return replace(edge, alternatives=alternatives)


def _merge_edge(known: dict[str, Edge], edge: Edge) -> bool:
    """Add an edge (or new alternatives of a known edge); True when the instance grew."""
    old = known.get(edge.id)
    if old is None:
        known[edge.id] = edge
        return True
    alts = list(old.alternatives)
    seen = set(alts)
    grew = False
    for alt in edge.alternatives:
        if alt not in seen:
            seen.add(alt)
            alts.append(alt)
            grew = True
    if grew:
        known[edge.id] = replace(old, alternatives=tuple(alts))
    return grew


@fewer_full_collections()
def build_plan(
    snapshot: Snapshot,
    report: Report,
    analyze_fn: AnalyzeFn,
    *,
    principals: Iterable[str] | None = None,
    targets: tuple[str, ...] = (),
) -> Plan:
    """Plan every finding (or only `principals`), then verify and re-plan until stable.

    With `principals`, the principals their paths run through are planned too when those hold the
    escalation edges (a user who can only assume a role that escalates is fixed at the role).
    """
    if report.summarised:
        # The scan summarised holders of a conditional `Allow * on *` (docs/analysis.md): a plan must
        # cut every one of their routes, so it starts from the analysis without summaries.
        report = analyze_fn(snapshot)
    by_principal = {f.principal: f for f in report.findings}
    wanted = set(by_principal) if principals is None else set(principals) & set(by_principal)
    for arn in list(wanted):
        wanted |= {e.source for path in by_principal[arn].paths for e in path if e.source in by_principal}
    instance: dict[str, dict[str, Edge]] = {}
    for arn in sorted(wanted):
        edges = instance.setdefault(arn, {})
        for e in by_principal[arn].edges:
            _merge_edge(edges, e)
    memo = _SolveMemo()
    started = time.perf_counter()
    plan = _solve_all(snapshot, report, instance, targets, memo)
    _log_solve(1, memo, started)
    for n in range(1, MAX_ROUNDS + 1):
        started = time.perf_counter()
        remaining = remaining_edges(snapshot, plan, analyze_fn, planned=set(instance))
        log.info("verify round %d: %d deny statement(s) on %d principal(s) leave %d edge(s) open (%.2fs)",
                 n, sum(len(p.denies) for p in plan.principals), len(plan.principals), len(remaining),
                 time.perf_counter() - started)
        grew = False
        denied = {p.principal: [(d.action, d.resource) for d in p.denies if d.apply] for p in plan.principals}
        index = _DenyIndex(denied)
        for edge in remaining:
            residual = strip_denied(edge, denied, index=index)
            grew = _merge_edge(instance.setdefault(edge.source, {}), residual) or grew
        if not remaining or not grew:
            return replace(plan, remaining=remaining, verified=not remaining and _all_fixable(plan))
        started = time.perf_counter()
        plan = _solve_all(snapshot, report, instance, targets, memo)
        _log_solve(n + 1, memo, started)
    remaining = remaining_edges(snapshot, plan, analyze_fn, planned=set(instance))
    return replace(plan, remaining=remaining, verified=not remaining and _all_fixable(plan))


def _log_solve(n: int, memo: _SolveMemo, started: float) -> None:
    log.info("solve round %d: %d group(s) of principals solved, %d principal plan(s) rendered%s (%.2fs)",
             n, memo.solved, memo.rendered, " (the others kept from the round before)" if n > 1 else "",
             time.perf_counter() - started)


def _owner(key: Key, default: str) -> str:
    return key[2] if len(key) > 2 else default  # composed edges name whose grant a key is


def _usage_penalty(snapshot: Snapshot, principal: str) -> Callable[[Key], int] | None:
    if not snapshot.last_accessed:
        return None
    return lambda key: penalty(usage_of(snapshot, _owner(key, principal), key[0]))


def _usage_text(snapshot: Snapshot, principal: str) -> Callable[[Key], str]:
    said: dict[tuple[str, str], str] = {}  # each deny asks twice (its `why` and its `usage`)

    def text(key: Key) -> str:
        k = (_owner(key, principal), key[0])
        hit = said.get(k)
        if hit is None:
            hit = said[k] = usage_of(snapshot, k[0], k[1]).text()
        return hit

    return text


def _all_fixable(plan: Plan) -> bool:
    return all(p.unfixable is None for p in plan.principals)


def _groups(instance: Mapping[str, Mapping[str, Edge]]) -> list[list[str]]:
    """Planned principals solved together: those whose edges need the same other principal's
    grant denied (composed edges), transitively. Most principals are alone."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for principal, edges in instance.items():
        find(principal)
        for e in edges.values():
            for alt in e.alternatives:
                for g in alt:
                    if g.principal and g.principal != principal:
                        a, b = find(principal), find(g.principal)
                        if a != b:
                            parent[max(a, b)] = min(a, b)
    groups: dict[str, list[str]] = {}
    for principal in sorted(instance):
        groups.setdefault(find(principal), []).append(principal)
    return [groups[r] for r in sorted(groups)]


@dataclass(slots=True)
class _SolveMemo:
    """What one plan's rounds have solved: a verification round adds edges to a few principals, and
    every other group's solution and every principal whose denies stayed the same is taken as it
    was (both are functions of their inputs, which are compared by identity: `_merge_edge` replaces
    an edge that grew, and a kept solution keeps its draft objects)."""

    drafts: dict[tuple[str, ...], tuple[list[Edge], _Drafts]] = field(default_factory=dict)
    plans: dict[str, tuple[tuple[Deny, ...], bool, PrincipalPlan]] = field(default_factory=dict)
    solved: int = 0  # groups solved and principal plans rendered by the last `_solve_all`
    rendered: int = 0

    def solve(self, snapshot: Snapshot, group: list[str], edges: list[Edge]) -> _Drafts:
        key = tuple(group)
        hit = self.drafts.get(key)
        if hit is not None and _same_objects(hit[0], edges):
            return hit[1]
        drafts = _solve_drafts(group[0], edges, first_id=1, penalty=_usage_penalty(snapshot, group[0]),
                               usage=_usage_text(snapshot, group[0]))
        self.drafts[key] = (edges, drafts)
        self.solved += 1
        return drafts

    def plan(self, snapshot: Snapshot, principal: str, denies: tuple[Deny, ...], minimal: bool,
             explain: Callable[[Deny], Deny]) -> PrincipalPlan:
        hit = self.plans.get(principal)
        if hit is not None and hit[1] == minimal and _same_objects(hit[0], denies):
            return hit[2]
        pp = principal_plan(snapshot, principal, denies, minimal=minimal, explain=explain)
        self.plans[principal] = (denies, minimal, pp)
        self.rendered += 1
        return pp


def _same_objects(a: Sequence[object], b: Sequence[object]) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b, strict=True))


def _solve_all(snapshot: Snapshot, report: Report, instance: Mapping[str, Mapping[str, Edge]],
               targets: tuple[str, ...], memo: _SolveMemo) -> Plan:
    memo.solved = memo.rendered = 0
    by_owner: dict[str, list[Deny]] = {}
    minimal: dict[str, bool] = {}
    explainers: dict[int, Callable[[Deny], Deny]] = {}  # id() of a draft -> its solution's explain
    for group in _groups(instance):
        edges = [e for principal in group for e in instance[principal].values()]
        if not edges:
            continue  # no escalation edge of its own: its paths run through principals planned here
        drafts = memo.solve(snapshot, group, edges)
        solved = drafts.solved
        for d in solved.denies:
            by_owner.setdefault(d.principal, []).append(d)
            explainers[id(d)] = drafts.explain
        for owner in {d.principal for d in solved.denies} | set(group):
            minimal[owner] = minimal.get(owner, True) and solved.solution.optimal
    plans: list[PrincipalPlan] = []
    next_id = 1
    for principal in sorted(by_owner):
        pp = memo.plan(snapshot, principal, tuple(by_owner[principal]), minimal[principal],
                       lambda d: explainers[id(d)](d) if id(d) in explainers else d)
        # Number the final denies (after any widening) d1, d2, ... across the plan.
        denies = tuple(replace(d, id=f"d{next_id + i}") for i, d in enumerate(pp.denies))
        next_id += len(denies)
        plans.append(replace(pp, denies=denies))
    return Plan(
        account_id=snapshot.account_id,
        snapshot=snapshot.source or report.source,
        snapshot_time=snapshot.collected_at,
        principals=tuple(plans),
        targets=targets,
        edges=tuple(e for principal in sorted(instance) for e in instance[principal].values()),
    )


def unmatchable_denies(plan: Plan) -> list[str]:
    """Each switched-on deny of the plan that can never match a real request, with the reason.

    AWS authorizes an action against the resource types the SAR lists for it ("*" when none): a
    Deny naming another resource is a no-op in AWS, though an in-memory check might count it as a
    cut (`deescalate.grounding.deny_problem`).
    """
    out: list[str] = []
    for pp in plan.principals:
        for d in pp.denies:
            if not d.apply:
                continue
            why = deny_problem(d.action, d.resource)
            if why is not None:
                out.append(f"{d.id} (deny {d.action} on {d.resource} for {pp.principal}): {why}")
    return out


def require_matchable(plan: Plan, where: str) -> None:
    """Refuse (UsageError, exit 2) a plan holding a switched-on deny that can never match."""
    bad = unmatchable_denies(plan)
    if bad:
        raise UsageError(
            f"{where}: {len(bad)} deny statement(s) can never match a request AWS authorizes "
            f"(Service Authorization Reference, {reference_version()}); fix the resource or set "
            '"apply": false:\n  ' + "\n  ".join(bad)
        )


def recheck_plan(snapshot: Snapshot, plan: Plan, analyze_fn: AnalyzeFn) -> Plan:
    """An edited plan: re-render each principal's active denies, re-place them, re-verify."""
    return check_plan(snapshot, plan, analyze_fn)[0]


def check_plan(
    snapshot: Snapshot, plan: Plan, analyze_fn: AnalyzeFn, *, where: str = "plan"
) -> tuple[Plan, Verification]:
    """`recheck_plan` plus the verification itself (open paths of every principal, not just planned).

    Refuses (UsageError) a plan with a switched-on deny that can never match a request.
    """
    require_matchable(plan, where)
    principals = tuple(
        replace(principal_plan(snapshot, p.principal, p.denies, minimal=p.minimal), state=p.state or
                (snapshot_state(snapshot, p.principal) or ()))
        for p in plan.principals
    )
    fresh = replace(plan, principals=principals)
    result = verify(snapshot, fresh, analyze_fn, planned={p.principal for p in principals})
    remaining = result.remaining
    return replace(fresh, remaining=remaining, verified=not remaining and _all_fixable(fresh)), result


def default_analyze(
    targets: tuple[str, ...] = (), reuse: Reuse | None = None
) -> Callable[[Snapshot], Report]:
    """The project's one analysis (no second copy of escalation logic here), without summaries:
    a plan and its verification need every route of a conditional wildcard's holders.

    Its analyses share one `Reuse` (analysis/reuse.py; pass the one the findings' analysis used to
    share that too): a verification round decides again only the edges of the principals the plan
    changed, and the report is the one a fresh analysis gives."""
    store = Reuse() if reuse is None else reuse

    def run(snapshot: Snapshot) -> Report:
        report: Report = analyze(snapshot, targets=targets, summarise=False, reuse=store, verification=True)
        return report

    return run
