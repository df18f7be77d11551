"""Property tests of the evaluator (hypothesis).

- Adding a Deny statement never makes a request more allowed (deny stays deny; allow may become
  conditional or deny, never the reverse).
- The order of statements, and of policies, never changes a decision.
- Splitting a statement's Action or Resource list into one statement per entry never changes it.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_builders import ACCT, SnapshotBuilder, doc

from deescalate.model import Decision, Outcome
from deescalate.policy.evaluate import Authorizer

ACTIONS = ["s3:GetObject", "s3:Get*", "s3:*", "iam:PassRole", "iam:*", "*", "ec2:Run?nstances", "sts:AssumeRole"]
RESOURCES = ["*", "arn:aws:s3:::b/*", "arn:aws:s3:::b/k", f"arn:aws:iam::{ACCT}:role/r",
             "arn:aws:s3:::home/${aws:username}/*"]
CONDITIONS: list[dict[str, Any]] = [
    {"StringEquals": {"aws:PrincipalTag/team": "ops"}},
    {"StringNotEquals": {"aws:PrincipalTag/team": "ops"}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}},
    {"StringLike": {"aws:username": "a*"}},
    {"Null": {"aws:PrincipalTag/missing": "true"}},
]
REQUESTS = [
    ("s3:GetObject", "arn:aws:s3:::b/k"), ("s3:PutObject", "arn:aws:s3:::b/k"), ("iam:PassRole", "*"),
    ("ec2:RunInstances", "*"), ("sts:AssumeRole", f"arn:aws:iam::{ACCT}:role/r"),
    ("s3:GetObject", "arn:aws:s3:::home/alice/x"),
]
RANK = {Outcome.DENY: 0, Outcome.CONDITIONAL: 1, Outcome.ALLOW: 2}


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {"Effect": effect or draw(st.sampled_from(["Allow", "Deny"]))}
    acts = draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=3, unique=True))
    s["NotAction" if draw(st.integers(0, 5)) == 0 else "Action"] = acts
    res = draw(st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=3, unique=True))
    s["NotResource" if draw(st.integers(0, 6)) == 0 else "Resource"] = res
    if draw(st.booleans()):
        s["Condition"] = draw(st.sampled_from(CONDITIONS))
    return s


policies = st.lists(st.lists(statements(), min_size=1, max_size=4), min_size=1, max_size=3)
requests = st.sampled_from(REQUESTS)


def _decide(policy_statements: list[list[dict[str, Any]]], request: tuple[str, str],
            trust: list[dict[str, Any]] | None = None) -> Decision:
    b = SnapshotBuilder()
    who = b.user("alice", *[doc(*p) for p in policy_statements], tags={"team": "ops"})
    trust_doc = doc(*trust) if trust else doc({"Effect": "Allow", "Action": "sts:AssumeRole",
                                               "Principal": {"AWS": ACCT}})
    b.role("r", trust=trust_doc)
    return Authorizer(b.build(), decision_cache=0).decide(who, request[0], request[1])


def _key(d: Decision) -> tuple[Outcome, str, frozenset[str]]:
    return d.outcome, d.reason.value, frozenset(d.conditions)


SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(policies, statements(effect="Deny"), st.integers(0, 2), requests)
def test_adding_a_deny_never_allows_more(pols: list[list[dict[str, Any]]], deny: dict[str, Any],
                                         where: int, request: tuple[str, str]) -> None:
    before = _decide(pols, request)
    after_pols = [list(p) for p in pols]
    after_pols[where % len(after_pols)].append(deny)
    after = _decide(after_pols, request)
    assert RANK[after.outcome] <= RANK[before.outcome], (before, after)
    if before.outcome is Outcome.DENY:
        assert after.outcome is Outcome.DENY


@SETTINGS
@given(policies, st.randoms(use_true_random=False), requests)
def test_statement_and_policy_order_do_not_matter(pols: list[list[dict[str, Any]]], rnd: Any,
                                                  request: tuple[str, str]) -> None:
    shuffled = [list(p) for p in pols]
    for p in shuffled:
        rnd.shuffle(p)
    rnd.shuffle(shuffled)
    assert _key(_decide(pols, request)) == _key(_decide(shuffled, request))


def _split(s: dict[str, Any]) -> list[dict[str, Any]]:
    """One statement per Action entry and per Resource entry (NotAction/NotResource stay whole)."""
    out = [s]
    for field in ("Action", "Resource"):
        if field in s:
            out = [{**x, field: [v]} for x in out for v in s[field]]
    return out


@SETTINGS
@given(policies, requests)
def test_splitting_statements_does_not_matter(pols: list[list[dict[str, Any]]],
                                              request: tuple[str, str]) -> None:
    split = [[part for s in p for part in _split(s)] for p in pols]
    a, b = _decide(pols, request), _decide(split, request)
    assert (a.outcome, a.reason) == (b.outcome, b.reason)


@SETTINGS
@given(st.lists(statements(), min_size=1, max_size=4), statements(effect="Deny"))
def test_trust_policy_deny_never_allows_more(trust_extra: list[dict[str, Any]], deny: dict[str, Any]) -> None:
    """The same monotonicity through a resource-based (trust) policy."""
    principal = {"AWS": f"arn:aws:iam::{ACCT}:user/alice"}
    trust = [{**s, "Principal": principal} for s in trust_extra]
    request = ("sts:AssumeRole", f"arn:aws:iam::{ACCT}:role/r")
    before = _decide([[{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]], request, trust)
    after = _decide([[{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]], request,
                    [*trust, {**deny, "Principal": principal}])
    assert RANK[after.outcome] <= RANK[before.outcome]


@SETTINGS
@given(policies, statements(effect="Allow"), requests)
def test_adding_an_identity_allow_never_allows_less(pols: list[list[dict[str, Any]]],
                                                    allow: dict[str, Any], request: tuple[str, str]) -> None:
    before = _decide(pols, request)
    after = _decide([*pols, [allow]], request)
    assert RANK[after.outcome] >= RANK[before.outcome], (before, after)


def _decide_guarded(identity: list[dict[str, Any]], boundary: list[dict[str, Any]],
                    scp: list[dict[str, Any]], request: tuple[str, str]) -> Decision:
    b = SnapshotBuilder()
    barn = b.managed("boundary", doc(*boundary))
    who = b.user("alice", doc(*identity), boundary=barn, tags={"team": "ops"})
    b.role("r", trust=doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": ACCT}}))
    full = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]
    b.org([[doc(*full)], [doc(*scp)], [doc(*full)]])
    return Authorizer(b.build()).decide(who, request[0], request[1])


@SETTINGS
@given(st.lists(statements(), min_size=1, max_size=3), st.lists(statements(), min_size=1, max_size=3),
       st.lists(statements(), min_size=1, max_size=3), statements(effect="Deny"), st.integers(0, 2), requests)
def test_a_deny_in_any_policy_type_never_allows_more(identity: list[dict[str, Any]],
                                                     boundary: list[dict[str, Any]],
                                                     scp: list[dict[str, Any]], deny: dict[str, Any],
                                                     where: int, request: tuple[str, str]) -> None:
    before = _decide_guarded(identity, boundary, scp, request)
    parts = [list(identity), list(boundary), list(scp)]
    parts[where].append(deny)
    after = _decide_guarded(*parts, request)
    assert RANK[after.outcome] <= RANK[before.outcome], (before, after)
