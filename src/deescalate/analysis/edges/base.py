"""The machinery every technique checker shares: the per-analysis context and the edge builder.

A checker looks at one source principal and yields `Edge`s. It never decides a permission itself:
it proposes *candidate alternatives* (tuples of `Grant`s that together make the technique work) and
`EdgeContext.edge()` asks the evaluator about each grant, keeps the alternatives that are possible,
and marks the edge conditional when every surviving alternative depends on a context key the
snapshot cannot supply (or on a fact the snapshot lacks, passed as `unknown`).

The context caches what many checkers and many sources ask again and again: `may_allow` per
(principal, action), decisions per (principal, grant), the roles that trust a service, the
resources of a kind, and the inventory gaps of a kind.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from deescalate.analysis.edges.timebound import parse_time, settle
from deescalate.analysis.edges.trust import TrustIndex, trusts_service
from deescalate.analysis.techniques import technique as technique_info
from deescalate.arn import account_of, partition_of
from deescalate.grounding import request_resource
from deescalate.model import (
    Decision,
    Edge,
    Grant,
    InventoryState,
    ManagedPolicy,
    Resource,
    Role,
    Snapshot,
    User,
)
from deescalate.policy.evaluate import Authorizer

Principal = User | Role
P = TypeVar("P", User, Role)
Alternative = tuple[Grant, ...]




def new_resource(
    action: str,
    account: str,
    *,
    region: str = "*",
    rtype: str = "",
    partition: str = "aws",
    names: Mapping[str, str] | None = None,
) -> str:
    """The resource a request for `action` on a resource that does not exist yet is asked about.

    Derived from AWS's Service Authorization Reference (`deescalate.grounding.request_resource`):
    `"*"` for an action without resource types (AWS authorizes it against "*"), else the ARN
    format of its resource type (`rtype`, the SAR's name, when it has several) with partition,
    region, account and `names` filled in and `*` for the rest. The attacker picks the name, so
    the grant is asked for "any name" in the account: a policy allowing
    `arn:aws:lambda:*:*:function:*` or `*` matches it, and so does a Deny on it; a policy that
    allows only `function:dev-*` does not (an accepted false negative, noted in docs).
    """
    key = (action, account, region, rtype, partition, tuple(sorted(names.items())) if names else ())
    hit = _NEW_RESOURCES.get(key)
    if hit is None:
        if len(_NEW_RESOURCES) > 100_000:
            _NEW_RESOURCES.clear()
        hit = _NEW_RESOURCES[key] = request_resource(
            action, account=account, region=region, partition=partition, rtype=rtype, names=names
        )
    return hit


# new_resource's answers: a pure function of its arguments, asked per source and candidate.
_NEW_RESOURCES: dict[tuple[str, str, str, str, str, tuple[tuple[str, str], ...]], str] = {}


def run_shell_script(instance: Resource) -> str:
    """The ARN of AWS's own AWS-RunShellScript document in the instance's region (AWS-owned
    documents have no account in their ARN)."""
    return f"arn:{partition_of(instance.arn)}:ssm:{instance.region}::document/AWS-RunShellScript"


def passed_to(service: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Request context of an iam:PassRole call handing the role to `service`.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#ck_PassedToService
    """
    return (("iam:PassedToService", (service,)),)


def pass_role(role_arn: str, service: str) -> Grant:
    """The iam:PassRole grant that hands the role to `service`."""
    return Grant(action="iam:PassRole", resource=role_arn, context=passed_to(service))


@dataclass(frozen=True, slots=True, kw_only=True)
class Gap:
    """A region where a resource kind could not be listed, so edges through it are uncertain."""

    kind: str
    region: str
    why: str


@dataclass(slots=True)
class SharedIndex:
    """Facts that depend only on trust policies, resources and inventory, never on identity policies.

    A what-if context (the same snapshot with one principal's policies changed) reuses them.
    """

    service_roles: dict[tuple[str, str], tuple[Role, ...]] = field(default_factory=dict)
    by_kind: dict[str, tuple[Resource, ...]] | None = None
    by_kind_account: dict[tuple[str, str], tuple[Resource, ...]] = field(default_factory=dict)
    gaps: dict[str, tuple[Gap, ...]] = field(default_factory=dict)
    trust: TrustIndex | None = None  # built on first use (EdgeContext.trust_index)
    users_by_account: dict[str, tuple[User, ...]] = field(default_factory=dict)
    roles_by_account: dict[str, tuple[Role, ...]] = field(default_factory=dict)
    # id of a tuple of principals sorted by ARN (the ones above, service_roles) -> (it, by ARN):
    # lets `EdgeContext.others` walk a small wanted set instead of the whole tuple.
    sorted_members: dict[int, tuple[tuple[User | Role, ...], dict[str, User | Role]]] = field(
        default_factory=dict
    )
    profiled: frozenset[str] | None = None  # roles in some instance profile
    # (id of a tuple of principals, prefix) -> (it, whether every ARN in it starts with prefix)
    prefixed: dict[tuple[int, str], tuple[tuple[User | Role, ...], bool]] = field(default_factory=dict)
    # (id of the policies mapping, account) -> (that mapping, admin-grade managed policy ARNs)
    admin_policies: dict[tuple[int, str], tuple[Mapping[str, ManagedPolicy], list[str]]] = field(
        default_factory=dict
    )


@dataclass(slots=True)
class Prefilters:
    """The checkers whose prefilter a policy set passes (`EdgeContext.applicable`), keyed by
    `EdgeContext._signature`: the policy objects themselves, which `pinned` keeps alive so their
    ids are never reused. Any context may share it, whatever its snapshot: the answer reads only
    those objects (`Authorizer.may_allow`: Allow statements' actions)."""

    applicable: dict[tuple[object, int], tuple[Checker, ...]] = field(default_factory=dict)
    pinned: dict[object, tuple[object, ...]] = field(default_factory=dict)


@dataclass(slots=True)
class Summary:
    """Holders of a conditional `Allow * on *` (edges/wildcards.py): the context over the snapshot
    without those statements, and each holder's edges to ADMIN over the full snapshot once asked
    (`direct.summarised`; empty: the holder is analysed in full)."""

    holders: frozenset[str]
    stripped: EdgeContext
    admin_edges: dict[str, tuple[Edge, ...]] = field(default_factory=dict)


class EdgeContext:
    """One analysis round's view of the snapshot: the evaluator, caches shared by all checkers,
    and `wanted`, the targets worth an edge in this round (None: every target).

    analyze() grows `wanted` from the admins outwards, so nobody pays for edges into principals
    from which nothing escalates; each round is a `for_round` context sharing the caches. A
    what-if sub-analysis is a context over the changed snapshot sharing `index`. No field is
    set from outside: what a round finds is returned by `edges.explore`.
    """

    __slots__ = (
        "_classes",
        "_decisions",
        "_may",
        "_own_applicable",
        "_prefilters",
        "_signatures",
        "_wanted_sorted",
        "_whatifs",
        "admins",
        "authorizer",
        "index",
        "now",
        "principals",
        "snapshot",
        "summary",
        "wanted",
    )

    def __init__(
        self,
        snapshot: Snapshot,
        authorizer: Authorizer | None = None,
        *,
        admins: frozenset[str] = frozenset(),
        index: SharedIndex | None = None,
        wanted: frozenset[str] | None = None,
        summary: Summary | None = None,
        prefilters: Prefilters | None = None,
    ) -> None:
        self.snapshot = snapshot
        self.summary = summary
        self.authorizer = authorizer if authorizer is not None else Authorizer(snapshot)
        self.admins = admins
        self.index = index if index is not None else SharedIndex()
        self.wanted = wanted
        # A view, not a copy: a what-if context is made per change, over a snapshot of any size.
        self.principals: Mapping[str, Principal] = ChainMap(
            snapshot.users, snapshot.roles  # type: ignore[arg-type]
        )
        self._may: dict[tuple[str, str], bool] = {}
        self._decisions: dict[tuple[str, Grant], Decision] = {}
        # Decisions by Authorizer.equivalence key: requests that differ only in a resource the
        # principal's and the resource's policies treat alike (decide).
        self._classes: dict[object, Decision] = {}
        # What-if sub-analyses by (source, technique, via), kept across analyze()'s rounds so each
        # round only decides the edges into its new frontier (edges/whatif.py).
        self._whatifs: dict[tuple[str, str, str], EdgeContext] = {}
        # Shared with what-if sub-analyses (what_if_context) and, through `prefilters`, with a
        # plan's other analyses (analysis/reuse.py): keyed by the policy objects themselves.
        self._prefilters = prefilters if prefilters is not None else Prefilters()
        self._own_applicable: dict[tuple[object, int], tuple[Checker, ...]] = {}
        self._signatures: dict[str, object | None] = {}
        self._wanted_sorted: tuple[str, ...] | None = None
        # The snapshot's time: conditions on dates before it are settled (edges/timebound.py).
        self.now = parse_time(snapshot.collected_at) if snapshot.collected_at else None

    def for_round(self, wanted: frozenset[str] | None) -> EdgeContext:
        """The same snapshot and caches, asking only for edges into `wanted`."""
        ctx = EdgeContext.__new__(EdgeContext)
        ctx.snapshot = self.snapshot
        ctx.summary = self.summary
        ctx.authorizer = self.authorizer
        ctx.admins = self.admins
        ctx.index = self.index
        ctx.wanted = wanted
        ctx.principals = self.principals
        ctx._may = self._may
        ctx._decisions = self._decisions
        ctx._classes = self._classes
        ctx._whatifs = self._whatifs
        ctx._prefilters = self._prefilters
        ctx._own_applicable = self._own_applicable
        ctx._signatures = self._signatures
        ctx._wanted_sorted = None
        ctx.now = self.now
        return ctx

    def applicable(self, source: Principal, checkers: tuple[Checker, ...]) -> tuple[Checker, ...]:
        """The checkers whose prefilter the source passes (asked once per registry and policy set).

        The prefilter reads only the kind of principal and its identity policies (`may`), so
        principals with the same policies (the same groups and managed policies, no inline ones)
        share the answer.
        """
        signature = self._signature(source)
        key: tuple[object, int]
        if signature is None:
            store, key = self._own_applicable, (source.arn, id(checkers))
        else:
            store, key = self._prefilters.applicable, (signature, id(checkers))
        hit = store.get(key)
        if hit is None:
            hit = store[key] = tuple(c for c in checkers if c.applies(self, source))
        return hit

    def _signature(self, source: Principal) -> object | None:
        """What `may` depends on for this principal: its kind and identity policies (inline,
        managed, its groups and their managed policies), by object identity, so principals with
        the same policies share it, in this context, in its what-if sub-analyses (whose changed
        principal, group or policy version is a new object) and in the other analyses of a plan
        (whose snapshots share every object the plan did not change). None for a principal naming
        a policy or group the snapshot lacks: its answers are this context's own."""
        if source.arn in self._signatures:
            return self._signatures[source.arn]
        snap = self.snapshot
        parts: list[object | None] = [
            *source.inline_policies, *(snap.policies.get(a) for a in source.managed_policy_arns)
        ]
        if isinstance(source, User):
            for garn in source.group_arns:
                group = snap.groups.get(garn)
                parts.append(group)
                if group is not None:
                    # A what-if may replace a group's managed policy (a new default version) and
                    # keep the group object: its policies count, not only the group.
                    parts.extend(snap.policies.get(a) for a in group.managed_policy_arns)
        key: object | None = None
        if all(x is not None for x in parts):
            key = (type(source).__name__, tuple(id(x) for x in parts))
            self._prefilters.pinned.setdefault(key, tuple(parts))  # so the ids are never reused
        self._signatures[source.arn] = key
        return key

    # ------------------------------------------------------------------ permissions

    def may(self, principal: str, action: str) -> bool:
        """Cheap prefilter: could any policy of the principal allow the action on some resource?"""
        key = (principal, action)
        hit = self._may.get(key)
        if hit is None:
            hit = self.authorizer.may_allow(principal, action)
            self._may[key] = hit
        return hit

    def decide(self, principal: str, grant: Grant) -> Decision:
        """The (settled) decision of the grant's request, or of an equivalent one: a request on
        another resource with the same `Authorizer.equivalence` key, whose decision has the same
        outcome, reason and conditions (its statements may be that resource's policy's: edges
        read the outcome and conditions, `assume_blocked` the kinds of policy that denied)."""
        key = (principal, grant)
        hit = self._decisions.get(key)
        if hit is None:
            action, resource = grant.action, grant.resource
            # Keys cover context-free requests only (a context is the technique's own request keys).
            same = None if grant.context else self.authorizer.equivalence(principal, action, resource)
            hit = self._classes.get(same) if same is not None else None
            if hit is None:
                context = dict(grant.context) if grant.context else None  # None: the same as empty, sooner
                hit = settle(self.authorizer.decide(principal, action, resource, context), self.now)
                if same is not None:
                    self._classes[same] = hit
            self._decisions[key] = hit
        return hit

    def wants(self, source: str, target: str) -> bool:
        """Whether an edge source -> target is worth deciding in this round.

        (Taking over a harmless principal and rewriting it is composition's business:
        analysis/compose.py asks for the edges it needs in a round that wants every target.)
        """
        return self.wanted is None or target in self.wanted

    def what_if_context(self, key: tuple[str, str, str], changed: Snapshot) -> EdgeContext:
        """The sub-analysis of one what-if change (`key` = source, technique, via), for this round.

        The same key always means the same change to this snapshot, so its evaluator and decision
        caches are kept across rounds (and between the what-if phase and composition).
        """
        sub = self._whatifs.get(key)
        if sub is None:
            sub = self._whatifs[key] = EdgeContext(
                changed,
                Authorizer(changed, policy_cache=self.authorizer.policy_cache),
                admins=self.admins,
                index=self.index,
                prefilters=self._prefilters,  # keyed by policy objects (see _signature)
            )
        return sub.for_round(self.wanted)

    def edge(
        self,
        *,
        source: str,
        target: str,
        technique: str,
        candidates: Iterable[Alternative],
        via: str | None = None,
        unknown: Sequence[str] = (),
        description: str = "",
        always: bool = False,
    ) -> Edge | None:
        """Build the edge if at least one candidate alternative is possible, else None.

        `always` skips the `wants` filter (for a what-if's gate, which is not itself an edge).

        `unknown` names facts the snapshot lacks that the edge depends on (a failed inventory call,
        an unknown access-key count): they make the edge conditional whatever the evaluator says.
        """
        if not always and not self.wants(source, target):
            return None
        kept: list[Alternative] = []
        certain = False
        conditions: list[str] = []
        decide = self.decide
        for alt in candidates:
            alt_conditions: list[str] = []
            ok = True
            for grant in alt:
                d = decide(grant.principal or source, grant)
                if not d.possible:
                    ok = False
                    break
                if not d.allowed:
                    alt_conditions.extend(
                        f"{grant.label()}: {c}" for c in (d.conditions or ("depends on request context",))
                    )
            if not ok or alt in kept:
                continue
            kept.append(alt)
            if alt_conditions:
                conditions.extend(c for c in alt_conditions if c not in conditions)
            else:
                certain = True
        if not kept:
            return None
        edge_conditions = list(unknown)
        if not certain:
            edge_conditions.extend(c for c in conditions if c not in edge_conditions)
        return Edge(
            source=source,
            target=target,
            technique=technique,
            alternatives=tuple(kept),
            via=via,
            conditions=tuple(edge_conditions),
            description=description,
        )

    def others(self, source: Principal, principals: Iterable[P]) -> Iterator[P]:
        """The principals an edge from `source` may go to: not the source itself, and wanted.

        For one of the context's tuples sorted by ARN (`account_users`, `account_roles`,
        `roles_trusting`) and a smaller wanted set, the wanted set is walked instead (same order).
        """
        wanted = self.wanted
        if wanted is not None and isinstance(principals, tuple) and len(wanted) < len(principals):
            known = self.index.sorted_members.get(id(principals))
            if known is not None and known[0] is principals:
                members = known[1]
                for arn in self.wanted_sorted():
                    p = members.get(arn)
                    if p is not None and arn != source.arn:
                        yield p  # type: ignore[misc]  # a member of `principals`, so a P
                return
        for p in principals:
            if p.arn != source.arn and self.wants(source.arn, p.arn):
                yield p

    def wanted_sorted(self) -> tuple[str, ...]:
        """This round's wanted targets in ARN order (empty when every target is wanted)."""
        if self._wanted_sorted is None:
            self._wanted_sorted = tuple(sorted(self.wanted or ()))
        return self._wanted_sorted

    def _sorted(self, principals: tuple[P, ...]) -> tuple[P, ...]:
        """Register a tuple sorted by ARN for `others`' fast walk."""
        self.index.sorted_members[id(principals)] = (principals, {p.arn: p for p in principals})
        return principals

    # ------------------------------------------------------------------ the account

    def denied_on_all(
        self, source: Principal, action: str, principals: tuple[User | Role, ...], kind: str
    ) -> bool:
        """Whether `source`'s own policies deny `action`, unconditionally, on every one of
        `principals` (users or roles of its account, `kind` "user" or "role"): a plan's deny
        widened to `user/*` (Authorizer.denies_every). A checker then has no edge to find there."""
        prefix = f"arn:{source.arn.split(':', 2)[1]}:iam::{source.account_id}:{kind}/"
        if not self.authorizer.denies_every(source.arn, action, prefix):
            return False
        key = (id(principals), prefix)
        hit = self.index.prefixed.get(key)
        if hit is None or hit[0] is not principals:
            hit = self.index.prefixed[key] = (principals, all(p.arn.startswith(prefix) for p in principals))
        return hit[1]

    def account_users(self, account: str) -> tuple[User, ...]:
        """The users of `account`, sorted by ARN."""
        return self._of_account(self.index.users_by_account, self.snapshot.users.values(), account)

    def account_roles(self, account: str) -> tuple[Role, ...]:
        """The roles of `account`, sorted by ARN."""
        return self._of_account(self.index.roles_by_account, self.snapshot.roles.values(), account)

    def _of_account(self, cache: dict[str, tuple[P, ...]], every: Iterable[P], account: str) -> tuple[P, ...]:
        hit = cache.get(account)
        if hit is None:
            hit = cache[account] = self._sorted(
                tuple(sorted((p for p in every if p.account_id == account), key=lambda p: p.arn))
            )
        return hit

    def roles_trusting(self, service: str, account: str) -> tuple[Role, ...]:
        """Roles of `account` a service can assume: what a PassRole technique can hand over."""
        key = (service, account)
        hit = self.index.service_roles.get(key)
        if hit is None:
            hit = self._sorted(tuple(r for r in self.account_roles(account) if trusts_service(r, service)))
            self.index.service_roles[key] = hit
        return hit

    def trust_index(self) -> TrustIndex:
        """Which roles' trust policies may admit which principals (built once per snapshot)."""
        if self.index.trust is None:
            self.index.trust = TrustIndex(list(self.snapshot.roles.values()))
        return self.index.trust

    def has_instance_profile(self, role: Role) -> bool:
        if role.instance_profile_arns:
            return True
        if self.index.profiled is None:
            self.index.profiled = frozenset(
                r for p in self.snapshot.instance_profiles.values() for r in p.role_arns
            )
        return role.arn in self.index.profiled

    def resources(self, kind: str, account: str) -> tuple[Resource, ...]:
        if self.index.by_kind is None:
            by_kind: dict[str, list[Resource]] = {}
            for res in self.snapshot.resources:
                by_kind.setdefault(res.kind, []).append(res)
            self.index.by_kind = {k: tuple(sorted(v, key=lambda r: r.arn)) for k, v in by_kind.items()}
        key = (kind, account)
        hit = self.index.by_kind_account.get(key)
        if hit is None:
            hit = self.index.by_kind_account[key] = tuple(
                r for r in self.index.by_kind.get(kind, ()) if account_of(r.arn) == account
            )
        return hit

    def gaps(self, kind: str) -> tuple[Gap, ...]:
        """Regions where `kind` could not be listed (FAILED or MISSING inventory records)."""
        hit = self.index.gaps.get(kind)
        if hit is None:
            hit = tuple(
                Gap(
                    kind=kind,
                    region=rec.region,
                    why=f"{rec.state.value}" + (f": {rec.error}" if rec.error else ""),
                )
                for rec in self.snapshot.inventory
                if rec.kind == kind and rec.state is not InventoryState.OK
            )
            self.index.gaps[kind] = hit
        return hit

    def inventoried(self, kind: str) -> bool:
        """Whether the snapshot says anything at all about `kind` (else its techniques are unexamined)."""
        return self.snapshot.has_inventory and any(rec.kind == kind for rec in self.snapshot.inventory)


def any_of(*actions: str) -> tuple[tuple[str, ...], ...]:
    """`Checker.needs` for a technique that any one of `actions` can start."""
    return tuple((a,) for a in actions)


SourceKind = Literal["any", "user", "role"]
# A finder gets the edges earlier phases found for the same source (combinations build on them).
Finder = Callable[[EdgeContext, Principal, Sequence[Edge]], Iterable[Edge]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Checker:
    """One technique: what the source must at least be able to call, and how to find its edges.

    `needs` is the prefilter: the checker runs only when `may_allow` is true for every action in
    one of the tuples of `needs` (several tuples when the technique has several ways).
    `kinds` names the resource kinds the technique goes through: with no inventory at all, the
    technique is reported unexamined instead of run.
    `technique` is the id of its edges, `also` further ids some of its edges carry (one checker
    for two close techniques). Titles and descriptions live in data/techniques.json only
    (analysis/techniques.py); a test ties every id here to a row there.
    """

    technique: str
    needs: tuple[tuple[str, ...], ...]
    find: Finder
    sources: SourceKind = "any"
    kinds: tuple[str, ...] = ()
    # 0: direct techniques; 1: combinations of phase-0 edges; 2: what-if re-analyses of a changed
    # snapshot (not run inside another what-if, so they never recurse).
    phase: int = 0
    also: tuple[str, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.technique, *self.also)

    @property
    def title(self) -> str:
        """The techniques' titles, from the table."""
        return " / ".join(dict.fromkeys(technique_info(t).title for t in self.ids))

    def applies(self, ctx: EdgeContext, source: Principal) -> bool:
        if self.sources == "user" and not isinstance(source, User):
            return False
        if self.sources == "role" and not isinstance(source, Role):
            return False
        return any(all(ctx.may(source.arn, a) for a in way) for way in self.needs)
