"""A policy compiled once for evaluation: its statements' matchers, indexed by service prefix.

`CompiledPolicy.candidates(service)` returns only the statements whose Action list can name that
service (plus those with NotAction or a wildcard service part), so a decision touches a handful of
statements whatever the size of the policy. `PolicySet` merges those indexes for a list of policies
that many principals share (the same groups and managed policies), once per service for all of them.
Matchers and conditions are pure functions of their text and of the request (their memos are keyed
by principal), so `PolicyCache` builds one per distinct text and every statement that has it shares
it: 2,000 trust policies naming the account compile one Principal matcher, not 2,000.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from deescalate import sar
from deescalate.errors import PolicyError
from deescalate.model import Condition, Effect, Policy, PrincipalSpec, Statement, StatementMatch
from deescalate.policy.conditions import CompiledCondition, compile_condition
from deescalate.policy.match import ActionMatcher, Caller, PrincipalMatcher, ResourceMatcher, Via
from deescalate.policy.variables import LookupFn

log = logging.getLogger(__name__)

# Variables are replaced only in 2012-10-17 documents:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
VARIABLE_VERSION = "2012-10-17"

Unresolved = tuple[str, ...]


class Request(LookupFn):
    """One request as the statements see it: lower-cased action and its halves, resource, and the
    context lookup (this object is the lookup, to save one allocation per decision)."""

    __slots__ = ("action", "name", "resource", "service")

    def __init__(
        self,
        action: str,
        resource: str,
        *,
        given: Mapping[str, tuple[str, ...]],
        derived: Mapping[str, tuple[str, ...]],
        closed_keys: frozenset[str],
        closed_prefixes: tuple[str, ...],
        resource_derived: Mapping[str, tuple[str, ...]] | None,
        principal: str,
        memo_ok: bool,
        complete: bool = False,
    ) -> None:
        # The LookupFn fields (described there), set here directly: this runs once per decision.
        self.given = given
        self.derived = derived
        self.resource_derived = resource_derived
        self.closed_keys = closed_keys
        self.closed_prefixes = closed_prefixes
        self.complete = complete
        self.memo_key = principal if memo_ok else None
        self.resource_memo_key = (principal, resource) if memo_ok else None
        self.action = action
        self.service, _, self.name = action.partition(":")
        self.resource = resource


class CompiledStatement:
    __slots__ = (
        "action_negated",
        "actions",
        "any_resource",
        "certain",
        "conditions",
        "effect",
        "is_deny",
        "policy",
        "principal",
        "resource_negated",
        "resources",
        "statement",
        "trivial",
        "unresolved_matches",
    )

    def __init__(self, policy: Policy, st: Statement, where: str, cache: PolicyCache) -> None:
        substitute = policy.version == VARIABLE_VERSION
        self.policy = policy
        self.statement = st
        self.effect = st.effect
        self.is_deny = st.effect is Effect.DENY
        self.action_negated = st.not_actions is not None
        self.actions = cache.actions(st.not_actions if st.not_actions is not None else (st.actions or ()))
        self.resource_negated = st.not_resources is not None
        res = st.not_resources if st.not_resources is not None else st.resources
        # No Resource element (trust policies) means the statement is about the resource it is on.
        self.resources: ResourceMatcher | None = (
            cache.resources(res, substitute) if res is not None else None
        )
        # "Resource": "*" (checked first on the hot path, without a call).
        self.any_resource = self.resources is not None and self.resources.everything
        if st.principal is not None:
            self.principal: PrincipalMatcher | None = cache.principals(st.principal, False)
        elif st.not_principal is not None:
            self.principal = cache.principals(st.not_principal, True)
        else:
            self.principal = None
        self.conditions: tuple[CompiledCondition, ...] = tuple(
            cache.condition(c, substitute, f"{where}, {st.label()}") for c in st.conditions
        )
        self.certain = StatementMatch(
            policy=policy.ref, statement_index=st.index, sid=st.sid, effect=st.effect, unresolved=()
        )
        self.unresolved_matches: dict[Unresolved, StatementMatch] = {}
        self.trivial = (
            not self.is_deny
            and not self.action_negated
            and self.actions.everything
            and (self.resources is None or (self.resources.everything and not self.resource_negated))
            and self.principal is None
            and not self.conditions
        )

    def services(self) -> frozenset[str] | None:
        return None if self.action_negated else self.actions.services

    def evaluate(self, req: Request, caller: Caller | None) -> tuple[Unresolved, Via] | None:
        """None when the statement does not apply; else (unresolved conditions, how Principal matched).

        An empty `unresolved` tuple means it applies for certain. This is the hot path: it
        allocates nothing when the statement applies for certain.
        """
        hit = self.actions.memo.get(req.action)
        if hit is None:
            hit = self.actions.remember(req.action, req.service, req.name)
        if hit == self.action_negated:
            return None
        lookup = req
        pending: list[str] | None = None
        if self.any_resource:
            if self.resource_negated:  # NotResource "*": matches nothing
                return None
        elif self.resources is not None:
            r = self.resources.matches(req.resource, lookup)
            if r is None:  # an unresolvable variable: the statement does not apply
                return None
            if r.__class__ is str:
                pending = [f"NOT {r}" if self.resource_negated else str(r)]
            elif r == self.resource_negated:
                return None
        via = _DIRECT
        if self.principal is not None and caller is not None:
            if self.is_deny and self.principal.negated and caller.has_boundary:
                # "The NotPrincipal element with a Deny effect will always deny any IAM principal
                # that has a permissions boundary policy attached, regardless of the values
                # specified": https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
                m: Via | str = Via.DIRECT
            else:
                m = self.principal.match(caller)
            if isinstance(m, str) and req.complete:
                # A complete request names no session: a session ARN does not match it.
                m = Via.DIRECT if self.principal.negated else Via.NONE
            if isinstance(m, str):
                pending = [*(pending or ()), m]
            elif m is Via.NONE:
                return None
            else:
                via = m
        for c in self.conditions:
            ok = c.evaluate(lookup)
            if ok is None:
                pending = [*(pending or ()), c.label]
            elif not ok:
                return None
        if pending is None:
            return _CERTAIN[via]
        return tuple(pending), via

    def reads_resource(self, action: str) -> bool:
        """Whether `evaluate` reads the request's resource ARN itself for this (lower-case) action:
        the Action element covers it and there is a Resource element other than `*`. Everything
        else `evaluate` reads is the action, the caller and the context lookup
        (`Authorizer.equivalence`)."""
        return (
            self.actions.recall(action) != self.action_negated
            and self.resources is not None
            and not self.any_resource
        )

    def match(self, unresolved: Unresolved = ()) -> StatementMatch:
        if not unresolved:
            return self.certain
        hit = self.unresolved_matches.get(unresolved)
        if hit is None:
            if len(self.unresolved_matches) > 1000:
                self.unresolved_matches.clear()
            hit = self.unresolved_matches[unresolved] = StatementMatch(
                policy=self.policy.ref,
                statement_index=self.statement.index,
                sid=self.statement.sid,
                effect=self.effect,
                unresolved=unresolved,
            )
        return hit


_CERTAIN: dict[Via, tuple[Unresolved, Via]] = {v: ((), v) for v in Via}
_DIRECT = Via.DIRECT  # a module global: cheaper than the enum attribute on the hot path


class CompiledPolicy:
    __slots__ = ("_shape", "by_service", "policy", "statements", "wild")

    def __init__(self, policy: Policy, where: str, cache: PolicyCache) -> None:
        self.policy = policy
        self.statements = tuple(CompiledStatement(policy, st, where, cache) for st in policy.statements)
        by_service: dict[str, list[CompiledStatement]] = {}
        wild: list[CompiledStatement] = []
        for cs in self.statements:
            svcs = cs.services()
            if svcs is None:
                wild.append(cs)
            else:
                for s in svcs:
                    by_service.setdefault(s, []).append(cs)
        self.by_service = {k: tuple(v) for k, v in by_service.items()}
        self.wild = tuple(wild)
        self._shape: tuple[object, ...] | None = None

    def shape(self) -> tuple[object, ...]:
        """What the statements evaluate, without which policy they are in: equal for two policies
        of the same text (their matchers and conditions are the cache's shared objects), so two
        roles with the same trust policy give it the same shape."""
        if self._shape is None:
            self._shape = tuple(
                (st.is_deny, st.action_negated, st.actions, st.resource_negated, st.resources,
                 st.principal, st.conditions)
                for st in self.statements
            )
        return self._shape

    def candidates(self, service: str) -> tuple[CompiledStatement, ...]:
        hit = self.by_service.get(service)
        if hit is None:
            return self.wild
        return hit + self.wild if self.wild else hit


def merge(policies: Sequence[CompiledPolicy], service: str) -> tuple[CompiledStatement, ...]:
    """The candidate statements of several policies for one service, in policy order (each
    policy's `candidates`). Most policies have none for a given service: when one policy has
    some, its own tuple is returned as it is."""
    out: tuple[CompiledStatement, ...] = ()
    for cp in policies:
        hit = cp.by_service.get(service)
        if hit is not None:
            out = out + hit if out else hit
        if cp.wild:
            out = out + cp.wild if out else cp.wild
    return out


# Per service: (identity statements, boundary statements).
Candidates = tuple[tuple[CompiledStatement, ...], tuple[CompiledStatement, ...]]


class PolicySet:
    """Identity policies and boundary that several principals share, merged once per service."""

    __slots__ = ("boundary", "by_service", "policies")

    def __init__(self, policies: tuple[CompiledPolicy, ...], boundary: CompiledPolicy | None) -> None:
        self.policies = policies
        self.boundary = boundary
        self.by_service: dict[str, Candidates] = {}

    def candidates(self, service: str) -> Candidates:
        hit = self.by_service.get(service)
        if hit is None:
            hit = self.by_service[service] = (
                merge(self.policies, service),
                self.boundary.candidates(service) if self.boundary is not None else (),
            )
        return hit


class PolicyCache:
    """Compiles each policy object once (keyed by identity; the policy is kept alive with it), and
    shares matchers, conditions and policy sets that are equal (see the module docstring)."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[Policy, CompiledPolicy]] = {}
        self._actions: dict[tuple[str, ...], ActionMatcher] = {}
        self._resources: dict[tuple[tuple[str, ...], bool], ResourceMatcher] = {}
        self._principals: dict[tuple[PrincipalSpec, bool], PrincipalMatcher] = {}
        self._conditions: dict[tuple[Condition, bool], CompiledCondition] = {}
        self._sets: dict[tuple[tuple[CompiledPolicy, ...], CompiledPolicy | None], PolicySet] = {}

    def actions(self, patterns: tuple[str, ...]) -> ActionMatcher:
        hit = self._actions.get(patterns)
        if hit is None:
            hit = self._actions[patterns] = ActionMatcher(patterns)
        return hit

    def resources(self, patterns: tuple[str, ...], substitute: bool) -> ResourceMatcher:
        key = (patterns, substitute)
        hit = self._resources.get(key)
        if hit is None:
            hit = self._resources[key] = ResourceMatcher(patterns, substitute=substitute)
        return hit

    def principals(self, spec: PrincipalSpec, negated: bool) -> PrincipalMatcher:
        key = (spec, negated)
        hit = self._principals.get(key)
        if hit is None:
            hit = self._principals[key] = PrincipalMatcher(spec, negated=negated)
        return hit

    def condition(self, cond: Condition, substitute: bool, where: str) -> CompiledCondition:
        key = (cond, substitute)
        hit = self._conditions.get(key)
        if hit is None:  # an invalid condition raises here each time, naming where it was found
            hit = self._conditions[key] = compile_condition(cond, substitute=substitute, where=where)
        return hit

    def policy_set(self, policies: tuple[CompiledPolicy, ...], boundary: CompiledPolicy | None) -> PolicySet:
        key = (policies, boundary)
        hit = self._sets.get(key)
        if hit is None:
            hit = self._sets[key] = PolicySet(policies, boundary)
        return hit

    def get(self, policy: Policy, principal: str | None) -> CompiledPolicy:
        hit = self._cache.get(id(policy))
        if hit is not None and hit[0] is policy:
            return hit[1]
        where = policy.ref.label() + (f" (evaluated for {principal})" if principal else "")
        try:
            compiled = CompiledPolicy(policy, where, self)
        except PolicyError:
            raise
        except (ValueError, TypeError) as e:  # defensive: a malformed value AWS would have rejected
            raise PolicyError(f"{where}: cannot be evaluated ({e})") from e
        self._cache[id(policy)] = (policy, compiled)
        if log.isEnabledFor(logging.INFO):
            _note_unknown_actions(policy, where)
        return compiled


def _note_unknown_actions(policy: Policy, where: str) -> None:
    """Log (for `-v`) the actions a policy names that AWS's Service Authorization Reference does not
    list: a typo, or an action newer than the reference. The policy is evaluated as written."""
    unknown: dict[str, None] = {}
    for st in policy.statements:
        for a in st.actions or st.not_actions or ():
            service, sep, name = a.partition(":")
            if a == "*" or not sep:
                continue
            if "*" in service or "?" in service:
                continue
            exact = "*" not in name and "?" not in name
            if service.lower() not in sar.services() or (exact and not sar.is_known(a)):
                unknown[a] = None
    if unknown:
        log.info(
            "%s names %s not in AWS's Service Authorization Reference (%s); evaluated as written",
            where,
            ", ".join(unknown),
            sar.reference_version(),
        )
