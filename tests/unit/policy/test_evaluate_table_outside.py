"""Table cases for AWS's rules outside the policy documents and for edge semantics (issue 11).

Protected resources (AWS managed policies, service-linked and Identity Center roles, `alias/aws/`
KMS aliases), AWS managed policy ARNs as no other account's resources, sts:GetCallerIdentity,
resource-based statements without Principal, unresolvable variables, wrong-typed values under
negated operators, Bool, set operators with Null, and resource-policy grants to `*` for a role
session under a boundary. Each case names the AWS page it follows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from policy_builders import ACCT, SnapshotBuilder, doc, policy, stmt
from table_support import ALL, APP, BOUNDARY, CONDOPS, MULTI, VARS, Case, check

from deescalate.analysis.analyze import analyze
from deescalate.errors import PolicyError
from deescalate.model import PolicyKind, PolicyRef
from deescalate.policy.evaluate import Authorizer
from deescalate.policy.parse import parse_policy

A, D = "Allow", "Deny"
MANAGED_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html#aws-managed-policies"
SLR_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_update-service-linked-role.html"
SSO_DOC = "https://docs.aws.amazon.com/singlesignon/latest/userguide/permissionsetsconcept.html"
ALIAS_DOC = "https://docs.aws.amazon.com/kms/latest/developerguide/alias-create.html"
GCI_DOC = "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html"
BASICS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html"

ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
CUSTOMER_POLICY = f"arn:aws:iam::{ACCT}:policy/Mine"
SSO_ROLE = f"arn:aws:iam::{ACCT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef"
SLR = f"arn:aws:iam::{ACCT}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
PLAIN_ROLE = f"arn:aws:iam::{ACCT}:role/plain"
AWS_ALIAS = f"arn:aws:kms:us-east-1:{ACCT}:alias/aws/ebs"
MY_ALIAS = f"arn:aws:kms:us-east-1:{ACCT}:alias/mine"
DENY_ALL = stmt(D)


def cond(op: str, key: str, values: Any, effect: str = A) -> dict[str, Any]:
    return stmt(effect, action="s3:GetObject", Condition={op: {key: values}})


CASES: list[Case] = [
    # ------------------------------------------------------------ protected resources
    *(Case(id=f"aws-managed-{a.split(':')[1].lower()}", rule=f"{MANAGED_DOC}: AWS managed policies cannot be changed",
           expect="deny", reason="protected resource", action=a, resource=ADMIN_POLICY)
      for a in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy",
                "iam:DeletePolicyVersion")),
    Case(id="aws-managed-other-partition", rule=f"{MANAGED_DOC}: in every partition", expect="deny",
         reason="protected resource", action="iam:CreatePolicyVersion",
         resource="arn:aws-us-gov:iam::aws:policy/AdministratorAccess"),
    Case(id="customer-managed-changeable", rule=f"{MANAGED_DOC}: customer managed policies can be changed",
         expect="allow", action="iam:CreatePolicyVersion", resource=CUSTOMER_POLICY),
    Case(id="aws-managed-read-identity-alone", rule=f"{BASICS}: AWS managed policies are in no other account",
         expect="allow", identity=[stmt(action="iam:GetPolicyVersion")], action="iam:GetPolicyVersion",
         resource=ADMIN_POLICY),
    Case(id="aws-managed-read-denied-without-identity", rule=f"{BASICS}: identity policies alone decide",
         expect="deny", reason="no allow", identity=[stmt(action="s3:*")], action="iam:GetPolicy",
         resource=ADMIN_POLICY),
    *(Case(id=f"sso-role-{a.split(':')[1].lower()}", rule=f"{SSO_DOC}: Identity Center roles are kept by Identity Center",
           expect="deny", reason="protected resource", action=a, resource=SSO_ROLE)
      for a in ("iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy",
                "iam:DeleteRolePermissionsBoundary", "iam:DeleteRole")),
    *(Case(id=f"slr-{a.split(':')[1].lower()}", rule=f"{SLR_DOC}: service-linked roles are protected",
           expect="deny", reason="protected resource", action=a, resource=SLR)
      for a in ("iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy",
                "iam:DetachRolePolicy")),
    Case(id="slr-description-editable", rule=f"{SLR_DOC}: the description of any role may be edited",
         expect="allow", action="iam:UpdateRoleDescription", resource=SLR),
    Case(id="slr-pass-role", rule=f"{SLR_DOC}: a service-linked role may be passed to its service",
         expect="allow", action="iam:PassRole", resource=SLR),
    Case(id="plain-role-changeable", rule=f"{SLR_DOC}: other roles follow the policies", expect="allow",
         action="iam:PutRolePolicy", resource=PLAIN_ROLE),
    Case(id="plain-role-named-like-sso", rule=f"{SSO_DOC}: only the reserved path is protected", expect="allow",
         action="iam:PutRolePolicy", resource=f"arn:aws:iam::{ACCT}:role/AWSReservedSSO_Admin_x"),
    *(Case(id=f"alias-aws-{a.split(':')[1].lower()}", rule=f"{ALIAS_DOC}: alias/aws/ is reserved", expect="deny",
           reason="protected resource", action=a, resource=AWS_ALIAS)
      for a in ("kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias")),
    Case(id="alias-own", rule=f"{ALIAS_DOC}: other aliases follow the policies", expect="allow",
         action="kms:CreateAlias", resource=MY_ALIAS),
    # ------------------------------------------------------------ sts:GetCallerIdentity
    Case(id="gci-no-policy", rule=f"{GCI_DOC}: no permission is required", expect="allow", identity=(),
         action="sts:GetCallerIdentity", resource="*"),
    Case(id="gci-explicit-deny", rule=f"{GCI_DOC}: allowed even under an explicit Deny", expect="allow",
         identity=[DENY_ALL], action="sts:GetCallerIdentity", resource="*"),
    Case(id="gci-scp-deny", rule=f"{GCI_DOC}: allowed even under an explicit Deny", expect="allow",
         scps=[[ALL], [ALL, DENY_ALL], [ALL]], action="sts:GetCallerIdentity", resource="*"),
    Case(id="gci-role-boundary", rule=f"{GCI_DOC}: no permission is required", expect="allow",
         principal="role", boundary=[stmt(action="s3:*")], identity=(), action="STS:GetCallerIdentity",
         resource="*"),
    # ------------------------------------------------------------ unresolvable policy variables
    Case(id="var-unresolved-stringequals", rule=f"{VARS}: an unresolvable variable fails the condition",
         expect="deny", principal="role", identity=[cond("StringEquals", "s3:prefix", "${aws:username}")],
         context={"s3:prefix": "x"}),
    Case(id="var-unresolved-stringnotequals", rule=f"{VARS}: ... also under a negated operator",
         expect="deny", principal="role", identity=[cond("StringNotEquals", "s3:prefix", "${aws:username}")],
         context={"s3:prefix": "x"}),
    Case(id="var-unresolved-stringnotlike-absent-key", rule=f"{VARS}: ... also when the key is absent",
         expect="deny", principal="role", identity=[cond("StringNotLike", "s3:prefix", "home/${aws:username}/*")],
         context={"s3:prefix": []}),
    Case(id="var-unresolved-deny-does-not-apply", rule=f"{VARS}: a Deny whose variable is unresolvable does not apply",
         expect="allow", principal="role",
         identity=[ALL, cond("StringNotEquals", "aws:PrincipalTag/team", "${aws:username}", effect=D)]),
    Case(id="var-unresolved-arnnotlike", rule=f"{VARS}: ... ArnNotLike", expect="deny", principal="role",
         identity=[cond("ArnNotLike", "aws:SourceArn", "arn:aws:iam::*:user/${aws:username}")],
         context={"aws:SourceArn": f"arn:aws:iam::{ACCT}:user/x", "aws:ViaAWSService": "true"}),
    Case(id="var-default-resolves", rule=f"{VARS}: a default makes the variable resolvable", expect="allow",
         principal="role", identity=[cond("StringNotEquals", "s3:prefix", "${aws:username, 'nobody'}")],
         context={"s3:prefix": "x"}),
    Case(id="var-resolved-user", rule=f"{VARS}: a user's aws:username resolves", expect="allow",
         identity=[cond("StringNotEquals", "s3:prefix", "${aws:username}")], context={"s3:prefix": "x"}),
    Case(id="var-unresolved-notresource", rule=f"{VARS}: an unresolvable variable in NotResource: no match",
         expect="deny", principal="role",
         identity=[stmt(action="s3:GetObject", resource=None, NotResource="arn:aws:s3:::home/${aws:username}/*")]),
    Case(id="var-ifexists-absent-key", rule=f"{CONDOPS}: ...IfExists on an absent key stays true", expect="allow",
         principal="role", identity=[cond("StringNotEqualsIfExists", "s3:prefix", "${aws:username}")],
         context={"s3:prefix": []}),
    # ------------------------------------------------------------ wrong-typed values, Bool
    Case(id="arnnotlike-non-arn", rule=f"{CONDOPS}: ArnNotLike with a value that is not an ARN does not match",
         expect="deny", identity=[cond("ArnNotLike", "s3:prefix", "arn:aws:s3:::b/*")], context={"s3:prefix": "plain"}),
    Case(id="arnnotequals-non-arn", rule=f"{CONDOPS}: ArnNotEquals with a non-ARN", expect="deny",
         identity=[cond("ArnNotEquals", "s3:prefix", "arn:aws:s3:::b")], context={"s3:prefix": "b"}),
    Case(id="arnnotlike-arn", rule=f"{CONDOPS}: ArnNotLike with an ARN", expect="allow",
         identity=[cond("ArnNotLike", "s3:prefix", "arn:aws:s3:::b/*")], context={"s3:prefix": "arn:aws:s3:::c/k"}),
    Case(id="notipaddress-non-address", rule=f"{CONDOPS}: NotIpAddress with a non-address does not match",
         expect="deny", identity=[cond("NotIpAddress", "aws:SourceIp", "10.0.0.0/8")],
         context={"aws:SourceIp": "not-an-ip"}),
    Case(id="notipaddress-address", rule=f"{CONDOPS}: NotIpAddress with an address outside", expect="allow",
         identity=[cond("NotIpAddress", "aws:SourceIp", "10.0.0.0/8")], context={"aws:SourceIp": "192.0.2.1"}),
    Case(id="numericnotequals-non-number", rule=f"{CONDOPS}: NumericNotEquals with a non-number", expect="deny",
         identity=[cond("NumericNotEquals", "s3:max-keys", "10")], context={"s3:max-keys": "ten"}),
    Case(id="datenotequals-non-date", rule=f"{CONDOPS}: DateNotEquals with a non-date", expect="deny",
         identity=[cond("DateNotEquals", "aws:CurrentTime", "2020-01-01T00:00:00Z")],
         context={"aws:CurrentTime": "yesterday"}),
    Case(id="forall-arnnotlike-non-arn", rule=f"{CONDOPS}: a wrong-typed value under ForAllValues", expect="deny",
         identity=[cond("ForAllValues:ArnNotLike", "s3:prefix", "arn:aws:s3:::b/*")],
         context={"s3:prefix": ["arn:aws:s3:::c/k", "plain"]}),
    Case(id="bool-true-only-true", rule=f"{CONDOPS}: Bool is true only for true", expect="deny",
         identity=[cond("Bool", "aws:SecureTransport", "true")], context={"aws:SecureTransport": "1"}),
    Case(id="bool-false-for-other", rule=f"{CONDOPS}: Bool: any other value is false", expect="allow",
         identity=[cond("Bool", "aws:SecureTransport", "false")], context={"aws:SecureTransport": "yes"}),
    Case(id="bool-true", rule=f"{CONDOPS}: Bool true", expect="allow",
         identity=[cond("Bool", "aws:SecureTransport", True)], context={"aws:SecureTransport": "true"}),
    # ------------------------------------------------------------ set operators with Null
    Case(id="forall-null-missing", rule=f"{MULTI}: ForAllValues is true on a missing key (Null too)",
         expect="allow", identity=[cond("ForAllValues:Null", "aws:TagKeys", "false")], context={"aws:TagKeys": []}),
    Case(id="forany-null-missing", rule=f"{MULTI}: ForAnyValue is false on a missing key (Null too)",
         expect="deny", identity=[cond("ForAnyValue:Null", "aws:TagKeys", "true")], context={"aws:TagKeys": []}),
    Case(id="null-missing", rule=f"{CONDOPS}: Null true on a missing key", expect="allow",
         identity=[cond("Null", "aws:TagKeys", "true")], context={"aws:TagKeys": []}),
    Case(id="forany-null-present", rule=f"{MULTI}: present key: Null false holds", expect="allow",
         identity=[cond("ForAnyValue:Null", "aws:TagKeys", "false")], context={"aws:TagKeys": ["a"]}),
    # ------------------------------------------------------------ boundary vs a grant to the session
    Case(id="rp-star-role-session-not-bounded", rule=f"{BASICS}: a grant to the role session (*) is not limited by the boundary",
         expect="allow", principal="role", identity=(), boundary=[stmt(action="sqs:*")],
         resource_policy=[stmt(action="s3:GetObject", Principal="*")]),
    Case(id="rp-aws-star-role-session-not-bounded", rule=f"{BASICS}: Principal AWS * likewise", expect="allow",
         principal="role", identity=(), boundary=[stmt(action="sqs:*")],
         resource_policy=[stmt(action="s3:GetObject", Principal={"AWS": "*"})]),
    Case(id="rp-role-arn-bounded", rule=f"{BASICS}: a grant to the role ARN is limited by the boundary",
         expect="deny", reason="boundary", principal="role", identity=(), boundary=[stmt(action="sqs:*")],
         resource_policy=[stmt(action="s3:GetObject", Principal={"AWS": APP})]),
    Case(id="rp-star-role-session-policy", rule=f"{BASICS}: ... nor by the session policy", expect="allow",
         principal="role", identity=(), session=[stmt(action="sqs:*")],
         resource_policy=[stmt(action="s3:GetObject", Principal="*")]),
    Case(id="rp-star-explicit-boundary-deny", rule=f"{BOUNDARY}: an explicit Deny in the boundary still denies",
         expect="deny", reason="explicit deny", principal="role", identity=(),
         boundary=[ALL, stmt(D, action="s3:GetObject")], resource_policy=[stmt(action="s3:GetObject", Principal="*")]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_outside_rules_table(case: Case) -> None:
    check(case)


def test_ids_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("kind", [PolicyKind.RESOURCE, PolicyKind.TRUST])
def test_resource_statement_without_principal_is_rejected(kind: PolicyKind) -> None:
    ref = PolicyRef(kind=kind, name="bucket-policy", attached_to="arn:aws:s3:::b")
    with pytest.raises(PolicyError) as e:
        parse_policy(doc(stmt(action="s3:GetObject")), ref)
    msg = str(e.value)
    assert "bucket-policy" in msg and "Principal" in msg and "\n" not in msg
    # Identity policies have no Principal: they stay valid.
    parse_policy(doc(stmt(action="s3:GetObject")), replace(ref, kind=PolicyKind.INLINE))


def test_no_escalation_edge_through_protected_roles() -> None:
    # A user who may rewrite the trust (and policies) of every role reaches an ordinary admin
    # role, but not the Identity Center admin role nor a service-linked role next to it.
    b = SnapshotBuilder()
    admin_doc = doc(ALL)
    b.role("plain-admin", admin_doc, trust=doc(stmt(action="sts:AssumeRole", resource=None,
                                                    Principal={"Service": "ec2.amazonaws.com"})))
    b.role("AWSReservedSSO_Admin_0123456789abcdef", admin_doc, path="/aws-reserved/sso.amazonaws.com/eu-west-1/",
           trust=doc(stmt(action="sts:AssumeRoleWithSAML", resource=None,
                          Principal={"Federated": f"arn:aws:iam::{ACCT}:saml-provider/AWSSSO_x_DO_NOT_DELETE"})))
    b.role("AWSServiceRoleForX", admin_doc, path="/aws-service-role/x.amazonaws.com/",
           trust=doc(stmt(action="sts:AssumeRole", resource=None, Principal={"Service": "x.amazonaws.com"})))
    user = b.user("mallory", doc(stmt(action=["iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy",
                                              "iam:AttachRolePolicy", "sts:AssumeRole"])))
    report = analyze(b.build())
    targets = {e.target for e in report.edges if e.source == user}
    assert f"arn:aws:iam::{ACCT}:role/plain-admin" in targets
    assert not any("aws-reserved" in t or "aws-service-role" in t for t in targets), targets


def test_protected_answer_explains_itself() -> None:
    b = SnapshotBuilder()
    user = b.user("u", doc(ALL))
    d = Authorizer(b.build()).decide(user, "iam:CreatePolicyVersion", ADMIN_POLICY)
    assert d.outcome.value == "deny" and "AWS managed policy" in d.detail


def test_session_policy_parse_helper_is_identity_kind() -> None:
    # Session policies have no Principal either.
    assert policy(doc(stmt(action="s3:*")), PolicyKind.SESSION).statements


def test_policy_naming_unknown_action_loads_as_written_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    b = SnapshotBuilder()
    user = b.user("u", doc(stmt(action=["iam:PassRol", "s3:GetObject", "newsvc:DoThing", "ec2:Describe*"])))
    auth = Authorizer(b.build())
    with caplog.at_level("INFO", logger="deescalate.policy.compiled"):
        # Evaluated as written: the misspelt name matches itself, the known one is allowed.
        assert auth.decide(user, "iam:PassRol", "*").outcome.value == "allow"
        assert auth.decide(user, "s3:GetObject", "*").outcome.value == "allow"
    notes = [r.getMessage() for r in caplog.records]
    assert len(notes) == 1
    assert "iam:PassRol" in notes[0] and "newsvc:DoThing" in notes[0]
    assert "s3:GetObject" not in notes[0] and "ec2:Describe*" not in notes[0]
