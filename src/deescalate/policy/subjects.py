"""What the evaluator knows about the two sides of a request, prepared once and reused.

`PrincipalView`: a user or role with its identity policies (inline, managed at the default
version, its groups'), boundary, SCP levels, derived context keys and Principal-matching facts.
`TargetView`: the resource with its resource-based (or trust) policy, account, tags, and whether
that policy is required.
"""

from __future__ import annotations

from collections.abc import Mapping

from deescalate.model import OrgNode, Policy, Role, Snapshot, User
from deescalate.policy.compiled import Candidates, CompiledPolicy, PolicyCache, PolicySet, merge
from deescalate.policy.context import PRINCIPAL_CLOSED_PREFIXES as _PREFIXES
from deescalate.policy.context import closed_keys_for, org_values, principal_values, resource_values
from deescalate.policy.match import Caller, ResourceMatcher


class PrincipalView:
    """Everything about one principal that does not depend on the request, compiled once."""

    __slots__ = (
        "arn",
        "boundary",
        "boundary_missing",
        "by_service",
        "caller",
        "closed_keys",
        "may_allow_cache",
        "may_allow_on_cache",
        "missing",
        "own",
        "own_services",
        "plain",
        "scp_account",
        "scp_applies",
        "scp_levels",
        "scp_names",
        "service_linked",
        "shared",
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
        identity = tuple(cache.get(p, obj.arn) for p in policies)
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
        # The principal's own inline policies come first; its groups' and managed policies (the
        # same few for many principals) form a PolicySet merged once per service for all of them.
        # Only services the own policies can name need a per-principal merge.
        n_own = len(obj.inline_policies)
        self.own = identity[:n_own]
        self.shared: PolicySet = cache.policy_set(identity[n_own:], self.boundary)
        services: set[str] = set()
        for cp in self.own:
            services.update(cp.by_service)
        # None: an own statement can name any service (NotAction, a wildcard service part).
        self.own_services: frozenset[str] | None = (
            None if any(cp.wild for cp in self.own) else frozenset(services)
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
        org_keys = org_values(snap, obj.account_id, "principal")
        if org_keys:
            self.values.update(org_keys)
            self.closed_keys = self.closed_keys | frozenset(org_keys)
        self.scp_levels: tuple[tuple[CompiledPolicy, ...], ...] = ()
        self.scp_names: tuple[str, ...] = ()
        account = self.scp_account = obj.account_id
        # The principal's own account's organization path: in an organization snapshot (or merged
        # snapshots) each account has its own, and SCPs of other accounts never apply to it.
        org = snap.org_of(account)
        # SCPs do not affect the management account nor service-linked roles:
        # https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html
        if org is not None and account != org.management_account_id and not self.service_linked:
            # A level with no SCP listed is one the snapshot has no SCP data for (AWS requires at
            # least one SCP per level once SCPs are enabled), so it does not restrict.
            self.scp_levels = tuple(
                tuple(cache.get(p, obj.arn) for p in node.scps) for node in org.path if node.scps
            )
            self.scp_names = tuple(level_name(n) for n in org.path if n.scps)
        self.scp_applies = bool(self.scp_levels)
        # No boundary and nothing missing: identity policies alone can decide (the fast path).
        self.plain = self.boundary is None and self.boundary_missing is None and not self.missing
        self.may_allow_cache: dict[str, bool] = {}
        self.may_allow_on_cache: dict[str, tuple[ResourceMatcher, ...] | None] = {}
        # service prefix -> (identity statements, boundary statements), for services that the
        # principal's own policies can name; the others are the shared set's.
        self.by_service: dict[str, Candidates] = {}

    def candidates(self, service: str) -> Candidates:
        own = self.own_services
        if own is not None and service not in own:
            shared = self.shared.by_service.get(service)
            return shared if shared is not None else self.shared.candidates(service)
        hit = self.by_service.get(service)
        if hit is None:
            ident, bound = self.shared.candidates(service)
            hit = self.by_service[service] = (merge(self.own, service) + ident, bound)
        return hit


def level_name(node: OrgNode) -> str:
    """How a decision names an organization level: `the ou prod (ou-xxxx-yyyyyyyy)`."""
    if node.name and node.name != node.id:
        return f"the {node.kind} {node.name} ({node.id})"
    return f"the {node.kind} {node.id}"


class TargetView:
    """The resource side of a request: its policy, account, tags, and whether the policy is required."""

    __slots__ = (
        "_key",
        "account",
        "closed_prefixes",
        "label",
        "mandatory",
        "plain",
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
        # Neither a required policy nor an unknown other account: the fast path may decide.
        self.plain = not mandatory and not unknown_other_account
        self.values, closes = resource_values(account, tags)
        self.closed_prefixes = _PREFIXES + closes
        self._key: tuple[object, ...] | None = None

    def key(self) -> tuple[object, ...]:
        """What a decision reads of this target besides its ARN (`Authorizer.equivalence`): its
        account, whether its policy is required, that policy's statements (`CompiledPolicy.shape`)
        and the context values and closed key prefixes of its account and tags."""
        if self._key is None:
            self._key = (
                self.account,
                self.mandatory,
                self.plain,
                self.policy.shape() if self.policy is not None else None,
                tuple(sorted(self.values.items())),
                self.closed_prefixes,
            )
        return self._key
