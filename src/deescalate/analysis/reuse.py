"""Edges kept between analyses of snapshots that differ only in some principals' identity policies.

A plan's verification (remediate/verify.py) re-analyses the snapshot once per round with the
plan's denies in place. Those snapshots differ from one another (and from the one first analysed)
only in the inline policies and managed-policy attachments of the planned principals, and in the
deny-only managed policies the plan adds. Everything an edge *from* an unchanged principal depends
on is then unchanged too:

- the request's identity side: the source's own inline and managed policies, its groups' policies,
  its permissions boundary, and its account's SCPs;
- the request's resource side: trust policies, resource policies and RCPs, which a plan never
  touches (AWS evaluates a role's trust policy as the resource policy of `sts:AssumeRole`; a
  principal's identity policies never take part in a request made by another principal:
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html);
- who is an admin, and the admin-grade managed policies (a deny-only policy is never admin-grade);
- other principals' Allows, which a few techniques read (X-CodePipeline asks whether the pipeline's
  role may start builds, edges/codebuild.py): a plan adds and removes Deny statements only.

So `Reuse` keeps, per source, the result of each growth round (`explore` into a given frontier)
and composition's principal -> principal edges, together with the objects they were computed
from (the principal, its groups, its managed policies and boundary, compared by identity: the
plan's `apply_to_snapshot` replaces exactly the objects it changes). A source whose objects differ
is explored again; anything else the new snapshot changes (another field of a principal, a group,
a trust policy, a policy with an Allow, the admins, the targets, an organization, resources)
empties the store first, and so does an identity change that adds or removes an Allow, so a
reused edge is always the edge a fresh analysis would find.
The checkers' prefilters (`EdgeContext.applicable`) are shared too, keyed by the policy objects
they read, whatever the snapshot (`Prefilters`).
`tests/unit/analysis/test_reuse.py` checks that a plan's verifications equal fresh analyses.
Only analyses without conditional-wildcard summaries use it (a plan asks for none).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import TypeVar

from deescalate.analysis.edges import Explored, explore
from deescalate.analysis.edges.base import EdgeContext, Prefilters, Principal
from deescalate.model import Edge, Effect, Group, ManagedPolicy, Role, Snapshot, User

# The fields of a user or role a plan may change: edges from that principal are decided again.
IDENTITY_FIELDS = frozenset({"inline_policies", "managed_policy_arns"})
# Everything else a snapshot holds, compared by identity (a plan's snapshot shares these objects).
_SHARED_FIELDS = tuple(f.name for f in fields(Snapshot) if f.name not in {"users", "roles", "policies"})

Token = tuple[object, ...]
T = TypeVar("T")


def _plan_change(old: User | Role, new: User | Role, before: Snapshot, after: Snapshot) -> bool:
    """Whether `new` is `old` with only deny-only policies added or removed (what a plan does).

    Allows must stay as they were: an edge from another principal may depend on this one's Allows
    (X-CodePipeline asks whether the pipeline's role may start builds, edges/codebuild.py), while
    no edge from another principal depends on this one's Deny statements."""
    if type(old) is not type(new):
        return False
    kept = (f.name for f in fields(old) if f.name not in IDENTITY_FIELDS)
    if any(getattr(old, name) != getattr(new, name) for name in kept):
        return False
    inline = [p for p in old.inline_policies if p not in new.inline_policies]
    inline += [p for p in new.inline_policies if p not in old.inline_policies]
    if any(st.effect is not Effect.DENY for p in inline for st in p.statements):
        return False
    for arn in set(old.managed_policy_arns) ^ set(new.managed_policy_arns):
        held = [p for p in (before.policies.get(arn), after.policies.get(arn)) if p is not None]
        if not held or not all(_deny_only(p) for p in held):  # a missing policy could allow anything
            return False
    return True


def _attached(snapshot: Snapshot) -> set[str]:
    """Every managed-policy ARN a user, role or group of `snapshot` attaches or has as boundary."""
    out: set[str] = set()
    principals: list[User | Role] = [*snapshot.users.values(), *snapshot.roles.values()]
    for principal in principals:
        out.update(principal.managed_policy_arns)
        if principal.boundary_arn is not None:
            out.add(principal.boundary_arn)
    for group in snapshot.groups.values():
        out.update(group.managed_policy_arns)
    return out


def _deny_only(policy: ManagedPolicy) -> bool:
    return all(st.effect is Effect.DENY for version in policy.versions.values() for st in version.statements)


@dataclass(slots=True)
class Reuse:
    """One plan's store of edges from unchanged sources (see the module docstring)."""

    _snapshot: Snapshot | None = None
    _world: tuple[object, ...] = ()
    _explored: dict[tuple[frozenset[str] | None, bool], dict[str, tuple[Token, Explored]]] = field(
        default_factory=dict
    )
    _out: dict[str, tuple[Token, list[Edge]]] = field(default_factory=dict)
    # The checkers' prefilter answers, keyed by policy objects: valid for any snapshot, never
    # emptied (EdgeContext._signature).
    prefilters: Prefilters = field(default_factory=Prefilters)
    hits: int = 0
    misses: int = 0

    def begin(self, snapshot: Snapshot, world: tuple[object, ...]) -> None:
        """Start an analysis of `snapshot`; `world` is what else its edges depend on (the admins,
        the targets). Keeps what was stored only when the change since the last one is a plan's."""
        previous = self._snapshot
        if previous is not None and (world != self._world or not self._compatible(previous, snapshot)):
            self._explored.clear()
            self._out.clear()
        self.hits = self.misses = 0
        self._snapshot = snapshot
        self._world = world

    @staticmethod
    def _compatible(old: Snapshot, new: Snapshot) -> bool:
        if any(getattr(old, name) is not getattr(new, name) for name in _SHARED_FIELDS):
            return False
        for mine, theirs in ((old.users, new.users), (old.roles, new.roles)):
            if mine is theirs:
                continue
            if mine.keys() != theirs.keys():
                return False
            for arn, principal in theirs.items():
                before = mine[arn]
                if principal is not before and not _plan_change(before, principal, old, new):
                    return False
        if old.policies is not new.policies:
            for arn, policy in new.policies.items():
                was = old.policies.get(arn)
                # Only deny-only policies may come, go or change: a policy that allowed something
                # (an admin-grade one other principals' edges attach) must stay the same object.
                if was is not policy and not (_deny_only(policy) and (was is None or _deny_only(was))):
                    return False
            if any(arn not in new.policies for arn in old.policies):
                return False
            # A policy the old snapshot lacked but something attached there was "could allow
            # anything" to the evaluator (`Authorizer.may_allow`), which edges from other sources
            # read (X-CodePipeline asks whether the pipeline's role may start builds): a deny-only
            # policy arriving under that ARN changes them.
            arriving = new.policies.keys() - old.policies.keys()
            if arriving and not arriving.isdisjoint(_attached(old)):
                return False
        return True

    def token(self, snapshot: Snapshot, source: Principal) -> Token:
        """The objects `source`'s edges are computed from, compared by identity."""
        parts: list[object] = [source]
        policies = snapshot.policies
        parts.extend(policies.get(arn) for arn in source.managed_policy_arns)
        if source.boundary_arn is not None:
            parts.append(policies.get(source.boundary_arn))
        if isinstance(source, User):
            for garn in source.group_arns:
                group: Group | None = snapshot.groups.get(garn)
                parts.append(group)
                if group is not None:
                    parts.extend(policies.get(arn) for arn in group.managed_policy_arns)
        return tuple(parts)

    def explore(self, ctx: EdgeContext, source: Principal, *, what_if: bool = True) -> Explored:
        """`edges.explore` of one growth round, kept per source and asked again only when the
        source's objects changed."""
        store = self._explored.setdefault((ctx.wanted, what_if), {})
        return self._get(store, ctx.snapshot, source, lambda: explore(ctx, source, what_if=what_if))

    def out_edges(
        self, snapshot: Snapshot, source: Principal, compute: Callable[[], list[Edge]]
    ) -> list[Edge]:
        """Composition's principal -> principal edges of `source`, computed once per token."""
        return self._get(self._out, snapshot, source, compute)

    def _get(
        self,
        store: dict[str, tuple[Token, T]],
        snapshot: Snapshot,
        source: Principal,
        compute: Callable[[], T],
    ) -> T:
        token = self.token(snapshot, source)
        hit = store.get(source.arn)
        if hit is not None and _same(hit[0], token):
            self.hits += 1
            return hit[1]
        self.misses += 1
        value = compute()
        store[source.arn] = (token, value)
        return value


def _same(a: Sequence[object], b: Sequence[object]) -> bool:
    # By identity first (what a plan leaves alone); a principal or policy the plan rebuilt is the
    # same input when equal in value (a verification round re-applies the unchanged denies).
    return len(a) == len(b) and all(x is y or x == y for x, y in zip(a, b, strict=True))


__all__ = ["Reuse"]
