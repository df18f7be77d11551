"""The Authorizer: may this principal do this action on this resource? AWS's evaluation logic.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html

1. An explicit Deny in any applicable policy (SCP, RCP, resource-based, boundary, session, identity)
   decides: denied.
2. SCPs: for principals of a member account, an SCP must allow at every level from the root to the
   account, along the principal's OWN account's path (`Snapshot.org_of`); the management account
   and service-linked roles are exempt.
   https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
3. RCPs: likewise for resources of a member account, along the path of the account that owns the
   resource (the caller's for a resource ARN without an account), for the services RCPs cover;
   the management account's resources, service-linked roles' calls and kms:RetireGrant are exempt.
   https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html
4. Same account: identity policies (limited by the boundary and the session policy) OR a
   resource-based policy. A resource policy naming the user ARN (or a role session ARN) grants
   without the identity policy and is not limited by the boundary; one naming the role ARN is
   limited by the boundary and session policy; one naming the account only delegates to the
   account, so the identity policy must allow too. A role's trust policy (and a KMS key policy) is
   required in every case: without its Allow nothing else grants.
5. Cross account: the identity side AND the resource policy must both allow.
0. Before all that, rules outside the documents (`protected.py`): sts:GetCallerIdentity is always
   allowed; changes to AWS managed policies, service-linked and Identity Center roles and
   `alias/aws/` KMS aliases are always denied.

Each gate is three-valued (YES / MAYBE / NO); MAYBE comes from a condition on a context key the
snapshot cannot supply, and makes the decision CONDITIONAL naming that condition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from deescalate.arn import account_of, service_of
from deescalate.errors import DeescalateError
from deescalate.model import (
    Decision,
    Policy,
    Reason,
    Resource,
    Role,
    Snapshot,
    StatementMatch,
    User,
)
from deescalate.policy.combine import (
    ALLOWED,
    ALLOWED_UNLESS,
    EXPLICIT_DENY,
    NO_ALLOW,
    Decisions,
    combine,
    guard_denied,
)
from deescalate.policy.compiled import CompiledPolicy, CompiledStatement, PolicyCache, Request, merge
from deescalate.policy.context import SERVICE_CHAIN_KEYS, org_values, via_service
from deescalate.policy.match import ResourceMatcher, Via
from deescalate.policy.protected import ALWAYS_ALLOWED, SPECIAL_ACTIONS, special
from deescalate.policy.scan import NO, YES, Guard, Scan, guards, scan, scan_guard, scan_resource
from deescalate.policy.subjects import PrincipalView, TargetView, level_name
from deescalate.policy.variables import normalise_context

# Services whose actions RCPs govern, by prefix: AWS Organizations user guide, "List of AWS services
# that support RCPs" (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html#rcp-supported-services).
RCP_SERVICES = frozenset(
    {
        "aoss", "appconfig", "appstream", "autoscaling", "autoscaling-plans", "budgets",
        "clouddirectory", "cloudfront", "cloudsearch", "cloudtrail-data", "codeartifact", "codebuild",
        "codecommit", "codepipeline", "cognito-identity", "cognito-idp", "comprehend",
        "comprehendmedical", "compute-optimizer", "cost-optimization-hub", "dax", "dsql", "dynamodb",
        "ecr", "ecr-public", "events", "firehose", "fis", "fms", "gamelift", "health", "inspector-scan",
        "kendra", "kinesisvideo", "kms", "logs", "memorydb", "networkmonitor", "notifications",
        "opensearch", "pca-connector-ad", "personalize", "polly", "pricing", "resource-groups",
        "rolesanywhere", "s3", "secretsmanager", "servicediscovery", "signin", "sqs", "sts", "support",
        "swf", "textract", "timestream-influxdb", "transcribe", "transfer", "translate", "wafv2",
        "workspaces", "xray",
    }
)
# Actions RCPs never restrict, whatever their service (same page, "Resources and entities not
# restricted by RCPs").
RCP_EXEMPT_ACTIONS = frozenset({"kms:retiregrant"})
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
_NO_VIA: dict[Via, Scan] = {}  # shared, never mutated: no resource-based policy


class Authorizer:
    """Decides requests over one snapshot. Policies are compiled once, principals on first use."""

    def __init__(
        self, snapshot: Snapshot, *, decision_cache: int = 0, policy_cache: PolicyCache | None = None
    ) -> None:
        """`decision_cache`: how many context-free decisions to remember (0 turns the cache off).
        `policy_cache`: compiled policies to share with another Authorizer over a snapshot that shares
        policy objects (the analysis' what-ifs: compiled forms are keyed by the policy object)."""
        self.snapshot = snapshot
        self._decision_cache_size = decision_cache
        self._decisions: dict[tuple[str, str, str], Decision] = {}
        self._decisions_made = Decisions()
        self._cache = policy_cache if policy_cache is not None else PolicyCache()
        self._principals: dict[str, PrincipalView] = {}
        self._resources: dict[str, Resource] = {r.arn: r for r in snapshot.resources}
        self._targets: dict[tuple[str, bool], TargetView] = {}
        # The accounts whose IAM (and inventory) the snapshot holds: their roles and resources are
        # known, where another account's are not.
        self._accounts = frozenset(snapshot.all_accounts())
        # (account, service) -> that account's SCP / RCP levels for the service
        self._scp_by_service: dict[tuple[str, str], tuple[Guard, ...]] = {}
        self._rcp_by_service: dict[tuple[str, str], tuple[Guard, ...]] = {}
        # account -> its RCP levels (compiled) and their names, root first; () when RCPs do not apply
        self._rcp_accounts: dict[str, tuple[tuple[tuple[CompiledPolicy, ...], ...], tuple[str, ...]]] = {}
        # (principal, action, target account) -> statements whose Resource element it reads (equivalence)
        self._readers: dict[tuple[str, str, str], tuple[CompiledStatement, ...]] = {}
        # id of a candidate-statement tuple -> (the tuple, kept alive; action -> may_allow's answer)
        self._may_by_statements: dict[int, tuple[tuple[CompiledStatement, ...], dict[str, bool]]] = {}
        self._denies_every: dict[tuple[str, str, str], bool] = {}
        # (a resource's own policy, action) -> its statements whose Resource element that reads
        self._own_readers: dict[tuple[CompiledPolicy, str], tuple[CompiledStatement, ...]] = {}

    def _rcps_of(self, account: str) -> tuple[tuple[tuple[CompiledPolicy, ...], ...], tuple[str, ...]]:
        """The RCP levels guarding resources of `account`: none for the management account, an
        organization without RCPs enabled, or an account whose organization path is unknown."""
        hit = self._rcp_accounts.get(account)
        if hit is None:
            org = self.snapshot.org_of(account) if account else None
            if org is None or not org.rcps_enabled or account == org.management_account_id:
                hit = ((), ())
            else:
                levels = [node for node in org.path if node.rcps]
                hit = (
                    tuple(tuple(self._cache.get(p, None) for p in node.rcps) for node in levels),
                    tuple(level_name(n) for n in levels),
                )
            self._rcp_accounts[account] = hit
        return hit

    @property
    def policy_cache(self) -> PolicyCache:
        """The compiled policies (see `policy_cache` in __init__)."""
        return self._cache

    # ------------------------------------------------------------------ lookups

    def _principal(self, arn: str) -> PrincipalView:
        p = self._principals.get(arn)
        if p is None:
            obj: User | Role | None = self.snapshot.users.get(arn) or self.snapshot.roles.get(arn)
            if obj is None:
                raise DeescalateError(
                    f"principal {arn} is not a user or role in the snapshot"
                    + (f" {self.snapshot.source}" if self.snapshot.source else "")
                )
            p = self._principals[arn] = PrincipalView(self.snapshot, obj, self._cache)
        return p

    def _target(self, resource: str, trust: bool, principal: PrincipalView) -> TargetView:
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
        if account == "aws":
            # AWS managed policies (arn:aws:iam::aws:policy/...) belong to no customer account and
            # have no resource-based policy: identity policies alone decide reading or attaching them.
            account = ""
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
        elif trust and account in self._accounts and ":role/" in resource:
            # A role of an account of the snapshot that the snapshot does not hold does not exist:
            # nothing can assume it (IAM is collected whole).
            mandatory = True
            label = f"{resource} (not a role in the snapshot)"
        elif user is not None:
            tags = user.tags
        elif res is not None and res.policy is not None:
            policy = self._cache.get(res.policy, principal.arn)
            label = f"the resource policy of {resource}"
            # KMS: "no AWS principal has any permissions to a KMS key unless ... the key policy"
            # https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html
            mandatory = service_of(res.arn) == "kms"
        other = bool(account) and account != "*" and not in_snapshot and account not in self._accounts
        t = TargetView(
            account=account,
            policy=policy,
            mandatory=mandatory,
            tags=tags,
            label=label,
            unknown_other_account=other,
        )
        t.values.update(org_values(snap, account, "resource"))
        if len(self._targets) > 200_000:
            self._targets.clear()
        self._targets[key] = t
        return t

    def _scp_guards(self, p: PrincipalView, svc: str) -> tuple[Guard, ...]:
        """The SCP levels of the principal's own account (its organization path) for a service;
        only for a principal SCPs apply to (`p.scp_applies`)."""
        skey = (p.scp_account, svc)
        levels = self._scp_by_service.get(skey)
        if levels is None:
            levels = self._scp_by_service[skey] = guards(p.scp_levels, svc)
        return levels

    def _rcp_guards(
        self, p: PrincipalView, act: str, svc: str, target: TargetView
    ) -> tuple[tuple[Guard, ...], tuple[str, ...]]:
        """The RCP levels guarding this request, and the levels' names (root first).

        RCPs: those of the account that owns the resource; for a resource ARN without an account
        (an action with no resource type, an S3 bucket), the caller's. Not the management account,
        not calls of service-linked roles, not kms:RetireGrant ("Resources and entities not
        restricted by RCPs",
        https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html#actions-not-restricted-by-rcps)
        """
        if svc not in RCP_SERVICES or p.service_linked or act in RCP_EXEMPT_ACTIONS:
            return (), ()
        raccount = target.account or p.caller.account
        rcp_levels, rcp_names = self._rcps_of(raccount)
        if not rcp_levels:
            return (), rcp_names
        rkey = (raccount, svc)
        rlevels = self._rcp_by_service.get(rkey)
        if rlevels is None:
            rlevels = self._rcp_by_service[rkey] = guards(rcp_levels, svc)
        return rlevels, rcp_names

    # ------------------------------------------------------------------ the API

    def equivalence(self, principal: str, action: str, resource: str) -> object | None:
        """A key two context-free requests of `principal` share only if `decide` gives them the
        same outcome, reason and conditions (its `statements` and `detail` may still name each
        resource's own policy); None for requests it does not cover (a special action that a rule
        outside the policies decides, e.g. a change to a service-linked role; a resource of an
        account the snapshot does not hold: their decisions name the resource).

        A decision reads the resource ARN only through the Resource elements of the statements it
        evaluates (`CompiledStatement.reads_resource`); the rest of what it reads of the resource
        is the target's account, tags, whether its policy is required, and that policy's
        statements, whose matchers are shared between equal texts (`CompiledPolicy.shape`). So the
        key is the principal, the action, those, and what each Resource element that is read says
        of the ARN: the roles that trust one account with the same trust policy, which a principal
        may assume through one pattern, share one key, and the analysis decides them once
        (EdgeContext.decide).
        """
        p = self._principals.get(principal)
        if p is None:
            p = self._principal(principal)
        act = action.lower()
        if act in SPECIAL_ACTIONS and special(act, resource) is not None:
            return None  # otherwise (an unprotected role, say) the policies decide, as below
        target = self._target(resource, act in TRUST_ACTIONS, p)
        if target.unknown_other_account:
            return None
        shape = target.key()
        rkey = (principal, act, target.account)
        readers = self._readers.get(rkey)
        if readers is None:
            readers = self._readers[rkey] = self._resource_readers(p, act, target)
        if target.policy is not None:
            okey = (target.policy, act)
            own = self._own_readers.get(okey)
            if own is None:
                svc = act.partition(":")[0]
                own = self._own_readers[okey] = tuple(
                    st for st in target.policy.candidates(svc) if st.reads_resource(act)
                )
            if own:
                readers = readers + own
        if not readers:
            return (principal, act, shape)
        req: Request | None = None
        parts: list[object] = []
        for st in readers:
            m = st.resources
            assert m is not None  # reads_resource
            if not m.templates:
                parts.append(m.matches_literal(resource))
                continue
            if req is None:
                req = Request(
                    act,
                    resource,
                    given=_EMPTY,
                    derived=p.values,
                    closed_keys=p.closed_keys,
                    closed_prefixes=target.closed_prefixes,
                    resource_derived=target.values,
                    principal=p.arn,
                    memo_ok=True,
                )
            parts.append(m.matches(resource, req))
        return (principal, act, shape, tuple(parts))

    def _resource_readers(
        self, p: PrincipalView, act: str, target: TargetView
    ) -> tuple[CompiledStatement, ...]:
        """The statements outside the resource's own policy whose Resource element a decision of
        `act` by `p` reads (identity, boundary, SCP levels; RCP levels of the target's account)."""
        svc = act.partition(":")[0]
        ident_st, bound_st = p.candidates(svc)
        statements = list(ident_st)
        if p.boundary is not None:
            statements.extend(bound_st)
        levels = list(self._scp_guards(p, svc)) if p.scp_applies else []
        levels.extend(self._rcp_guards(p, act, svc, target)[0])
        for _, deny_st, allow_st in levels:
            statements.extend(deny_st)
            statements.extend(allow_st)
        return tuple(st for st in statements if st.reads_resource(act))

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
            statements = p.candidates(a.partition(":")[0])[0]
            # Principals with the same policies share their candidate tuple: answer once per tuple.
            shared = self._may_by_statements.get(id(statements))
            if shared is None or shared[0] is not statements:
                shared = self._may_by_statements[id(statements)] = (statements, {})
            hit = shared[1].get(a)
            if hit is None:
                hit = False
                for st in statements:
                    if not st.is_deny and st.actions.recall(a) != st.action_negated:
                        hit = True
                        break
                shared[1][a] = hit
            p.may_allow_cache[a] = hit
        return hit

    def denies_every(self, principal: str, action: str, prefix: str) -> bool:
        """Whether the principal's identity policies or permissions boundary hold an unconditional
        Deny of `action` on every ARN that starts with `prefix` (Resource `*`, or a `X*` pattern
        with X a start of `prefix`): every such request is then denied, whatever else any policy
        says, as "an explicit deny in any of these policies overrides the allow"
        (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
        A plan's deny widened to `user/*` is one; a checker then skips its loop over the users.
        False for the actions AWS allows under any Deny (`protected.ALWAYS_ALLOWED`)."""
        a = action.lower()
        key = (principal, a, prefix)
        hit = self._denies_every.get(key)
        if hit is None:
            hit = False
            if a not in ALWAYS_ALLOWED:
                p = self._principal(principal)
                ident, bound = p.candidates(a.partition(":")[0])
                for st in (*ident, *(bound if p.boundary is not None else ())):
                    if (
                        st.is_deny
                        and not st.conditions
                        and not st.resource_negated
                        and st.resources is not None
                        and st.actions.recall(a) != st.action_negated
                        and st.resources.covers(prefix)
                    ):
                        hit = True
                        break
            self._denies_every[key] = hit
        return hit

    def may_allow_on(self, principal: str, action: str) -> tuple[ResourceMatcher, ...] | None:
        """The Resource elements of the identity Allow statements that could match this action:
        a request on a resource none of them matches is not allowed by an identity policy. None
        when that cannot be told from patterns alone: a statement with NotResource, `*` or a policy
        variable, or a policy the snapshot lacks. A superset filter, like `may_allow` (conditions,
        denies and boundaries are not read)."""
        p = self._principal(principal)
        if p.missing:
            return None
        a = action.lower()
        if a in p.may_allow_on_cache:
            return p.may_allow_on_cache[a]
        svc, _, name = a.partition(":")
        found: list[ResourceMatcher] = []
        hit: tuple[ResourceMatcher, ...] | None = None
        for st in p.candidates(svc)[0]:
            if st.is_deny or st.actions.matches(a, svc, name) == st.action_negated:
                continue
            m = st.resources
            if m is None or st.resource_negated or m.everything or m.templates:
                break
            found.append(m)
        else:
            hit = tuple(found)
        p.may_allow_on_cache[a] = hit
        return hit

    def decide(
        self,
        principal: str,
        action: str,
        resource: str,
        context: Mapping[str, str | Sequence[str]] | None = None,
        *,
        session_policies: Sequence[Policy] = (),
        complete_context: bool = False,
    ) -> Decision:
        """The decision for one request. `complete_context`: the context is the whole request, as
        in AWS's policy simulator: a key not given is absent (never unknown), a policy or an
        account the snapshot lacks allows nothing, so the answer is ALLOW or DENY, never
        CONDITIONAL. By default unknown keys leave the decision CONDITIONAL (an attacker picks
        the context)."""
        p = self._principals.get(principal)
        if p is None:
            p = self._principal(principal)
        act = action.lower()
        if act in SPECIAL_ACTIONS:
            fixed = special(act, resource)
            if fixed is not None:
                return fixed
        key = None
        if self._decision_cache_size and not context and not session_policies and not complete_context:
            key = (principal, act, resource)
            hit = self._decisions.get(key)
            if hit is not None:
                return hit
        svc = act.partition(":")[0]
        target = self._target(resource, act in TRUST_ACTIONS, p)
        closed = p.closed_keys
        memo_ok = not complete_context  # remembered condition results assume the default lookup
        if context:
            given = normalise_context(context)
            if given and via_service(given):
                closed = closed - SERVICE_CHAIN_KEYS
                memo_ok = False
        else:
            given = _EMPTY
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
            complete=complete_context,
        )
        caller = p.caller
        denies: list[StatementMatch] = []
        deny_maybe: list[StatementMatch] = []
        ident_st, bound_st = p.candidates(svc)
        identity = scan(ident_st, req, None, denies, deny_maybe)
        boundary = scan(bound_st, req, None, denies, deny_maybe) if p.boundary is not None else None
        session = None
        if session_policies:
            compiled = [self._cache.get(sp, principal) for sp in session_policies]
            session = scan(merge(compiled, svc), req, None, denies, deny_maybe)
        scps: list[Scan] = []
        if p.scp_applies:
            levels = self._scp_guards(p, svc)
            if levels:
                scps = [scan_guard(lv, req, None, denies, deny_maybe) for lv in levels]
        rcps: list[Scan] = []
        rlevels, rcp_names = self._rcp_guards(p, act, svc, target)
        if rlevels:
            rcps = [scan_guard(lv, req, caller, denies, deny_maybe) for lv in rlevels]
        by_via = (
            scan_resource(target.policy.candidates(svc), req, caller, denies, deny_maybe)
            if target.policy is not None
            else _NO_VIA
        )

        decision: Decision | None = None
        if denies:
            decision = self._decisions_made.shared(EXPLICIT_DENY, denies)
        elif (
            not by_via
            and session is None
            and not rcps
            and p.plain
            and target.plain
            and not complete_context
            and target.account in ("", p.caller.account)
        ):
            # The common case, same account, no resource policy, boundary or session: identity
            # policies and SCPs alone decide (the same answer as `combine`, sooner); Denies that
            # may apply only make an Allow conditional.
            scp_tri = YES
            for g in scps:
                scp_tri = min(scp_tri, g.tri)
            if scp_tri == NO:
                decision = guard_denied(Reason.SCP, scps, p.scp_names)
            elif identity.tri == NO:
                decision = NO_ALLOW
            elif identity.tri == YES and scp_tri == YES:
                if deny_maybe:
                    decision = self._decisions_made.shared(
                        ALLOWED_UNLESS, [*identity.matches, *deny_maybe], deny_maybe=deny_maybe
                    )
                else:
                    decision = self._decisions_made.shared(ALLOWED, identity.matches)
        if decision is None:
            decision = combine(
                self._decisions_made,
                p,
                target,
                identity=identity,
                boundary=boundary,
                session=session,
                scps=scps,
                rcps=rcps,
                by_via=by_via,
                deny_maybe=deny_maybe,
                scp_names=p.scp_names,
                rcp_names=rcp_names,
                complete=complete_context,
            )
        if key is not None:
            if len(self._decisions) >= self._decision_cache_size:
                self._decisions.clear()
            self._decisions[key] = decision
        return decision


def decide(
    snapshot: Snapshot,
    principal: str,
    action: str,
    resource: str,
    context: Mapping[str, str | Sequence[str]] | None = None,
) -> Decision:
    """One-off convenience; build an `Authorizer` once when deciding many requests."""
    return Authorizer(snapshot).decide(principal, action, resource, context)
