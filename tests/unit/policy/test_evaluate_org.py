"""The evaluator over an organization snapshot: each account under its own SCPs, RCPs by the
resource's account, the organization's condition keys per account (docs/evaluator.md rules 2, 3).

Every snapshot here is written by `org_builders.OrgDir` and read by `load_snapshot`, as a
`collect --organization` directory would be.
"""

from __future__ import annotations

from pathlib import Path

from builders import Account, allow, deny, doc, trust_aws
from org_builders import MGMT, ORG_ID, ROOT, OrgDir

from deescalate.model import Outcome, Reason
from deescalate.policy.evaluate import Authorizer
from deescalate.snapshot import load_snapshot

A = "111111111111"  # in OU "locked"
B = "222222222222"  # in OU "open"
ANY_ROLE = "arn:aws:iam::*:role/*"


def _org(tmp_path: Path) -> tuple[OrgDir, str, str]:
    org = OrgDir(rcps=True)
    mgmt = Account(account_id=MGMT)
    mgmt.user("root-ops", doc(allow("*")))
    mgmt.role("mgmt-role", trust_aws(f"arn:aws:iam::{A}:root", f"arn:aws:iam::{B}:root"))
    a, b = Account(account_id=A), Account(account_id=B)
    for acct in (a, b):
        acct.user("dev", doc(allow(["iam:*", "s3:*", "sts:AssumeRole", "kms:*"])))
        acct.role("target", trust_aws(f"arn:aws:iam::{A}:root", f"arn:aws:iam::{B}:root"))
        acct.role("AWSServiceRoleForX", trust_aws(f"arn:aws:iam::{acct.account_id}:root"),
                  doc(allow("*")), path="/aws-service-role/x.amazonaws.com/")
    locked, open_ = org.ou("locked"), org.ou("open")
    org.account(mgmt, name="management")
    org.account(a, parent=locked, name="a")
    org.account(b, parent=open_, name="b")
    return org, locked, open_


def _auth(org: OrgDir, tmp_path: Path, name: str = "org") -> Authorizer:
    return Authorizer(load_snapshot(org.write(tmp_path / name)))


def user(account: str, name: str = "dev") -> str:
    return f"arn:aws:iam::{account}:user/{name}"


def role(account: str, name: str = "target") -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def test_scps_of_the_principals_own_account_apply(tmp_path: Path) -> None:
    org, locked, _ = _org(tmp_path)
    org.scp(locked, deny("iam:*"), name="NoIAM")
    auth = _auth(org, tmp_path)
    d = auth.decide(user(A), "iam:CreateUser", "*")
    assert d.outcome is Outcome.DENY and d.reason is Reason.EXPLICIT_DENY
    assert any(m.policy.name == "NoIAM" for m in d.statements)
    assert auth.decide(user(B), "iam:CreateUser", "*").outcome is Outcome.ALLOW


def test_an_scp_level_that_does_not_allow_is_named(tmp_path: Path) -> None:
    org, locked, _ = _org(tmp_path)
    # The OU holds an SCP allowing s3 only (no FullAWSAccess): iam is allowed at no level there.
    org.without_full_access.add(locked)
    org.scp(locked, allow("s3:*"), name="S3Only")
    auth = _auth(org, tmp_path)
    assert auth.decide(user(A), "s3:GetObject", "arn:aws:s3:::bucket/key").outcome is Outcome.ALLOW
    d = auth.decide(user(A), "iam:CreateUser", "*")
    assert d.outcome is Outcome.DENY and d.reason is Reason.SCP
    assert d.detail == f"no SCP attached to the ou locked ({locked}) allows it (an SCP must allow at every level)"
    assert auth.decide(user(B), "iam:CreateUser", "*").outcome is Outcome.ALLOW


def test_the_management_account_is_exempt_from_scps(tmp_path: Path) -> None:
    org, _, _ = _org(tmp_path)
    org.scp(ROOT, deny("*"), name="DenyAll")
    auth = _auth(org, tmp_path)
    assert auth.decide(user(MGMT, "root-ops"), "iam:CreateUser", "*").outcome is Outcome.ALLOW
    assert auth.decide(user(A), "iam:CreateUser", "*").outcome is Outcome.DENY
    assert auth.decide(user(B), "iam:CreateUser", "*").outcome is Outcome.DENY


def test_service_linked_roles_are_exempt_from_scps_and_rcps(tmp_path: Path) -> None:
    org, locked, _ = _org(tmp_path)
    org.scp(locked, deny("*"), name="DenyAll")
    org.rcp(locked, {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}, name="NoS3")
    auth = _auth(org, tmp_path)
    slr = role(A, "AWSServiceRoleForX")
    assert auth.decide(slr, "iam:CreateUser", "*").outcome is Outcome.ALLOW
    assert auth.decide(slr, "s3:GetObject", "arn:aws:s3:::bucket/key").outcome is Outcome.ALLOW
    assert auth.decide(user(A), "s3:GetObject", "arn:aws:s3:::bucket/key").outcome is Outcome.DENY


def test_cross_account_assume_needs_the_callers_scps(tmp_path: Path) -> None:
    """A's identity policy + A's SCPs + B's trust policy; B's SCPs play no part."""
    org, locked, open_ = _org(tmp_path)
    org.scp(locked, deny("sts:AssumeRole"), name="NoAssume")
    auth = _auth(org, tmp_path)
    # A (locked) cannot assume B's role; B can assume A's role although A's OU denies AssumeRole.
    d = auth.decide(user(A), "sts:AssumeRole", role(B))
    assert d.outcome is Outcome.DENY and any(m.policy.name == "NoAssume" for m in d.statements)
    assert auth.decide(user(B), "sts:AssumeRole", role(A)).outcome is Outcome.ALLOW
    # The SCP moved to the other OU: the answers flip.
    org.move(next(p for p, v in org.policies.items() if v[0] == "NoAssume"), locked, open_)
    auth = _auth(org, tmp_path, "moved")
    assert auth.decide(user(A), "sts:AssumeRole", role(B)).outcome is Outcome.ALLOW
    assert auth.decide(user(B), "sts:AssumeRole", role(A)).outcome is Outcome.DENY


def test_rcps_are_those_of_the_resources_account(tmp_path: Path) -> None:
    org, locked, _ = _org(tmp_path)
    # An RCP on A: no AssumeRole of A's roles from outside account A.
    org.rcp(locked, {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole", "Resource": "*",
                     "Condition": {"StringNotEquals": {"aws:PrincipalAccount": A}}}, name="OnlyA")
    auth = _auth(org, tmp_path)
    d = auth.decide(user(B), "sts:AssumeRole", role(A))
    assert d.outcome is Outcome.DENY and any(m.policy.name == "OnlyA" for m in d.statements)
    # A's principals into B: A's RCPs do not guard B's roles.
    assert auth.decide(user(A), "sts:AssumeRole", role(B)).outcome is Outcome.ALLOW
    # The management account's resources: RCPs never apply.
    org.rcp(ROOT, {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole", "Resource": "*"},
            name="NoAssumeAnywhere")
    auth = _auth(org, tmp_path, "root-rcp")
    assert auth.decide(user(A), "sts:AssumeRole", role(MGMT, "mgmt-role")).outcome is Outcome.ALLOW
    assert auth.decide(user(A), "sts:AssumeRole", role(B)).outcome is Outcome.DENY


def test_an_rcp_level_that_does_not_allow_is_named(tmp_path: Path) -> None:
    org, _, _ = _org(tmp_path)
    org.without_full_access.add(A)
    org.rcp(A, {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}, name="S3Only")
    auth = _auth(org, tmp_path)
    d = auth.decide(user(B), "sts:AssumeRole", role(A))
    assert d.outcome is Outcome.DENY and d.reason is Reason.RCP
    assert d.detail == f"no RCP attached to the account a ({A}) allows it (an RCP must allow at every level)"
    assert auth.decide(user(A), "sts:AssumeRole", role(B)).outcome is Outcome.ALLOW


def test_kms_retire_grant_is_not_restricted_by_rcps(tmp_path: Path) -> None:
    org, locked, _ = _org(tmp_path)
    org.rcp(locked, {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}, name="NoKMS")
    auth = _auth(org, tmp_path)
    key = f"arn:aws:kms:us-east-1:{A}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert auth.decide(user(A), "kms:Decrypt", key).outcome is Outcome.DENY
    # kms:RetireGrant is never restricted by RCPs.
    assert auth.decide(user(A), "kms:RetireGrant", key).outcome is Outcome.ALLOW


def test_principal_org_paths_per_account(tmp_path: Path) -> None:
    org, locked, open_ = _org(tmp_path)
    mgmt = Account(account_id=MGMT)
    mgmt.user("root-ops", doc(allow("*")))
    mgmt.role("from-open-ou", doc({
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
        "Condition": {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"{ORG_ID}/{ROOT}/{open_}/*"]}},
    }))
    org.members[0].acct = mgmt
    auth = _auth(org, tmp_path)
    target = role(MGMT, "from-open-ou")
    assert auth.decide(user(B), "sts:AssumeRole", target).outcome is Outcome.ALLOW
    assert auth.decide(user(A), "sts:AssumeRole", target).outcome is Outcome.DENY
    p = auth._principal(user(A))
    assert p.values["aws:principalorgpaths"] == (f"{ORG_ID}/{ROOT}/{locked}/",)
    assert p.values["aws:principalorgid"] == (ORG_ID,)
    assert auth._principal(user(MGMT, "root-ops")).values["aws:principalorgpaths"] == (f"{ORG_ID}/{ROOT}/",)


def test_resource_org_keys_per_account(tmp_path: Path) -> None:
    org, _, open_ = _org(tmp_path)
    a = Account(account_id=A)
    a.user("dev", doc(allow("sts:AssumeRole", ANY_ROLE, Condition={
        "StringLike": {"aws:ResourceOrgPaths": f"{ORG_ID}/{ROOT}/{open_}/*"}})))
    org.members[1].acct = a
    auth = _auth(org, tmp_path)
    # B is in the open OU: its roles' ResourceOrgPaths match; the management account's do not.
    assert auth.decide(user(A), "sts:AssumeRole", role(B)).outcome is Outcome.ALLOW
    assert auth.decide(user(A), "sts:AssumeRole", role(MGMT, "mgmt-role")).outcome is Outcome.DENY
    # An account outside the snapshot: its organization is unknown, so is the key.
    d = auth.decide(user(A), "sts:AssumeRole", role("444444444444", "x"))
    assert d.outcome is Outcome.CONDITIONAL


def test_resource_org_keys_of_an_account_not_collected(tmp_path: Path) -> None:
    """The manifest still says where an account that could not be collected sits."""
    org, locked, open_ = _org(tmp_path)
    a = Account(account_id=A)
    a.user("dev", doc(allow("sts:AssumeRole", ANY_ROLE, Condition={
        "StringLike": {"aws:ResourceOrgPaths": f"{ORG_ID}/{ROOT}/{open_}/*"}})))
    org.members[1].acct = a
    org.account("555555555555", parent=open_, collection="failed", error="AccessDenied")
    org.account("666666666666", parent=locked, collection="failed", error="AccessDenied")
    auth = _auth(org, tmp_path)
    # In the open OU: only the role's unknown trust policy is left to decide.
    d = auth.decide(user(A), "sts:AssumeRole", role("555555555555", "x"))
    assert d.outcome is Outcome.CONDITIONAL
    assert not any("ResourceOrgPaths" in c for c in d.conditions)
    # In the locked OU: the identity policy's condition is known to fail.
    assert auth.decide(user(A), "sts:AssumeRole", role("666666666666", "x")).outcome is Outcome.DENY
