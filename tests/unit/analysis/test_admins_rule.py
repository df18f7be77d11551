"""admins.py's rule, piece by piece: where the policies come from, Denies, boundaries, partitions.

(test_admins.py covers coverage over several statements and policies.)
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from builders import ADMIN_ACCESS, Account, allow, deny, doc

from deescalate.analysis.admins import (
    admin_reason,
    administrator_access,
    boundary_caps,
    identity_policies,
    policy_grants_admin,
)
from deescalate.model import Snapshot, User

MFA = {"Bool": {"aws:MultiFactorAuthPresent": "false"}}


def _user(acct: Account, arn: str) -> tuple[Snapshot, User]:
    snap = acct.build()
    return snap, snap.users[arn]


def test_identity_policies_are_inline_managed_default_version_and_groups() -> None:
    acct = Account()
    old_admin = acct.managed("grown", doc(allow("*")), doc(allow("s3:GetObject")))  # default v2
    acct.group("admins", managed=(ADMIN_ACCESS,))
    snap, u = _user(acct, acct.user("u", doc(allow("sqs:*")), managed=(old_admin,), groups=("admins",)))
    got = [p.ref.label() for p in identity_policies(snap, u)]
    assert got == [
        f"inline policy inline-0 on {u.arn}",
        f"managed policy {old_admin} v2",
        f"managed policy {ADMIN_ACCESS} v1",
    ]


def test_admin_through_a_group_and_not_through_an_old_version() -> None:
    acct = Account()
    old_admin = acct.managed("grown", doc(allow("*")), doc(allow("s3:GetObject")))
    acct.group("admins", managed=(ADMIN_ACCESS,))
    grouped = acct.user("grouped", groups=("admins",))
    versioned = acct.user("versioned", managed=(old_admin,))
    snap = acct.build()
    assert admin_reason(snap, snap.users[grouped]) is not None
    assert admin_reason(snap, snap.users[versioned]) is None  # only the default version counts


def test_an_unconditional_deny_removes_admin_and_a_conditional_one_is_named() -> None:
    acct = Account()
    hard = acct.user("hard", doc(allow("*"), deny("iam:CreateUser")), managed=(ADMIN_ACCESS,))
    soft = acct.user("soft", doc(deny("*", Condition=MFA)), managed=(ADMIN_ACCESS,))
    snap = acct.build()
    assert admin_reason(snap, snap.users[hard]) is None
    reason = admin_reason(snap, snap.users[soft])
    assert reason is not None and "conditional Deny statements only restrict the context" in reason


def test_a_conditional_allow_everything_is_not_admin() -> None:
    acct = Account()
    snap, u = _user(acct, acct.user("u", doc(allow("*", Condition=MFA))))
    assert admin_reason(snap, u) is None
    assert not policy_grants_admin(list(identity_policies(snap, u)))


@pytest.mark.parametrize("partition", ["aws", "aws-us-gov", "aws-cn"])
def test_administrator_access_as_a_boundary_caps_nothing_in_its_partition(partition: str) -> None:
    acct = Account()
    snap, u = _user(acct, acct.user("u", managed=(ADMIN_ACCESS,)))
    u = replace(u, boundary_arn=administrator_access(partition), arn=u.arn.replace("arn:aws:", f"arn:{partition}:"))
    assert administrator_access(partition) == f"arn:{partition}:iam::aws:policy/AdministratorAccess"
    assert boundary_caps(snap, u) is None


def test_boundary_caps_name_their_reason() -> None:
    acct = Account()
    narrow = acct.managed("narrow", doc(allow("s3:*")))
    denying = acct.managed("denying", doc(allow("*"), deny("iam:PutUserPolicy")))
    missing = "arn:aws:iam::111111111111:policy/not-in-snapshot"
    snap = acct.build()
    base = User(arn="arn:aws:iam::111111111111:user/u", name="u", managed_policy_arns=(ADMIN_ACCESS,))
    assert boundary_caps(snap, base) is None
    assert "does not allow every action" in (boundary_caps(snap, replace(base, boundary_arn=narrow)) or "")
    assert "has a Deny" in (boundary_caps(snap, replace(base, boundary_arn=denying)) or "")
    assert "is not in the snapshot" in (boundary_caps(snap, replace(base, boundary_arn=missing)) or "")
    for arn in (narrow, denying, missing):
        assert admin_reason(snap, replace(base, boundary_arn=arn)) is None


def test_the_reason_names_the_policy_and_statement() -> None:
    acct = Account()
    snap, u = _user(acct, acct.user("u", managed=(ADMIN_ACCESS,)))
    reason = admin_reason(snap, u)
    assert reason is not None and ADMIN_ACCESS in reason and "statement 0" in reason
