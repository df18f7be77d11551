"""The Authorizer: may this principal do this action on this resource? AWS's evaluation logic.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html

1. An explicit Deny in any applicable policy (SCP, RCP, resource-based, boundary, session, identity)
   decides: denied.
2. SCPs: for principals of a member account, an SCP must allow at every level from the root to the
   account; the management account and service-linked roles are exempt.
   https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
3. RCPs: likewise for resources of a member account, for the services RCPs cover.
   https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html
4. Same account: identity policies (limited by the boundary and the session policy) OR a
   resource-based policy. A resource policy naming the user ARN (or a role session ARN) grants
   without the identity policy and is not limited by the boundary; one naming the role ARN is
   limited by the boundary and session policy; one naming the account only delegates to the
   account, so the identity policy must allow too. A role's trust policy (and a KMS key policy) is
   required in every case: without its Allow nothing else grants.
5. Cross account: the identity side AND the resource policy must both allow.

Each gate is three-valued (YES / MAYBE / NO); MAYBE comes from a condition on a context key the
snapshot cannot supply, and makes the decision CONDITIONAL naming that condition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from deescalate.arn import account_of
from deescalate.errors import DeescalateError
from deescalate.model import (
    Decision,
    Outcome,
    Policy,
    Reason,
    Resource,
    Role,
    Snapshot,
    StatementMatch,
    User,
)
from deescalate.policy.compiled import CompiledPolicy, CompiledStatement, PolicyCache, Request
from deescalate.policy.context import PRINCIPAL_CLOSED_PREFIXES as _PREFIXES
from deescalate.policy.context import (
    SERVICE_CHAIN_KEYS,
    closed_keys_for,
    principal_values,
    resource_values,
    via_service,
)
from deescalate.policy.match import Caller, Via
from deescalate.policy.variables import normalise_context

NO, MAYBE, YES = 0, 1, 2
# Services whose resources RCPs govern (Organizations user guide, "List of AWS services that support RCPs").
RCP_SERVICES = frozenset({"s3", "sts", "kms", "sqs", "secretsmanager"})
# Actions governed by a role's trust policy when the resource is the role.
TRUST_ACTIONS = frozenset(
    {
        "sts:assumerole",
        "sts:assumerolewithsaml",
        "sts:assumerolewithwebidentity",
        "sts:tagsession",
        "sts:setsourceidentity",
        "sts:setcontext",
    }
)


_EMPTY: dict[str, tuple[str, ...]] = {}
# Decisions without statements are values: share one of each.
_DENIED = {r: Decision(outcome=Outcome.DENY, reason=r) for r in Reason}
_NO_ALLOW = _DENIED[Reason.NO_ALLOW]


class _Principal:
    """Everything about one principal that does not depend on the request, compiled once."""

    __slots__ = (
        "arn",
        "boundary",
        "boundary_missing",
        "by_service",
        "caller",
        "closed_keys",
        "identity",
        "may_allow_cache",
        "missing",
        "scp_applies",
        "scp_levels",
        "service_linked",
        "values",
    )

    def __init__(self, snap: Snapshot, obj: User | Role, cache: PolicyCache) -> None:
        self.arn = obj.arn
        is_role = isinstance(obj, Role)
        self.service_linked = isinstance(obj, Role) and obj.is_service_linked
        policies: list[Policy] = list(obj.inline_policies)
        managed_arns: list[str] = list(obj.managed_policy_arns)
        # Policies the principal has but the snapshot lacks could allow anything: a request they
        # would decide is conditional on them, never silently denied.
        missing: list[str] = []
        if isinstance(obj, User):
            for garn in obj.group_arns:
                group = snap.groups.get(garn)
                if group is not None:
                    policies.extend(group.inline_policies)
                    managed_arns.extend(group.managed_policy_arns)
                else:
                    missing.append(f"the policies of group {garn} (not in the snapshot) allow it")
        for marn in dict.fromkeys(managed_arns):
            mp = snap.policies.get(marn)
            if mp is not None and mp.default_version in mp.versions:
                policies.append(mp.document)
            else:
                missing.append(f"managed policy {marn} (not in the snapshot) allows it")
        self.missing = tuple(missing)
        self.identity = tuple(cache.get(p, obj.arn) for p in policies)
        self.boundary: CompiledPolicy | None = None
        self.boundary_missing: str | None = None
        if obj.boundary_arn:
            bp = snap.policies.get(obj.boundary_arn)
            if bp is not None and bp.default_version in bp.versions:
                self.boundary = cache.get(bp.document, obj.arn)
            else:
                self.boundary_missing = (
                    f"permissions boundary {obj.boundary_arn} (not in the snapshot) allows it"
                )
        self.caller = Caller(
            arn=obj.arn,
            is_role=is_role,
            name=obj.name,
            unique_id=obj.role_id if isinstance(obj, Role) else obj.user_id,
            has_boundary=bool(obj.boundary_arn),
        )
        self.values = principal_values(obj)
        self.closed_keys = closed_keys_for(obj)
        self.scp_levels: tuple[tuple[CompiledPolicy, ...], ...] = ()
        org = snap.organization
        account = obj.arn.split(":")[4]
        # SCPs do not affect the management account nor service-linked roles:
        # https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html
        if (
            org is not None
            and account == snap.account_id
            and account != org.management_account_id
            and not self.service_linked
        ):
            # A level with no SCP listed is one the snapshot has no SCP data for (AWS requires at
            # least one SCP per level once SCPs are enabled), so it does not restrict.
            self.scp_levels = tuple(
                tuple(cache.get(p, obj.arn) for p in node.scps) for node in org.path if node.scps
            )
        self.scp_applies = bool(self.scp_levels)
        self.may_allow_cache: dict[str, bool] = {}
        # service prefix -> (identity statements, boundary statements, per-SCP-level statements)
        self.by_service: dict[str, _Candidates] = {}

    def candidates(self, service: str) -> _Candidates:
        hit = self.by_service.get(service)
        if hit is None:
            hit = self.by_service[service] = (
                _merge(self.identity, service),
                self.boundary.candidates(service) if self.boundary is not None else (),
            )
        return hit


_Candidates = tuple[tuple[CompiledStatement, ...], tuple[CompiledStatement, ...]]
# A guardrail level (SCP/RCP) for one service: an unconditional Allow-all present?, its Deny and
# its other Allow statements. With the Allow-all (FullAWSAccess) only the Denies need evaluating.
_Guard = tuple[bool, tuple[CompiledStatement, ...], tuple[CompiledStatement, ...]]


def _guard(policies: Sequence[CompiledPolicy], service: str) -> _Guard:
    stmts = _merge(policies, service)
    return (
        any(s.trivial for s in stmts),
        tuple(s for s in stmts if s.is_deny),
        tuple(s for s in stmts if not s.is_deny and not s.trivial),
    )


def _scan_guard(
    level: _Guard,
    req: Request,
    caller: Caller | None,
    denies: list[StatementMatch],
    deny_maybe: list[StatementMatch],
) -> _Scan:
    trivial, deny_st, allow_st = level
    if deny_st:
        _scan(deny_st, req, caller, denies, deny_maybe)
    return _ALLOWED_LEVEL if trivial else _scan(allow_st, req, caller, denies, deny_maybe)


def _merge(policies: Sequence[CompiledPolicy], service: str) -> tuple[CompiledStatement, ...]:
    out: list[CompiledStatement] = []
    for cp in policies:
        out.extend(cp.candidates(service))
    return tuple(out)


def _scan(
    statements: Sequence[CompiledStatement],
    req: Request,
    caller: Caller | None,
    denies: list[StatementMatch],
    deny_maybe: list[StatementMatch],
) -> _Scan:
    """Evaluate statements: Deny matches go to the shared lists, Allow matches into the result."""
    out = _Scan()
    for st in statements:
        if st.trivial:  # Allow * on * without conditions (FullAWSAccess): no need to evaluate
            out.matches.append(st.certain)
            out.tri = YES
            continue
        r = st.evaluate(req, caller)
        if r is None:
            continue
        unresolved = r[0]
        if st.is_deny:
            (deny_maybe if unresolved else denies).append(st.match(unresolved))
        elif unresolved:
            out.matches.append(st.match(unresolved))
            out.labels.append(" AND ".join(unresolved))
            out.tri = max(out.tri, MAYBE)
        else:
            out.matches.append(st.certain)
            out.tri = YES
    return out


class _Target:
    """The resource side of a request: its policy, account, tags, and whether the policy is required."""

    __slots__ = (
        "account",
        "closed_prefixes",
        "label",
        "mandatory",
        "policy",
        "unknown_other_account",
        "values",
    )

    def __init__(
        self,
        *,
        account: str,
        policy: CompiledPolicy | None,
        mandatory: bool,
        tags: Mapping[str, str] | None,
        label: str,
        unknown_other_account: bool,
    ) -> None:
        self.account = account
        self.policy = policy
        self.mandatory = mandatory
        self.label = label
        self.unknown_other_account = unknown_other_account
        self.values, closes = resource_values(account, tags)
        self.closed_prefixes = _PREFIXES + closes


class _Scan:
    """Allow results of one group of policies."""

    __slots__ = ("labels", "matches", "tri")

    def __init__(self, tri: int = NO) -> None:
        self.tri = tri
        self.matches: list[StatementMatch] = []
        self.labels: list[str] = []


_ALLOWED_LEVEL = _Scan(YES)  # shared, never mutated: a guardrail level with an Allow-all


class Authorizer:
    """Decides requests over one snapshot. Policies are compiled once, principals on first use."""

    def __init__(self, snapshot: Snapshot, *, decision_cache: int = 0) -> None:
        """`decision_cache`: how many context-free decisions to remember (0 turns the cache off)."""
        self.snapshot = snapshot
        self._decision_cache_size = decision_cache
        self._decisions: dict[tuple[str, str, str], Decision] = {}
        self._cache = PolicyCache()
        self._principals: dict[str, _Principal] = {}
        self._resources: dict[str, Resource] = {r.arn: r for r in snapshot.resources}
        self._targets: dict[tuple[str, bool], _Target] = {}
        self._scp_by_service: dict[str, tuple[_Guard, ...]] = {}
        self._rcp_by_service: dict[str, tuple[_Guard, ...]] = {}
        org = snapshot.organization
        self._rcp_levels: tuple[tuple[CompiledPolicy, ...], ...] = ()
        if org is not None and org.rcps_enabled and snapshot.account_id != org.management_account_id:
            self._rcp_levels = tuple(
                tuple(self._cache.get(p, None) for p in node.rcps) for node in org.path if node.rcps
            )

    # ------------------------------------------------------------------ lookups

    def _principal(self, arn: str) -> _Principal:
        p = self._principals.get(arn)
        if p is None:
            obj: User | Role | None = self.snapshot.users.get(arn) or self.snapshot.roles.get(arn)
            if obj is None:
                raise DeescalateError(
                    f"principal {arn} is not a user or role in the snapshot"
                    + (f" {self.snapshot.source}" if self.snapshot.source else "")
                )
            p = self._principals[arn] = _Principal(self.snapshot, obj, self._cache)
        return p

    def _target(self, resource: str, trust: bool, principal: _Principal) -> _Target:
        key = (resource, trust)
        t = self._targets.get(key)
        if t is not None:
            return t
        snap = self.snapshot
        role = snap.roles.get(resource)
        user = snap.users.get(resource)
        res = self._resources.get(resource)
        in_snapshot = role is not None or user is not None or res is not None
        account = account_of(resource) or (snap.account_id if in_snapshot else "")
        policy: CompiledPolicy | None = None
        mandatory = False
        label = resource
        tags: Mapping[str, str] | None = None
        if role is not None:
            tags = role.tags
            if trust:
                mandatory = True  # a role can be assumed only if its trust policy allows
                label = f"the trust policy of {resource}"
                if role.trust_policy is not None:
                    policy = self._cache.get(role.trust_policy, principal.arn)
        elif user is not None:
            tags = user.tags
        elif res is not None and res.policy is not None:
            policy = self._cache.get(res.policy, principal.arn)
            label = f"the resource policy of {resource}"
            # KMS: "no AWS principal has any permissions to a KMS key unless ... the key policy"
            # https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html
            mandatory = res.arn.split(":")[2:3] == ["kms"]
        other = bool(account) and account != "*" and not in_snapshot and account != snap.account_id
        t = _Target(
            account=account,
            policy=policy,
            mandatory=mandatory,
            tags=tags,
            label=label,
            unknown_other_account=other,
        )
        if len(self._targets) > 200_000:
            self._targets.clear()
        self._targets[key] = t
        return t

    # ------------------------------------------------------------------ the API

    def may_allow(self, principal: str, action: str) -> bool:
        """Could any identity Allow statement of this principal match this action on some resource?

        A cheap superset filter (ignores resources, conditions, denies, boundaries).
        """
        p = self._principal(principal)
        if p.missing:
            return True  # a policy the snapshot lacks could allow it
        a = action.lower()
        hit = p.may_allow_cache.get(a)
        if hit is None:
            svc, _, name = a.partition(":")
            hit = any(
                not st.is_deny and st.actions.matches(a, svc, name) != st.action_negated
                for st in p.candidates(svc)[0]
            )
            p.may_allow_cache[a] = hit
        return hit

    def decide(
        self,
        principal: str,
        action: str,
        resource: str,
        context: Mapping[str, str | Sequence[str]] | None = None,
        *,
        session_policies: Sequence[Policy] = (),
    ) -> Decision:
        p = self._principal(principal)
        act = action.lower()
        key = None
        if self._decision_cache_size and not context and not session_policies:
            key = (principal, act, resource)
            hit = self._decisions.get(key)
            if hit is not None:
                return hit
        svc = act.partition(":")[0]
        target = self._target(resource, act in TRUST_ACTIONS, p)
        given = normalise_context(context) if context else _EMPTY
        closed = p.closed_keys
        memo_ok = True
        if given and via_service(given):
            closed = closed - SERVICE_CHAIN_KEYS
            memo_ok = False
        req = Request(
            act,
            resource,
            given=given,
            derived=p.values,
            closed_keys=closed,
            closed_prefixes=target.closed_prefixes,
            resource_derived=target.values,
            principal=p.arn,
            memo_ok=memo_ok,
        )
        caller = p.caller
        denies: list[StatementMatch] = []
        deny_maybe: list[StatementMatch] = []
        ident_st, bound_st = p.candidates(svc)
        identity = _scan(ident_st, req, None, denies, deny_maybe)
        boundary = _scan(bound_st, req, None, denies, deny_maybe) if p.boundary is not None else None
        session = None
        if session_policies:
            compiled = [self._cache.get(sp, principal) for sp in session_policies]
            session = _scan(_merge(compiled, svc), req, None, denies, deny_maybe)
        scps: list[_Scan] = []
        if p.scp_applies:
            # Every principal the SCPs apply to is in the snapshot's account: one set of levels.
            levels = self._scp_by_service.get(svc)
            if levels is None:
                levels = self._scp_by_service[svc] = tuple(_guard(lv, svc) for lv in p.scp_levels)
            scps = [_scan_guard(lv, req, None, denies, deny_maybe) for lv in levels]
        rcps: list[_Scan] = []
        # RCPs: resources of member accounts, supported services; not the management account, and
        # not actions of service-linked roles ("Resources and entities not restricted by RCPs",
        # https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html#actions-not-restricted-by-rcps)
        if (
            self._rcp_levels
            and svc in RCP_SERVICES
            and not p.service_linked
            and (target.account in ("", self.snapshot.account_id))
        ):
            rlevels = self._rcp_by_service.get(svc)
            if rlevels is None:
                rlevels = self._rcp_by_service[svc] = tuple(_guard(lv, svc) for lv in self._rcp_levels)
            rcps = [_scan_guard(lv, req, caller, denies, deny_maybe) for lv in rlevels]
        # Resource-based policy: allows split by how the Principal element named the caller.
        by_via: dict[Via, _Scan] = {}
        if target.policy is not None:
            for st in target.policy.candidates(svc):
                r = st.evaluate(req, caller)
                if r is None:
                    continue
                unresolved, via = r
                if st.is_deny:
                    (deny_maybe if unresolved else denies).append(st.match(unresolved))
                    continue
                g = by_via.get(via)
                if g is None:
                    g = by_via[via] = _Scan()
                g.matches.append(st.match(unresolved))
                if unresolved:
                    g.labels.append(" AND ".join(unresolved))
                    g.tri = max(g.tri, MAYBE)
                else:
                    g.tri = YES

        if denies:
            decision = Decision(outcome=Outcome.DENY, reason=Reason.EXPLICIT_DENY, statements=tuple(denies))
        else:
            decision = self._combine(
                p,
                target,
                identity=identity,
                boundary=boundary,
                session=session,
                scps=scps,
                rcps=rcps,
                by_via=by_via,
                deny_maybe=deny_maybe,
            )
        if key is not None:
            if len(self._decisions) >= self._decision_cache_size:
                self._decisions.clear()
            self._decisions[key] = decision
        return decision

    # ------------------------------------------------------------------ combining the gates

    def _combine(
        self,
        p: _Principal,
        target: _Target,
        *,
        identity: _Scan,
        boundary: _Scan | None,
        session: _Scan | None,
        scps: list[_Scan],
        rcps: list[_Scan],
        by_via: dict[Via, _Scan],
        deny_maybe: list[StatementMatch],
    ) -> Decision:
        if (
            not by_via
            and boundary is None
            and session is None
            and not rcps
            and not deny_maybe
            and not target.unknown_other_account
            and not target.mandatory
            and p.boundary_missing is None
            and not p.missing
            and target.account in ("", p.caller.account)
        ):
            # The common case, same account and no resource policy: identity policies and SCPs
            # alone decide (the same answer as the general rules below, sooner).
            scp_tri = YES
            for g in scps:
                scp_tri = min(scp_tri, g.tri)
            if scp_tri == NO:
                return _DENIED[Reason.SCP]
            if identity.tri == NO:
                return _NO_ALLOW
            if identity.tri == YES and scp_tri == YES:
                return Decision(
                    outcome=Outcome.ALLOW, reason=Reason.ALLOWED, statements=tuple(identity.matches)
                )
        labels: list[str] = []
        b_tri = YES if boundary is None else boundary.tri
        if p.boundary_missing is not None:
            b_tri, labels = MAYBE, [p.boundary_missing]
        s_tri = YES if session is None else session.tri
        id_tri = identity.tri
        if id_tri == NO and p.missing:
            id_tri = MAYBE
            labels.extend(p.missing)
        i_tri = min(id_tri, b_tri, s_tri)
        d_tri = by_via[Via.DIRECT].tri if Via.DIRECT in by_via else NO
        r_tri = by_via[Via.ROLE].tri if Via.ROLE in by_via else NO
        a_tri = by_via[Via.ACCOUNT].tri if Via.ACCOUNT in by_via else NO
        limited = min(r_tri, b_tri, s_tri)  # a grant to the role ARN still meets boundary and session
        cross = bool(target.account) and target.account != p.caller.account
        if target.unknown_other_account:
            # The resource is in another account the snapshot does not hold: its policy is unknown.
            res_tri = MAYBE
            labels.append(f"the resource-based policy of {target.label} (account {target.account}) allows it")
            allowed = min(i_tri, res_tri)
        elif cross:
            res_tri = max(d_tri, r_tri, a_tri)
            allowed = min(i_tri, res_tri)
        elif target.mandatory:
            res_tri = max(d_tri, limited, a_tri)
            allowed = max(d_tri, limited, min(a_tri, i_tri))
        else:
            res_tri = max(d_tri, limited)
            allowed = max(i_tri, d_tri, limited)
        scp_tri = YES
        for g in scps:
            scp_tri = min(scp_tri, g.tri)
        rcp_tri = YES
        for g in rcps:
            rcp_tri = min(rcp_tri, g.tri)
        final = min(allowed, scp_tri, rcp_tri)

        if final == NO:
            if scp_tri == NO:
                return _DENIED[Reason.SCP]
            if rcp_tri == NO:
                return _DENIED[Reason.RCP]
            reason = Reason.NO_ALLOW
            side = max(identity.tri, r_tri)
            if not (target.mandatory and res_tri == NO) and side > NO:
                if b_tri == NO:
                    reason = Reason.BOUNDARY
                elif s_tri == NO:
                    reason = Reason.SESSION_POLICY
            return _DENIED[reason]

        statements: list[StatementMatch] = list(identity.matches)
        for g in by_via.values():
            statements.extend(g.matches)
        if boundary is not None:
            statements.extend(boundary.matches)
        if session is not None:
            statements.extend(session.matches)
        statements.extend(deny_maybe)
        if final == YES and not deny_maybe:
            return Decision(outcome=Outcome.ALLOW, reason=Reason.ALLOWED, statements=tuple(statements))
        conditions: list[str] = []
        if final == MAYBE:
            groups = [identity, *by_via.values(), *scps, *rcps]
            groups += [g for g in (boundary, session) if g is not None]
            for g in groups:
                if g.tri == MAYBE:
                    conditions.extend(f"allowed if {lab}" for lab in g.labels)
            conditions.extend(labels)
        conditions.extend(f"denied if {' AND '.join(m.unresolved)}" for m in deny_maybe)
        return Decision(
            outcome=Outcome.CONDITIONAL,
            reason=Reason.ALLOWED,
            statements=tuple(statements),
            conditions=tuple(dict.fromkeys(conditions)),
        )


def decide(
    snapshot: Snapshot,
    principal: str,
    action: str,
    resource: str,
    context: Mapping[str, str | Sequence[str]] | None = None,
) -> Decision:
    """One-off convenience; build an `Authorizer` once when deciding many requests."""
    return Authorizer(snapshot).decide(principal, action, resource, context)
