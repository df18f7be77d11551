"""The declarative case format of the evaluator's table-driven tests, and the one function running it.

A case describes a tiny account around one request: the caller's identity statements, and
optionally a boundary, a resource-based (or trust) policy, SCP/RCP levels, session policy and
context. `rule` names the AWS documentation rule the case checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from policy_builders import ACCT, MGMT, SnapshotBuilder, doc, policy, stmt

from deescalate.model import Decision, PolicyKind
from deescalate.policy.evaluate import Authorizer

EVAL = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"
BASICS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html"
CROSS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html"
ACTION = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html"
RESOURCE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html"
PRINCIPAL = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html"
NOTPRINCIPAL = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html"
CONDOPS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html"
MULTI = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html"
MULTIVAL = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html"
VARS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html"
KEYS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html"
BOUNDARY = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"
SESSION = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session"
SCP = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html"
SCPX = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html"
RCP = "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html"
TRUST = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_manage-assume.html"
KMS = "https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html"

BUCKET = "arn:aws:s3:::bucket"
OBJ = "arn:aws:s3:::bucket/key"
ALICE = f"arn:aws:iam::{ACCT}:user/alice"
APP = f"arn:aws:iam::{ACCT}:role/app"
TARGET = f"arn:aws:iam::{ACCT}:role/target"
ALL = stmt()


@dataclass(frozen=True, kw_only=True)
class Case:
    id: str
    rule: str
    expect: str  # "allow" | "deny" | "conditional"
    identity: Sequence[dict[str, Any]] = (ALL,)
    principal: str = "user"  # "user" (alice) | "role" (app) | "slr" (service-linked role)
    action: str = "s3:GetObject"
    resource: str = OBJ
    context: Mapping[str, Any] | None = None
    reason: str | None = None
    boundary: Sequence[dict[str, Any]] | None = None
    resource_policy: Sequence[dict[str, Any]] | None = None  # on `resource` (trust if it is TARGET)
    resource_kind: str = "s3:object"
    scps: Sequence[Sequence[dict[str, Any]]] | None = None  # one SCP document per level
    rcps: Sequence[Sequence[dict[str, Any]]] | None = None
    management: bool = False  # the account is the organization's management account
    org_id: str = ""  # the organization's id, when the snapshot knows it
    session: Sequence[dict[str, Any]] | None = None
    version: str | None = "2012-10-17"
    tags: Mapping[str, str] = field(default_factory=dict)
    resource_tags: Mapping[str, str] = field(default_factory=dict)
    setup: Callable[[SnapshotBuilder], None] | None = None
    condition_contains: str | None = None  # a substring some Decision.conditions entry must have


def build(case: Case) -> tuple[Authorizer, str]:
    b = SnapshotBuilder()
    ident = doc(*case.identity, version=case.version) if case.identity else None
    boundary_arn = b.managed("boundary", doc(*case.boundary, version=case.version)) if case.boundary else None
    if case.principal == "user":
        who = b.user("alice", *([ident] if ident else []), boundary=boundary_arn, tags=case.tags)
    elif case.principal == "role":
        who = b.role("app", *([ident] if ident else []), boundary=boundary_arn, tags=case.tags,
                     trust=doc(stmt(action="sts:AssumeRole", resource=None,
                                    Principal={"Service": "ec2.amazonaws.com"})))
    else:
        who = b.role("slr", *([ident] if ident else []), path="/aws-service-role/ec2.amazonaws.com/")
    if case.resource == TARGET:
        b.role("target", trust=doc(*case.resource_policy, version=case.version) if case.resource_policy else None,
               tags=case.resource_tags)
    elif case.resource_policy is not None:
        b.resource(case.resource, doc(*case.resource_policy, version=case.version), kind=case.resource_kind)
    if case.scps is not None or case.rcps is not None:
        scps = case.scps if case.scps is not None else [[ALL]] * 3
        rcps = case.rcps
        b.org([[doc(*lvl)] if lvl else [] for lvl in scps],
              management=ACCT if case.management else MGMT,
              rcps=[[doc(*lvl)] if lvl else [] for lvl in rcps] if rcps is not None else None,
              org_id=case.org_id)
    if case.setup is not None:
        case.setup(b)
    return Authorizer(b.build()), who


def run(case: Case) -> Decision:
    auth, who = build(case)
    session = ()
    if case.session is not None:
        session = (policy(doc(*case.session), PolicyKind.SESSION, name="session"),)
    return auth.decide(who, case.action, case.resource, case.context, session_policies=session)


def check(case: Case) -> None:
    d = run(case)
    assert d.outcome.value == case.expect, f"{case.id} ({case.rule}): got {d}"
    if case.reason is not None:
        assert d.reason.value == case.reason, f"{case.id}: reason {d.reason.value}, want {case.reason}"
    if case.condition_contains is not None:
        assert any(case.condition_contains in c for c in d.conditions), f"{case.id}: {d.conditions}"
    if case.expect == "conditional":
        assert d.conditions, f"{case.id}: a conditional decision must name its conditions"
