"""Properties of the whole analysis on random small accounts (hypothesis).

- Adding a Deny to a principal that is not an admin never adds a finding: denies only remove
  permissions, and what X-RemoveDeny reports is only what the Deny took away.
- The analysis is deterministic: the same snapshot gives the same report.
"""

from __future__ import annotations

from typing import Any

from builders import ACCT, ADMIN_ACCESS, REGION, Account, allow, deny, doc, trust_aws, trust_service
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deescalate.analysis.analyze import analyze
from deescalate.model import Snapshot

ACTIONS = [
    "sts:AssumeRole",
    "iam:PassRole",
    "ec2:RunInstances",
    "iam:CreateAccessKey",
    "iam:PutUserPolicy",
    "iam:PutRolePolicy",
    "iam:DeleteUserPolicy",
    "iam:AttachRolePolicy",
    "iam:AddUserToGroup",
    "lambda:UpdateFunctionCode",
    "iam:UpdateAssumeRolePolicy",
]
USERS = ["u0", "u1", "u2"]
ROLES = ["r0", "r1", "r2"]
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCT}:function:fn"

grants = st.lists(st.sampled_from([*ACTIONS, "ADMIN"]), max_size=4, unique=True)


def _policies(picked: list[str]) -> tuple[tuple[dict[str, Any], ...], tuple[str, ...]]:
    managed = (ADMIN_ACCESS,) if "ADMIN" in picked else ()
    actions = [a for a in picked if a != "ADMIN"]
    return ((doc(allow(actions)),) if actions else ()), managed


def build(spec: dict[str, list[str]], extra_deny: tuple[str, str] | None = None) -> Snapshot:
    acct = Account()
    inline, managed = _policies(spec["g0"])
    acct.group("g0", *inline, managed=managed)
    for name in USERS:
        inline, managed = _policies(spec[name])
        if extra_deny and extra_deny[0] == name:
            inline = (*inline, doc(deny(extra_deny[1])))
        acct.user(name, *inline, managed=managed, groups=("g0",) if name == "u2" else (), keys=0)
    trusts = {
        "r0": trust_aws(f"arn:aws:iam::{ACCT}:root"),
        "r1": trust_service("ec2.amazonaws.com"),
        "r2": trust_service("lambda.amazonaws.com"),
    }
    for name in ROLES:
        inline, managed = _policies(spec[name])
        if extra_deny and extra_deny[0] == name:
            inline = (*inline, doc(deny(extra_deny[1])))
        acct.role(name, trusts[name], *inline, managed=managed, profile=name == "r1")
    acct.resource("lambda:function", FUNCTION, f"arn:aws:iam::{ACCT}:role/r2")
    return acct.build()


accounts = st.fixed_dictionaries(dict.fromkeys([*USERS, *ROLES, "g0"], grants))


# u0 always holds iam:PutUserPolicy and never AdministratorAccess: it can make itself admin, so
# every generated account has at least that finding and the properties below are never vacuous.
anchored = accounts.map(lambda spec: {**spec, "u0": sorted({*spec["u0"], "iam:PutUserPolicy"} - {"ADMIN"})})
U0 = f"arn:aws:iam::{ACCT}:user/u0"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=anchored, who=st.sampled_from([*USERS, *ROLES]), action=st.sampled_from(ACTIONS))
def test_a_deny_on_a_non_admin_never_adds_a_finding(
    spec: dict[str, list[str]], who: str, action: str
) -> None:
    before = analyze(build(spec))
    assert U0 in {f.principal for f in before.findings}
    arn = f"arn:aws:iam::{ACCT}:{'user' if who in USERS else 'role'}/{who}"
    if arn in {v.arn for v in before.admins}:
        return
    after = analyze(build(spec, (who, action)))
    assert {v.arn for v in after.admins} == {v.arn for v in before.admins}
    assert {f.principal for f in after.findings} <= {f.principal for f in before.findings}
    if (who, action) == ("u0", "iam:PutUserPolicy"):
        # The deny cuts u0's anchored way; whatever u0 still reaches goes another way.
        assert not any(e.source == U0 and e.technique == "iam-007" for e in after.edges)


@settings(max_examples=20, deadline=None)
@given(spec=accounts)
def test_deterministic(spec: dict[str, list[str]]) -> None:
    snap = build(spec)
    assert analyze(snap) == analyze(snap)


TRUSTS = [
    {"AWS": f"arn:aws:iam::{ACCT}:root"},
    {"AWS": ACCT},
    {"AWS": f"arn:aws:iam::{ACCT}:user/u0"},
    {"AWS": f"arn:aws:iam::{ACCT}:role/r0"},
    {"AWS": f"arn:aws:sts::{ACCT}:assumed-role/r1/session"},
    {"AWS": "arn:aws:iam::999999999999:root"},
    {"AWS": "*"},
    "*",
    {"Service": "ec2.amazonaws.com"},
]


# The identity Allows of sts:AssumeRole a source may hold (None: none); sts-001 asks a role that
# trusts the account only when one could match it (Authorizer.may_allow_on).
ASSUME_ON: list[list[dict[str, object]] | None] = [
    None,
    [allow("sts:AssumeRole")],
    [allow("sts:AssumeRole", f"arn:aws:iam::{ACCT}:role/t*")],
    [allow("sts:AssumeRole", [f"arn:aws:iam::{ACCT}:role/t1", f"arn:aws:iam::{ACCT}:role/x"])],
    [allow("sts:AssumeRole", "arn:aws:iam::*:role/t?")],
    [allow("sts:AssumeRole", f"arn:aws:iam::{ACCT}:role/other-*")],
    [{"Effect": "Allow", "Action": "sts:AssumeRole", "NotResource": f"arn:aws:iam::{ACCT}:role/t0"}],
    [allow("sts:AssumeRole", f"arn:aws:iam::{ACCT}:role/${{aws:username}}")],
    [allow("sts:Assume*", f"arn:aws:iam::{ACCT}:role/t2"), allow("sts:AssumeRole", f"arn:aws:iam::{ACCT}:role/t0",
                                                                   Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})],
    [{"Effect": "Allow", "NotAction": "iam:*", "Resource": f"arn:aws:iam::{ACCT}:role/t1"}],
]


def _assume_doc(i: int) -> tuple[dict[str, object], ...]:
    statements = ASSUME_ON[i]
    return () if statements is None else ({"Version": "2012-10-17", "Statement": statements},)


@settings(max_examples=80, deadline=None)
@given(
    trusts=st.lists(st.sampled_from(range(len(TRUSTS))), min_size=3, max_size=3),
    assume=st.lists(st.sampled_from(range(len(ASSUME_ON))), min_size=6, max_size=6),
)
def test_trust_index_loses_no_assume_role_edge(trusts: list[int], assume: list[int]) -> None:
    """sts-001 edges found through the trust index == every (principal, role) pair decided directly."""
    from deescalate.policy.evaluate import Authorizer

    acct = Account()
    names = [*USERS, *ROLES]
    for i, name in enumerate(USERS):
        acct.user(name, *_assume_doc(assume[i]))
    targets = ["t0", "t1", "t2"]
    for i, name in enumerate(ROLES):
        acct.role(name, trust_service("lambda.amazonaws.com"), *_assume_doc(assume[3 + i]))
    for name, t in zip(targets, trusts, strict=True):
        acct.role(
            name,
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": TRUSTS[t], "Action": "sts:AssumeRole"}],
            },
            managed=(ADMIN_ACCESS,),
        )
    snap = acct.build()
    report = analyze(snap)
    got = {(e.source, e.target) for e in report.edges if e.technique == "sts-001"}
    auth = Authorizer(snap)
    sources = [f"arn:aws:iam::{ACCT}:{'user' if n in USERS else 'role'}/{n}" for n in names]
    want = {
        (s, f"arn:aws:iam::{ACCT}:role/{t}")
        for s in sources
        for t in targets
        if auth.decide(s, "sts:AssumeRole", f"arn:aws:iam::{ACCT}:role/{t}").possible
    }
    assert got == want
