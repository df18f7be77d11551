"""Table-driven evaluator cases: actions, resources, deny precedence, identity policy sources,
SCP/RCP levels, boundaries, session policies, resource-based and trust policies, principals.

Each case names the AWS documentation rule it checks (see `table_support` for the URLs).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from policy_builders import ACCT, OTHER, SnapshotBuilder, doc, stmt
from table_support import (
    ACTION,
    ALICE,
    ALL,
    APP,
    BASICS,
    BOUNDARY,
    BUCKET,
    CROSS,
    EVAL,
    KMS,
    NOTPRINCIPAL,
    OBJ,
    PRINCIPAL,
    RCP,
    RESOURCE,
    SCP,
    SCPX,
    SESSION,
    TARGET,
    TRUST,
    Case,
    check,
)

A, D = "Allow", "Deny"
ASSUME = "sts:AssumeRole"
QUEUE_X = f"arn:aws:sqs:us-east-1:{OTHER}:q"  # a resource in another account
QUEUE = f"arn:aws:sqs:us-east-1:{ACCT}:q"
KEY = f"arn:aws:kms:us-east-1:{ACCT}:key/k1"
S3_ONLY = stmt(action="s3:*")


def trust(principal: object, effect: str = A, **extra: object) -> dict[str, object]:
    return stmt(effect, action=ASSUME, resource=None, Principal=principal, **extra)


def rp(principal: object, effect: str = A, action: object = "s3:GetObject", **extra: object) -> dict[str, object]:
    return stmt(effect, action=action, resource="*", Principal=principal, **extra)


def _add_group_inline(b: SnapshotBuilder) -> None:
    g = b.group("readers", doc(stmt(action="s3:GetObject", resource=OBJ)))
    b.users[ALICE] = replace(b.users[ALICE], group_arns=(g,))


def _add_group_managed(b: SnapshotBuilder) -> None:
    m = b.managed("ReadS3", doc(stmt(action="s3:Get*", resource="*")))
    g = b.group("readers", managed=[m])
    b.users[ALICE] = replace(b.users[ALICE], group_arns=(g,))


def _add_managed(b: SnapshotBuilder) -> None:
    m = b.managed("ReadS3", doc(stmt(action="s3:GetObject", resource="*")))
    b.users[ALICE] = replace(b.users[ALICE], managed_policy_arns=(m,))


def _add_group_deny(b: SnapshotBuilder) -> None:
    g = b.group("blocked", doc(stmt(D, action="s3:GetObject", resource="*")))
    b.users[ALICE] = replace(b.users[ALICE], group_arns=(g,))


CASES: list[Case] = [
    # ---------------------------------------------------------------- Action / NotAction
    Case(id="action-exact", rule=f"{ACTION}: exact action", expect="allow",
         identity=[stmt(action="s3:GetObject")]),
    Case(id="action-other", rule=f"{ACTION}: other action of the service is not granted", expect="deny",
         identity=[stmt(action="s3:GetObject")], action="s3:PutObject", reason="no allow"),
    Case(id="action-case", rule=f"{ACTION}: action names are case-insensitive", expect="allow",
         identity=[stmt(action="S3:getobject")]),
    Case(id="action-case-request", rule=f"{ACTION}: case-insensitive request", expect="allow",
         identity=[stmt(action="s3:GetObject")], action="S3:GETOBJECT"),
    Case(id="action-star-suffix", rule=f"{ACTION}: '*' wildcard", expect="allow",
         identity=[stmt(action="s3:Get*")]),
    Case(id="action-star-mid", rule=f"{ACTION}: '*' in the middle", expect="allow",
         identity=[stmt(action="s3:*Object")]),
    Case(id="action-qmark", rule=f"{ACTION}: '?' matches one character", expect="allow",
         identity=[stmt(action="s3:GetObjec?")]),
    Case(id="action-qmark-one", rule=f"{ACTION}: '?' matches exactly one character", expect="deny",
         identity=[stmt(action="s3:GetObj?")]),
    Case(id="action-service-star", rule=f"{ACTION}: service:*", expect="allow", identity=[S3_ONLY]),
    Case(id="action-service-star-other", rule=f"{ACTION}: service:* is that service only", expect="deny",
         identity=[S3_ONLY], action="iam:PassRole"),
    Case(id="action-prefix-not-service", rule=f"{ACTION}: 's3:*' does not match 's3control:' actions",
         expect="deny", identity=[S3_ONLY], action="s3control:GetJob"),
    Case(id="action-wild-service", rule=f"{ACTION}: wildcard in the service part", expect="allow",
         identity=[stmt(action="s3*:Get*")], action="s3control:GetJob"),
    Case(id="action-list", rule=f"{ACTION}: a list of actions", expect="allow",
         identity=[stmt(action=["ec2:RunInstances", "s3:GetObject"])]),
    Case(id="notaction-other", rule=f"{ACTION} NotAction: everything except the list", expect="allow",
         identity=[stmt(action=None, NotAction="iam:*", Resource="*")], resource=OBJ),
    Case(id="notaction-listed", rule=f"{ACTION} NotAction: listed actions are not granted", expect="deny",
         identity=[stmt(action=None, NotAction="s3:*", Resource="*")]),
    Case(id="notaction-deny", rule=f"{ACTION} NotAction with Deny denies all others", expect="deny",
         identity=[ALL, stmt(D, action=None, NotAction="iam:*", Resource="*")], reason="explicit deny"),
    Case(id="notaction-deny-listed", rule=f"{ACTION} NotAction with Deny leaves the list", expect="allow",
         identity=[ALL, stmt(D, action=None, NotAction="s3:*", Resource="*")]),
    # ---------------------------------------------------------------- Resource / NotResource
    Case(id="resource-exact", rule=f"{RESOURCE}: exact ARN", expect="allow",
         identity=[stmt(action="s3:GetObject", resource=OBJ)]),
    Case(id="resource-case", rule=f"{RESOURCE}: ARNs are case-sensitive", expect="deny",
         identity=[stmt(action="s3:GetObject", resource="arn:aws:s3:::Bucket/key")]),
    Case(id="resource-star", rule=f"{RESOURCE}: '*' in a path", expect="allow",
         identity=[stmt(action="s3:GetObject", resource="arn:aws:s3:::bucket/*")]),
    Case(id="resource-star-crosses-slash", rule=f"{RESOURCE}: '*' spans '/'", expect="allow",
         identity=[stmt(action="s3:GetObject", resource="arn:aws:s3:::*")], resource="arn:aws:s3:::b/x/y/z"),
    Case(id="resource-qmark", rule=f"{RESOURCE}: '?' one character", expect="allow",
         identity=[stmt(action="s3:GetObject", resource="arn:aws:s3:::bucket/ke?")]),
    Case(id="resource-bucket-not-object", rule=f"{RESOURCE}: the bucket ARN does not cover objects",
         expect="deny", identity=[stmt(action="s3:GetObject", resource=BUCKET)]),
    Case(id="resource-list", rule=f"{RESOURCE}: list of ARNs", expect="allow",
         identity=[stmt(action="s3:GetObject", resource=[BUCKET, OBJ])]),
    Case(id="notresource-other", rule=f"{RESOURCE} NotResource: all but the listed", expect="allow",
         identity=[stmt(action="s3:GetObject", resource=None, NotResource="arn:aws:s3:::secret/*")]),
    Case(id="notresource-listed", rule=f"{RESOURCE} NotResource: listed are excluded", expect="deny",
         identity=[stmt(action="s3:GetObject", resource=None, NotResource="arn:aws:s3:::bucket/*")]),
    Case(id="notresource-deny", rule=f"{RESOURCE} NotResource with Deny", expect="deny",
         identity=[ALL, stmt(D, action="s3:*", resource=None, NotResource="arn:aws:s3:::other/*")]),
    Case(id="resource-star-request", rule=f"{RESOURCE}: a '*' request only matches Resource '*'",
         expect="deny", identity=[stmt(action="s3:GetObject", resource="arn:aws:s3:::bucket/*")],
         resource="*"),
    # ---------------------------------------------------------------- explicit deny, sources
    Case(id="deny-wins-same-policy", rule=f"{EVAL}: an explicit deny overrides any allow", expect="deny",
         identity=[ALL, stmt(D, action="s3:GetObject")], reason="explicit deny"),
    Case(id="deny-other-action", rule=f"{EVAL}: a deny on another action does not apply", expect="allow",
         identity=[ALL, stmt(D, action="s3:PutObject")]),
    Case(id="deny-other-resource", rule=f"{EVAL}: a deny on another resource does not apply", expect="allow",
         identity=[ALL, stmt(D, action="s3:*", resource="arn:aws:s3:::other/*")]),
    Case(id="no-policies", rule=f"{EVAL}: implicit deny by default", expect="deny", identity=[],
         reason="no allow"),
    Case(id="group-inline", rule=f"{BASICS}: a user's groups' inline policies apply", expect="allow",
         identity=[], setup=_add_group_inline),
    Case(id="group-managed", rule=f"{BASICS}: a user's groups' managed policies apply", expect="allow",
         identity=[], setup=_add_group_managed),
    Case(id="managed-attached", rule=f"{BASICS}: attached managed policy (default version)", expect="allow",
         identity=[], setup=_add_managed),
    Case(id="group-deny", rule=f"{EVAL}: a deny in a group policy denies the member", expect="deny",
         setup=_add_group_deny, reason="explicit deny"),
    # ---------------------------------------------------------------- SCPs
    Case(id="scp-full", rule=f"{SCP}: FullAWSAccess at every level allows", expect="allow",
         scps=[[ALL], [ALL], [ALL]]),
    Case(id="scp-root-missing", rule=f"{SCP}: every level from the root must allow", expect="deny",
         scps=[[stmt(action="ec2:*")], [ALL], [ALL]], reason="scp"),
    Case(id="scp-ou-missing", rule=f"{SCP}: an OU level that does not allow denies", expect="deny",
         scps=[[ALL], [stmt(action="ec2:*")], [ALL]], reason="scp"),
    Case(id="scp-account-missing", rule=f"{SCP}: the account level must allow", expect="deny",
         scps=[[ALL], [ALL], [stmt(action="ec2:*")]], reason="scp"),
    Case(id="scp-deny-ou", rule=f"{SCP}: a Deny at any level denies", expect="deny",
         scps=[[ALL], [ALL, stmt(D, action="s3:GetObject")], [ALL]], reason="explicit deny"),
    Case(id="scp-grants-nothing", rule=f"{SCPX}: SCPs never grant", expect="deny", identity=[],
         scps=[[ALL], [ALL], [ALL]], reason="no allow"),
    Case(id="scp-management-exempt", rule=f"{SCPX}: SCPs do not affect the management account",
         expect="allow", scps=[[stmt(action="ec2:*")], [ALL], [ALL]], management=True),
    Case(id="scp-slr-exempt", rule=f"{SCPX}: SCPs do not affect service-linked roles", expect="allow",
         principal="slr", scps=[[stmt(action="ec2:*")], [ALL], [ALL]]),
    Case(id="scp-role", rule=f"{SCP}: SCPs limit roles of member accounts", expect="deny", principal="role",
         scps=[[ALL], [stmt(action="ec2:*")], [ALL]], reason="scp"),
    Case(id="scp-resource-scoped", rule=f"{SCP}: SCP statements may name resources", expect="deny",
         scps=[[ALL], [stmt(action="s3:*", resource="arn:aws:s3:::other/*")], [ALL]], reason="scp"),
    Case(id="scp-notaction-deny", rule=f"{SCP}: Deny with NotAction denies the rest", expect="deny",
         scps=[[ALL, stmt(D, action=None, NotAction="ec2:*", Resource="*")], [ALL], [ALL]]),
    Case(id="scp-conditional", rule=f"{SCP}: a Deny on an unknown key makes it conditional",
         expect="conditional", scps=[[ALL, stmt(D, action="s3:*", Condition={
             "StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}})], [ALL], [ALL]],
         condition_contains="aws:RequestedRegion"),
    # ---------------------------------------------------------------- RCPs
    Case(id="rcp-deny-s3", rule=f"{RCP}: an RCP Deny applies to the account's S3 resources", expect="deny",
         rcps=[[ALL | {"Principal": "*"}, stmt(D, action="s3:GetObject", Principal="*")], [], []],
         reason="explicit deny"),
    Case(id="rcp-not-ec2", rule=f"{RCP}: RCPs only cover their supported services", expect="allow",
         action="ec2:StartInstances", resource="*",
         rcps=[[stmt(D, action="*", Principal="*")], [], []]),
    Case(id="rcp-level-no-allow", rule=f"{RCP}: an RCP must allow at every level", expect="deny",
         rcps=[[stmt(action="sqs:*", Principal="*")], [], []], reason="rcp"),
    Case(id="rcp-management-exempt", rule=f"{RCP}: RCPs do not affect the management account's resources",
         expect="allow", management=True, rcps=[[stmt(D, action="*", Principal="*")], [], []]),
    Case(id="rcp-slr-exempt", rule=f"{RCP}: RCPs do not restrict service-linked roles", expect="allow",
         principal="slr", rcps=[[stmt(D, action="*", Principal="*")], [], []]),
    Case(id="rcp-principal-account-cond", rule=f"{RCP}: RCP condition on aws:PrincipalAccount (known)",
         expect="allow", rcps=[[ALL | {"Principal": "*"}, stmt(D, action="s3:*", Principal="*", Condition={
             "StringNotEquals": {"aws:PrincipalAccount": ACCT}})], [], []]),
    Case(id="rcp-principal-account-cond-deny", rule=f"{RCP}: RCP denying outside principals",
         expect="deny", rcps=[[ALL | {"Principal": "*"}, stmt(D, action="s3:*", Principal="*", Condition={
             "StringNotEquals": {"aws:PrincipalAccount": OTHER}})], [], []]),
    # ---------------------------------------------------------------- permissions boundaries
    Case(id="boundary-allows", rule=f"{BOUNDARY}: identity AND boundary allow", expect="allow",
         boundary=[S3_ONLY]),
    Case(id="boundary-excludes", rule=f"{BOUNDARY}: a boundary that does not allow denies", expect="deny",
         boundary=[stmt(action="ec2:*")], reason="boundary"),
    Case(id="boundary-grants-nothing", rule=f"{BOUNDARY}: a boundary never grants", expect="deny",
         identity=[stmt(action="ec2:*")], boundary=[ALL], reason="no allow"),
    Case(id="boundary-deny", rule=f"{BOUNDARY}: an explicit deny in a boundary denies", expect="deny",
         boundary=[ALL, stmt(D, action="s3:GetObject")], reason="explicit deny"),
    Case(id="boundary-role", rule=f"{BOUNDARY}: role boundaries limit the role", expect="deny",
         principal="role", boundary=[stmt(action="ec2:*")], reason="boundary"),
    Case(id="boundary-vs-resource-user", rule=f"{BOUNDARY}: a resource policy naming the IAM user ARN "
         "is not limited by the user's boundary", expect="allow", identity=[],
         boundary=[stmt(action="ec2:*")], resource=QUEUE, action="sqs:SendMessage",
         resource_policy=[rp({"AWS": ALICE}, action="sqs:SendMessage")], resource_kind="sqs:queue"),
    Case(id="boundary-vs-resource-role", rule=f"{BOUNDARY}: a resource policy naming the role ARN is "
         "limited by the role's boundary", expect="deny", identity=[], principal="role",
         boundary=[stmt(action="ec2:*")], resource=QUEUE, action="sqs:SendMessage",
         resource_policy=[rp({"AWS": APP}, action="sqs:SendMessage")], resource_kind="sqs:queue",
         reason="boundary"),
    Case(id="boundary-vs-resource-role-ok", rule=f"{BOUNDARY}: role-ARN grant within the boundary",
         expect="allow", identity=[], principal="role", boundary=[stmt(action="sqs:*")], resource=QUEUE,
         action="sqs:SendMessage", resource_policy=[rp({"AWS": APP}, action="sqs:SendMessage")],
         resource_kind="sqs:queue"),
    Case(id="boundary-vs-resource-account", rule=f"{BOUNDARY}: an account-principal grant needs the "
         "identity side, which the boundary limits", expect="deny", boundary=[stmt(action="ec2:*")],
         resource=QUEUE, action="sqs:SendMessage", resource_kind="sqs:queue",
         resource_policy=[rp({"AWS": f"arn:aws:iam::{ACCT}:root"}, action="sqs:SendMessage")]),
    Case(id="boundary-notprincipal-deny", rule=f"{BOUNDARY}: Deny with NotPrincipal always denies a "
         "principal that has a boundary", expect="deny", boundary=[ALL], resource=QUEUE,
         action="sqs:SendMessage", resource_kind="sqs:queue",
         resource_policy=[stmt(D, action="sqs:*", resource="*", NotPrincipal={"AWS": ALICE})]),
    Case(id="notprincipal-deny-no-boundary", rule=f"{NOTPRINCIPAL}: Deny with NotPrincipal naming the "
         "caller does not apply to it", expect="allow", resource=QUEUE, action="sqs:SendMessage",
         resource_kind="sqs:queue",
         resource_policy=[stmt(D, action="sqs:*", resource="*", NotPrincipal={"AWS": ALICE})]),
    Case(id="notprincipal-deny-other", rule=f"{NOTPRINCIPAL}: Deny with NotPrincipal applies to everyone "
         "else", expect="deny", resource=QUEUE, action="sqs:SendMessage", resource_kind="sqs:queue",
         resource_policy=[stmt(D, action="sqs:*", resource="*", NotPrincipal={"AWS": APP})]),
    # ---------------------------------------------------------------- session policies
    Case(id="session-allows", rule=f"{SESSION}: identity AND session policy", expect="allow",
         principal="role", session=[S3_ONLY]),
    Case(id="session-excludes", rule=f"{SESSION}: a session policy limits the session", expect="deny",
         principal="role", session=[stmt(action="ec2:*")], reason="session policy"),
    Case(id="session-grants-nothing", rule=f"{SESSION}: a session policy never grants", expect="deny",
         principal="role", identity=[stmt(action="ec2:*")], session=[ALL], reason="no allow"),
    Case(id="session-deny", rule=f"{SESSION}: explicit deny in a session policy", expect="deny",
         principal="role", session=[ALL, stmt(D, action="s3:GetObject")], reason="explicit deny"),
    Case(id="session-vs-role-arn-grant", rule=f"{BASICS}: a resource policy naming the role ARN is "
         "limited by the session policy", expect="deny", principal="role", identity=[],
         session=[stmt(action="ec2:*")], resource=QUEUE, action="sqs:SendMessage",
         resource_policy=[rp({"AWS": APP}, action="sqs:SendMessage")], resource_kind="sqs:queue"),
    Case(id="session-role-arn-grant-ok", rule=f"{BASICS}: role-ARN grant within the session policy",
         expect="allow", principal="role", identity=[], session=[stmt(action="sqs:*")], resource=QUEUE,
         action="sqs:SendMessage", resource_policy=[rp({"AWS": APP}, action="sqs:SendMessage")],
         resource_kind="sqs:queue"),
    # ---------------------------------------------------------------- resource-based, same account
    Case(id="rbp-same-user", rule=f"{BASICS}: same account, a resource policy naming the user suffices",
         expect="allow", identity=[], resource=QUEUE, action="sqs:SendMessage", resource_kind="sqs:queue",
         resource_policy=[rp({"AWS": ALICE}, action="sqs:SendMessage")]),
    Case(id="rbp-same-role", rule=f"{BASICS}: same account, a resource policy naming the role suffices",
         expect="allow", identity=[], principal="role", resource=QUEUE, action="sqs:SendMessage",
         resource_policy=[rp({"AWS": APP}, action="sqs:SendMessage")], resource_kind="sqs:queue"),
    Case(id="rbp-same-star", rule=f"{PRINCIPAL}: Principal '*' grants everyone", expect="allow", identity=[],
         resource=QUEUE, action="sqs:SendMessage", resource_policy=[rp("*", action="sqs:SendMessage")],
         resource_kind="sqs:queue"),
    Case(id="rbp-same-account-delegates", rule=f"{BASICS}: naming the account delegates: identity "
         "policy needed", expect="deny", identity=[], resource=QUEUE, action="sqs:SendMessage",
         resource_policy=[rp({"AWS": ACCT}, action="sqs:SendMessage")], resource_kind="sqs:queue"),
    Case(id="rbp-same-identity-only", rule=f"{BASICS}: same account, identity policy alone suffices",
         expect="allow", resource=QUEUE, action="sqs:SendMessage", resource_kind="sqs:queue",
         resource_policy=[rp({"AWS": APP}, action="sqs:SendMessage")]),
    Case(id="rbp-deny", rule=f"{EVAL}: a Deny in a resource policy denies", expect="deny", resource=QUEUE,
         action="sqs:SendMessage", resource_kind="sqs:queue",
         resource_policy=[rp({"AWS": ALICE}, D, action="sqs:*")], reason="explicit deny"),
    Case(id="rbp-deny-other-principal", rule=f"{PRINCIPAL}: a Deny naming another principal does not apply",
         expect="allow", resource=QUEUE, action="sqs:SendMessage", resource_kind="sqs:queue",
         resource_policy=[rp({"AWS": APP}, D, action="sqs:*")]),
    Case(id="rbp-service-principal", rule=f"{PRINCIPAL}: a Service principal is not an IAM user",
         expect="deny", identity=[], resource=QUEUE, action="sqs:SendMessage", resource_kind="sqs:queue",
         resource_policy=[rp({"Service": "sns.amazonaws.com"}, action="sqs:SendMessage")]),
    Case(id="rbp-unique-id", rule=f"{PRINCIPAL}: a principal's unique id names it", expect="allow",
         identity=[], resource=QUEUE, action="sqs:SendMessage", resource_kind="sqs:queue",
         resource_policy=[rp({"AWS": "AIDAALICE"}, action="sqs:SendMessage")]),
    Case(id="rbp-session-arn", rule=f"{PRINCIPAL}: an assumed-role session ARN depends on the session name",
         expect="conditional", identity=[], principal="role", resource=QUEUE, action="sqs:SendMessage",
         resource_kind="sqs:queue", condition_contains="session name",
         resource_policy=[rp({"AWS": f"arn:aws:sts::{ACCT}:assumed-role/app/s1"}, action="sqs:SendMessage")]),
    Case(id="kms-key-policy-required", rule=f"{KMS}: without the key policy, IAM policies do not grant",
         expect="deny", resource=KEY, action="kms:Decrypt", resource_kind="kms:key",
         resource_policy=[rp({"AWS": APP}, action="kms:*")]),
    Case(id="kms-key-policy-root", rule=f"{KMS}: a key policy naming the account enables IAM policies",
         expect="allow", resource=KEY, action="kms:Decrypt", resource_kind="kms:key",
         resource_policy=[rp({"AWS": f"arn:aws:iam::{ACCT}:root"}, action="kms:*")]),
    Case(id="kms-key-policy-root-no-iam", rule=f"{KMS}: account delegation still needs the IAM policy",
         expect="deny", identity=[], resource=KEY, action="kms:Decrypt", resource_kind="kms:key",
         resource_policy=[rp({"AWS": f"arn:aws:iam::{ACCT}:root"}, action="kms:*")]),
    # ---------------------------------------------------------------- cross account
    Case(id="cross-both", rule=f"{CROSS}: cross-account needs identity AND resource policy", expect="allow",
         resource=QUEUE_X, action="sqs:SendMessage", resource_kind="sqs:queue",
         resource_policy=[rp({"AWS": ALICE}, action="sqs:SendMessage")]),
    Case(id="cross-no-identity", rule=f"{CROSS}: the resource policy alone is not enough", expect="deny",
         identity=[], resource=QUEUE_X, action="sqs:SendMessage", resource_kind="sqs:queue",
         resource_policy=[rp({"AWS": ALICE}, action="sqs:SendMessage")], reason="no allow"),
    Case(id="cross-no-resource", rule=f"{CROSS}: the identity policy alone is not enough", expect="deny",
         resource=QUEUE_X, action="sqs:SendMessage", resource_kind="sqs:queue",
         resource_policy=[rp({"AWS": OTHER}, action="sqs:SendMessage")], reason="no allow"),
    Case(id="cross-account-principal", rule=f"{CROSS}: trusting the caller's account + identity allow",
         expect="allow", resource=QUEUE_X, action="sqs:SendMessage", resource_kind="sqs:queue",
         resource_policy=[rp({"AWS": ACCT}, action="sqs:SendMessage")]),
    Case(id="cross-root-principal", rule=f"{CROSS}: ':root' names the account", expect="allow",
         resource=QUEUE_X, action="sqs:SendMessage", resource_kind="sqs:queue",
         resource_policy=[rp({"AWS": f"arn:aws:iam::{ACCT}:root"}, action="sqs:SendMessage")]),
    Case(id="cross-boundary", rule=f"{CROSS}+{BOUNDARY}: the boundary limits the identity side",
         expect="deny", resource=QUEUE_X, action="sqs:SendMessage", resource_kind="sqs:queue",
         boundary=[stmt(action="ec2:*")], resource_policy=[rp({"AWS": ALICE}, action="sqs:SendMessage")]),
    Case(id="cross-unknown-resource", rule=f"{CROSS}: a resource policy the snapshot lacks is not guessed",
         expect="conditional", resource=f"arn:aws:sqs:us-east-1:{OTHER}:elsewhere", action="sqs:SendMessage",
         condition_contains="resource-based policy"),
    Case(id="cross-unknown-resource-no-identity", rule=f"{CROSS}: identity must allow regardless",
         expect="deny", identity=[], resource=f"arn:aws:sqs:us-east-1:{OTHER}:elsewhere",
         action="sqs:SendMessage"),
    # ---------------------------------------------------------------- trust policies
    Case(id="trust-user-direct", rule=f"{BASICS}: a trust policy naming the user grants AssumeRole "
         "without an identity policy", expect="allow", identity=[], action=ASSUME, resource=TARGET,
         resource_policy=[trust({"AWS": ALICE})]),
    Case(id="trust-role-direct", rule=f"{BASICS}: a trust policy naming the role grants role chaining",
         expect="allow", identity=[], principal="role", action=ASSUME, resource=TARGET,
         resource_policy=[trust({"AWS": APP})]),
    Case(id="trust-account-needs-identity", rule=f"{TRUST}: a trust naming the account needs an identity "
         "allow", expect="deny", identity=[], action=ASSUME, resource=TARGET,
         resource_policy=[trust({"AWS": f"arn:aws:iam::{ACCT}:root"})], reason="no allow"),
    Case(id="trust-account-with-identity", rule=f"{TRUST}: account trust + identity allow", expect="allow",
         identity=[stmt(action=ASSUME, resource=TARGET)], action=ASSUME, resource=TARGET,
         resource_policy=[trust({"AWS": ACCT})]),
    Case(id="trust-required", rule=f"{TRUST}: identity allow without trust does not assume", expect="deny",
         action=ASSUME, resource=TARGET, resource_policy=[trust({"AWS": APP})], reason="no allow"),
    Case(id="trust-missing", rule=f"{TRUST}: a role with no trust policy cannot be assumed", expect="deny",
         action=ASSUME, resource=TARGET),
    Case(id="trust-role-absent", rule=f"{TRUST}: a role that does not exist cannot be assumed", expect="deny",
         action=ASSUME, resource=f"arn:aws:iam::{ACCT}:role/ghost"),
    Case(id="trust-role-other-account", rule=f"{CROSS}: another account's role: its trust is unknown",
         expect="conditional", action=ASSUME, resource=f"arn:aws:iam::{OTHER}:role/x"),
    Case(id="trust-deny", rule=f"{EVAL}: Deny in a trust policy", expect="deny", action=ASSUME,
         resource=TARGET, resource_policy=[trust({"AWS": ALICE}), trust({"AWS": ALICE}, D)]),
    Case(id="trust-identity-deny", rule=f"{EVAL}: identity Deny beats a trust grant", expect="deny",
         identity=[stmt(D, action="sts:*")], action=ASSUME, resource=TARGET,
         resource_policy=[trust({"AWS": ALICE})], reason="explicit deny"),
    Case(id="trust-scp", rule=f"{SCP}: SCPs limit AssumeRole even when the trust names the user",
         expect="deny", identity=[], action=ASSUME, resource=TARGET, resource_policy=[trust({"AWS": ALICE})],
         scps=[[ALL], [stmt(action="s3:*")], [ALL]], reason="scp"),
    Case(id="trust-service-only", rule=f"{PRINCIPAL}: a service trust does not admit users", expect="deny",
         action=ASSUME, resource=TARGET, resource_policy=[trust({"Service": "ec2.amazonaws.com"})]),
    Case(id="trust-user-boundary", rule=f"{BOUNDARY}: a trust naming the user is not limited by the "
         "user's boundary", expect="allow", identity=[], boundary=[stmt(action="s3:*")], action=ASSUME,
         resource=TARGET, resource_policy=[trust({"AWS": ALICE})]),
    Case(id="trust-role-boundary", rule=f"{BOUNDARY}: a trust naming the role ARN is limited by the "
         "caller role's boundary", expect="deny", identity=[], principal="role",
         boundary=[stmt(action="s3:*")], action=ASSUME, resource=TARGET, resource_policy=[trust({"AWS": APP})]),
    Case(id="trust-tag-condition", rule=f"{TRUST}: trust condition on the caller's tag (known)",
         expect="allow", identity=[], tags={"team": "ops"}, action=ASSUME, resource=TARGET,
         resource_policy=[trust({"AWS": ALICE}, Condition={"StringEquals": {"aws:PrincipalTag/team": "ops"}})]),
    Case(id="trust-mfa", rule=f"{TRUST}: trust requiring MFA is conditional offline", expect="conditional",
         identity=[], action=ASSUME, resource=TARGET, condition_contains="aws:MultiFactorAuthPresent",
         resource_policy=[trust({"AWS": ALICE}, Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})]),
    Case(id="trust-tagsession", rule=f"{TRUST}: sts:TagSession is governed by the trust policy",
         expect="deny", action="sts:TagSession", resource=TARGET, identity=[],
         resource_policy=[trust({"AWS": ALICE})]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_core_table(case: Case) -> None:
    check(case)


def test_core_table_ids_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)
