"""sts-001 skips roles that trust only the source's account when the source may not call
sts:AssumeRole at all; a role naming the source itself is still asked, by ARN or by unique ID."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from builders import ACCT, Account, allow, doc, user_arn

from deescalate.analysis.analyze import analyze
from deescalate.policy.evaluate import Authorizer


def _trusting(*principals: str) -> dict[str, object]:
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"}]}


def test_a_role_naming_the_unique_id_and_the_account_is_assumable_without_an_identity_allow() -> None:
    acct = Account()
    alice = acct.user("alice", doc(allow("s3:GetObject")))
    acct.users[alice] = replace(acct.users[alice], user_id="AIDAALICE0000")
    role = acct.admin_role("admin", _trusting(f"arn:aws:iam::{ACCT}:root", "AIDAALICE0000"))
    acct.user("bob", doc(allow("s3:GetObject")))
    snap = acct.build()
    assert Authorizer(snap).decide(alice, "sts:AssumeRole", role).possible
    assert not Authorizer(snap).decide(user_arn("bob"), "sts:AssumeRole", role).possible
    edges = {(e.source, e.target) for e in analyze(snap).edges if e.technique == "sts-001"}
    assert edges == {(alice, role)}


def test_a_role_naming_only_the_unique_id() -> None:
    acct = Account()
    alice = acct.user("alice")
    acct.users[alice] = replace(acct.users[alice], user_id="AIDAALICE0000")
    role = acct.admin_role("admin", _trusting("AIDAALICE0000"))
    snap = acct.build()
    snap = replace(snap, users=MappingProxyType(dict(snap.users)))
    assert Authorizer(snap).decide(alice, "sts:AssumeRole", role).possible
    assert (alice, role) in {(e.source, e.target) for e in analyze(snap).edges}
