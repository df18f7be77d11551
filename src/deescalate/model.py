"""The shared vocabulary: frozen values that every stage of the pipeline passes along.

Objects refer to each other by ARN (a user lists its groups' ARNs, a role its managed policies'
ARNs), never by pointer, so a snapshot can be merged, edited for verification, and compared.
Only `policy/parse.py` builds `Policy`/`Statement` values from JSON; only `snapshot/` builds a
`Snapshot` from files. ARNs are read with `arn.py`'s parser, never split by hand.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from deescalate.arn import account_of, partition_among, partition_of

EMPTY_MAP: Mapping[str, Any] = MappingProxyType({})


# --------------------------------------------------------------------------- policies


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


class PolicyKind(StrEnum):
    """Where a policy sits; evaluation treats each kind by its own rule."""

    INLINE = "inline"  # inline policy of a user, group or role
    MANAGED = "managed"  # customer or AWS managed policy (one version of it)
    TRUST = "trust"  # a role's trust (assume-role) policy: resource-based
    RESOURCE = "resource"  # any other resource-based policy (Lambda function policy, ...)
    BOUNDARY = "boundary"  # a managed policy used as a permissions boundary
    SCP = "scp"
    RCP = "rcp"
    SESSION = "session"  # a session policy passed when assuming a role


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyRef:
    """Identifies a policy so a decision can be traced back to it."""

    kind: PolicyKind
    name: str
    arn: str | None = None
    version: str | None = None  # managed policy version id, e.g. "v3"
    attached_to: str | None = None  # ARN of the user/group/role/OU/resource holding it

    def label(self) -> str:
        where = f" on {self.attached_to}" if self.attached_to else ""
        ver = f" {self.version}" if self.version else ""
        return f"{self.kind.value} policy {self.arn or self.name}{ver}{where}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """One (operator, key, values) triple of a Condition block, as written."""

    operator: str  # e.g. "StringEquals", "ForAnyValue:StringLikeIfExists"
    key: str  # e.g. "aws:SourceIp", "iam:PassedToService"
    values: tuple[str, ...]  # JSON scalars normalised to strings ("true", "10", ...)


@dataclass(frozen=True, slots=True, kw_only=True)
class PrincipalSpec:
    """The Principal / NotPrincipal element: pairs of (type, value).

    `("*", "*")` stands for `"Principal": "*"`. Types are "AWS", "Service", "Federated",
    "CanonicalUser".
    """

    entries: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Statement:
    index: int  # position in the policy's Statement list, from 0
    sid: str | None
    effect: Effect
    actions: tuple[str, ...] | None = None  # Action; None when NotAction is used
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None  # Resource; None when NotResource (or absent)
    not_resources: tuple[str, ...] | None = None
    principal: PrincipalSpec | None = None
    not_principal: PrincipalSpec | None = None
    conditions: tuple[Condition, ...] = ()

    def label(self) -> str:
        return f"statement {self.index}" + (f" ({self.sid})" if self.sid else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    ref: PolicyRef
    version: str | None  # the document's "Version" ("2012-10-17", "2008-10-17" or absent)
    statements: tuple[Statement, ...]
    document: str = field(default="", compare=False, repr=False)  # canonical JSON text

    def document_json(self) -> Any:
        return json.loads(self.document) if self.document else {}


# --------------------------------------------------------------------------- the account


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    arn: str
    name: str
    user_id: str = ""
    path: str = "/"
    inline_policies: tuple[Policy, ...] = ()
    managed_policy_arns: tuple[str, ...] = ()
    group_arns: tuple[str, ...] = ()
    boundary_arn: str | None = None
    tags: Mapping[str, str] = field(default_factory=lambda: EMPTY_MAP)
    # None means the snapshot does not know (the per-user call failed or was not made).
    access_key_count: int | None = None
    has_login_profile: bool | None = None
    mfa_device_count: int | None = None

    @property
    def account_id(self) -> str:
        return account_of(self.arn)

    @property
    def partition(self) -> str:
        return partition_of(self.arn)


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    arn: str
    name: str
    path: str = "/"
    inline_policies: tuple[Policy, ...] = ()
    managed_policy_arns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Role:
    arn: str
    name: str
    role_id: str = ""
    path: str = "/"
    trust_policy: Policy | None = None
    inline_policies: tuple[Policy, ...] = ()
    managed_policy_arns: tuple[str, ...] = ()
    boundary_arn: str | None = None
    tags: Mapping[str, str] = field(default_factory=lambda: EMPTY_MAP)
    instance_profile_arns: tuple[str, ...] = ()

    @property
    def account_id(self) -> str:
        return account_of(self.arn)

    @property
    def partition(self) -> str:
        return partition_of(self.arn)

    @property
    def is_service_linked(self) -> bool:
        # Service-linked roles live under /aws-service-role/ and are exempt from SCPs.
        return self.path.startswith("/aws-service-role/")


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagedPolicy:
    arn: str
    name: str
    default_version: str
    versions: Mapping[str, Policy]  # version id -> that version's document
    path: str = "/"
    attachment_count: int | None = None

    @property
    def aws_managed(self) -> bool:
        return account_of(self.arn) == "aws"

    @property
    def document(self) -> Policy:
        return self.versions[self.default_version]


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceProfile:
    arn: str
    name: str
    role_arns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class OrgNode:
    """One level of the organization tree between the root and an account."""

    id: str  # r-xxxx, ou-xxxx-yyyy or an account id
    name: str
    kind: str  # "root" | "ou" | "account"
    scps: tuple[Policy, ...] = ()
    rcps: tuple[Policy, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Organization:
    management_account_id: str
    # Root first, the account itself last. SCPs must allow at every level.
    path: tuple[OrgNode, ...] = ()
    rcps_enabled: bool = False
    # False when the root does not have the SCP policy type enabled: then no SCP filters anything
    # (and every node's `scps` is empty). When True, AWS keeps at least one SCP at every level.
    scps_enabled: bool = True
    # The organization id ("o-..."), when known: the evaluator then knows aws:PrincipalOrgID and
    # aws:PrincipalOrgPaths of the account's principals (empty: those keys stay unknown).
    id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountInfo:
    """One account of an organization snapshot's manifest, collected or not."""

    id: str
    name: str = ""
    # Root first, the account's parents: ["r-xxxx", "ou-xxxx-aaaa", ...] (the manifest's ou_path).
    ou_path: tuple[str, ...] = ()
    status: str = ""  # ListAccounts' status ("ACTIVE", "SUSPENDED", ...), when known
    collection: str = "collected"  # "collected" | "failed" | "skipped" | "pending"
    error: str | None = None  # why it was not collected, one line

    @property
    def collected(self) -> bool:
        return self.collection == "collected"

    def label(self) -> str:
        return f"{self.id} ({self.name})" if self.name else self.id

    def not_collected(self) -> str:
        """The unexamined line for an account of the organization that was not collected."""
        why = f": {self.error}" if self.error else ""
        return (f"account {self.label()}: {self.collection}{why}; its principals and resources are not"
                " analysed")


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    """A resource an escalation technique goes through (an EC2 instance, a Lambda function, ...)."""

    kind: str  # "ec2:instance", "lambda:function", "cloudformation:stack", ...
    arn: str
    region: str
    name: str = ""
    role_arns: tuple[str, ...] = ()  # roles whose credentials the resource holds
    policy: Policy | None = None  # resource-based policy, if any
    attributes: Mapping[str, str] = field(default_factory=lambda: EMPTY_MAP)


class InventoryState(StrEnum):
    OK = "ok"  # listed completely
    FAILED = "failed"  # the call failed (AccessDenied, not supported, ...)
    MISSING = "missing"  # not collected at all (e.g. a raw IAM-only snapshot)


@dataclass(frozen=True, slots=True, kw_only=True)
class InventoryRecord:
    """Whether one resource kind was listed in one region, and why not if it was not."""

    kind: str
    region: str
    state: InventoryState
    error: str | None = None  # e.g. "AccessDenied: ..." for FAILED


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceUsage:
    """When a principal last used one service (IAM access advisor), and its tracked actions."""

    namespace: str  # service prefix, lower case ("ec2")
    last_used: str | None  # ISO 8601; None = not used within the tracking period
    # Tracked action (lower case) -> last use or None; None when the service has no action-level data.
    actions: Mapping[str, str | None] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessRecord:
    """One principal's access-advisor report (GetServiceLastAccessedDetails, ACTION_LEVEL)."""

    principal: str
    reported_at: str  # the job's completion time, ISO 8601
    services: Mapping[str, ServiceUsage]  # by namespace


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """Everything the analysis reads. The analysis never calls AWS."""

    account_id: str
    caller_arn: str | None = None
    collected_at: str | None = None
    regions: tuple[str, ...] = ()
    users: Mapping[str, User] = field(default_factory=lambda: EMPTY_MAP)  # by ARN
    groups: Mapping[str, Group] = field(default_factory=lambda: EMPTY_MAP)  # by ARN
    roles: Mapping[str, Role] = field(default_factory=lambda: EMPTY_MAP)  # by ARN
    policies: Mapping[str, ManagedPolicy] = field(default_factory=lambda: EMPTY_MAP)  # by ARN
    instance_profiles: Mapping[str, InstanceProfile] = field(default_factory=lambda: EMPTY_MAP)
    organization: Organization | None = None
    resources: tuple[Resource, ...] = ()
    inventory: tuple[InventoryRecord, ...] = ()
    has_inventory: bool = False  # False for a raw get-account-authorization-details file
    source: str = ""  # the file or directory it was loaded from
    # Several accounts' snapshots merged: every account, the home account (account_id) first.
    accounts: tuple[str, ...] = ()
    last_accessed: Mapping[str, AccessRecord] = field(default_factory=lambda: EMPTY_MAP)  # by principal ARN
    # Each account's own organization path (an organization snapshot, or merged snapshots): by
    # account id. `org_of` falls back to `organization` for the home account.
    organizations: Mapping[str, Organization] = field(default_factory=lambda: EMPTY_MAP)
    # The accounts an organization snapshot's manifest lists (collected or not), by account id.
    account_infos: Mapping[str, AccountInfo] = field(default_factory=lambda: EMPTY_MAP)

    def org_of(self, account_id: str) -> Organization | None:
        """The organization path of `account_id` (root -> OUs -> it), or None when unknown."""
        org = self.organizations.get(account_id)
        if org is None and account_id == self.account_id:
            return self.organization
        return org

    def principal_arns(self) -> tuple[str, ...]:
        return tuple(self.users) + tuple(self.roles)

    def all_accounts(self) -> tuple[str, ...]:
        """Every account this snapshot holds, the home account first."""
        return self.accounts or (self.account_id,)

    @property
    def partition(self) -> str:
        """The account's partition (`aws`, `aws-us-gov`, `aws-cn`, ...), read from its ARNs."""
        return partition_among((self.caller_arn or "",), self.users, self.roles, self.groups)


# --------------------------------------------------------------------------- decisions


class Outcome(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    CONDITIONAL = "conditional"  # depends on a context key the snapshot cannot supply


class Reason(StrEnum):
    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit deny"
    NO_ALLOW = "no allow"
    SCP = "scp"
    RCP = "rcp"
    BOUNDARY = "boundary"
    SESSION_POLICY = "session policy"
    PROTECTED = "protected resource"  # AWS refuses the change whatever the policies say


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementMatch:
    """A statement that took part in a decision, traceable to its policy."""

    policy: PolicyRef
    statement_index: int
    sid: str | None
    effect: Effect
    unresolved: tuple[str, ...] = ()  # conditions that could not be decided offline


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    outcome: Outcome
    reason: Reason
    statements: tuple[StatementMatch, ...] = ()
    # Human-readable conditions the outcome depends on when CONDITIONAL.
    conditions: tuple[str, ...] = ()
    # One sentence naming what denied when there is no statement to show (which SCP/RCP level,
    # which trust policy or boundary); empty otherwise.
    detail: str = ""

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOW

    @property
    def possible(self) -> bool:
        """Allowed, or allowed under some context: what the analysis treats as reachable."""
        return self.outcome is not Outcome.DENY


# --------------------------------------------------------------------------- the analysis

# The name every policy the tool writes starts with (remediate/quotas.py names them; the analysis
# treats taking one away as undoing the plan, analysis/edges/whatif.py `plans_own`).
POLICY_PREFIX = "deescalate-"
ADMIN = "admin"  # the target of a self-escalation edge: "this principal can make itself admin"


@dataclass(frozen=True, slots=True, kw_only=True)
class Grant:
    """One permission a technique needs: an action on a resource, under a request context.

    `context` holds the request keys the technique's call would carry, e.g.
    `(("iam:PassedToService", ("ec2.amazonaws.com",)),)`; the evaluator sees them as known keys.
    """

    action: str
    resource: str
    context: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Who makes the call: empty for the edge's own source; another principal's ARN in a composed
    # edge, where a principal the source can act as takes a step (analysis/compose.py).
    principal: str = ""

    def label(self) -> str:
        if self.principal:
            return f"{self.action} on {self.resource} (as {self.principal})"
        return f"{self.action} on {self.resource}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Edge:
    """`source` can act as `target` (a principal ARN, or ADMIN for self-escalation).

    `alternatives` lists the ways the technique works here that the source is (possibly) allowed:
    each is a set of grants that must all be allowed. Cutting the edge means denying at least one
    grant of every alternative.
    """

    source: str
    target: str
    technique: str
    alternatives: tuple[tuple[Grant, ...], ...]
    via: str | None = None  # the resource or group the technique goes through, if any
    conditions: tuple[str, ...] = ()  # why the edge is only possible, not certain
    description: str = ""
    # "source|technique|target|via": computed once (the analysis keys its edges by it, several
    # times per edge); not an argument, not compared, not shown.
    id: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", f"{self.source}|{self.technique}|{self.target}|{self.via or ''}")

    @property
    def conditional(self) -> bool:
        return bool(self.conditions)


@dataclass(frozen=True, slots=True, kw_only=True)
class AdminVerdict:
    """Why a principal counts as an administrator (or a user-chosen target)."""

    arn: str
    reason: str
    target_only: bool = False  # True when it is a --target crown jewel, not a full admin


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """A non-admin principal that can reach an admin or target."""

    principal: str
    techniques: tuple[str, ...]
    paths: tuple[tuple[Edge, ...], ...]  # the shortest path to each admin/target it reaches
    edges: tuple[Edge, ...]  # every escalation edge (to an admin/target, or self) that leaves it
    conditional: bool = False  # every path depends on a conditional decision


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenedEdge:
    """An edge the change opens, with the Terraform addresses that open it."""

    edge: str  # Edge.id
    addresses: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeSummary:
    """What a change (a Terraform plan) does to the findings, against the account before it."""

    plan: str  # the plan file
    introduced: tuple[str, ...]  # principals at risk after the change and not before
    resolved: tuple[str, ...]  # principals at risk before the change and not after
    opened: tuple[OpenedEdge, ...] = ()
    # Terraform address -> "FILE:LINE" of its `resource` block (with --terraform-dir)
    locations: Mapping[str, str] = field(default_factory=lambda: EMPTY_MAP)

    def addresses_for(self, edges: tuple[Edge, ...]) -> tuple[str, ...]:
        """The addresses that open any of `edges` (a finding's edges and path steps)."""
        ids = {e.id for e in edges}
        return tuple(sorted({a for o in self.opened if o.edge in ids for a in o.addresses}))


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountDetail:
    """One account of a report over several accounts: who it is, where it sits, whether it was analysed."""

    id: str
    name: str = ""
    ou_path: tuple[str, ...] = ()  # the root and OUs above the account, root first, by name when known
    management: bool = False  # the organization's management account
    collection: str = "collected"  # an organization snapshot's word for it: collected, failed, ...
    error: str | None = None

    def label(self) -> str:
        return f"{self.id} ({self.name})" if self.name else self.id


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    account_id: str
    admins: tuple[AdminVerdict, ...]
    findings: tuple[Finding, ...]
    edges: tuple[Edge, ...]  # the whole graph
    unexamined: tuple[str, ...] = ()  # techniques or resource kinds the snapshot could not show
    notes: tuple[str, ...] = ()
    source: str = ""
    plan: Plan | None = None
    change: ChangeSummary | None = None  # set when the report compares a Terraform plan's before/after
    accounts: tuple[str, ...] = ()  # every account analysed, account_id first (several snapshots)
    # Several accounts: each one's name, OU path and state, in `accounts` order then those not
    # collected; and the organization's management account (paths to its admins are critical).
    account_details: tuple[AccountDetail, ...] = ()
    management_account_id: str = ""
    # Holders of a conditional `Allow * on *` whose edges only that statement allows are summarised
    # by their edges to admin (analysis/edges/wildcards.py); a plan re-analyses without summaries.
    summarised: tuple[str, ...] = ()


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True, slots=True, kw_only=True)
class Deny:
    """One proposed Deny statement for one principal."""

    id: str  # stable within the plan, e.g. "d1"
    principal: str
    action: str
    resource: str
    cuts: tuple[str, ...]  # Edge.id values this deny cuts
    techniques: tuple[str, ...]
    why: str
    apply: bool = True
    # The planner's score of this deny (None for a hand-written one): what the principal loses that
    # does not lead to admin, and the narrowness tie-break (plan.py explains both).
    disruption: int | None = None
    narrowness: int | None = None
    alternatives: tuple[DenyChoice, ...] = ()  # grants it could have denied instead, best first
    # What access advisor says of the action ("last used: never (tracked since ...)", "usage unknown").
    usage: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DenyChoice:
    """A grant the planner could have denied instead of a chosen one, with its score."""

    action: str
    resource: str
    disruption: int
    narrowness: int


class PolicyPlacement(StrEnum):
    """Where a principal's deny document goes: one inline policy, one customer managed policy, or none."""

    INLINE = "inline"
    MANAGED = "managed"
    NONE = "none"


@dataclass(frozen=True, slots=True, kw_only=True)
class PrincipalPlan:
    principal: str
    denies: tuple[Deny, ...]
    placement: PolicyPlacement = PolicyPlacement.INLINE
    policy_name: str = ""
    document: str = ""  # the policy JSON apply will write
    unfixable: str | None = None  # why it cannot be fixed within AWS quotas, if so
    # The principal's IAM state as the snapshot saw it (fingerprint.state_lines); apply compares it live.
    state: tuple[str, ...] = ()
    minimal: bool = True  # False only when the exact search ran out of budget (a greedy fallback)


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    account_id: str
    snapshot: str  # where the snapshot came from
    snapshot_time: str | None
    principals: tuple[PrincipalPlan, ...]
    remaining: tuple[Edge, ...] = ()  # edges the plan leaves open (empty when verified)
    verified: bool = False
    targets: tuple[str, ...] = ()  # the --target ARNs the analysis was run with (verify reuses them)
    # The escalation edges the denies were solved against: a deny hitting a grant of one of them (an
    # edge it names in `cuts`) is tied to a finding; any other deny is hand-written ("manual").
    edges: tuple[Edge, ...] = ()
