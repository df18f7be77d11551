"""Quota arithmetic, statement merging, placement, and recognising our own documents."""

from __future__ import annotations

from types import MappingProxyType

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as strat

from deescalate.model import Deny, PolicyKind, PolicyRef, Role, Snapshot, User
from deescalate.policy.parse import parse_policy
from deescalate.remediate.quotas import (
    MANAGED_POLICY_QUOTA,
    choose_placement,
    is_own_document,
    largest_quota,
    managed_policy_arn,
    policy_size,
    render_document,
    resource_pattern,
    size_floor,
    widen,
)

ACCT = "123456789012"
ALICE = f"arn:aws:iam::{ACCT}:user/alice"
ROLE = f"arn:aws:iam::{ACCT}:role/app"


def deny(action: str, resource: str, *, apply: bool = True) -> Deny:
    return Deny(id="d", principal=ALICE, action=action, resource=resource, cuts=(), techniques=(), why="",
                apply=apply)


def pairs(doc: dict) -> set[tuple[str, str]]:
    out = set()
    for st in doc["Statement"]:
        acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        ress = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        out |= {(a, r) for a in acts for r in ress}
    return out


def test_size_ignores_white_space() -> None:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:X", "Resource": "*"}]}
    import json

    assert policy_size(doc) == policy_size(json.dumps(doc, indent=4)) == len(json.dumps(doc, separators=(",", ":")))


def test_merging_denies_exactly_the_planned_pairs_and_shrinks() -> None:
    ds = [deny(a, r) for a in ("iam:PutUserPolicy", "iam:AttachUserPolicy", "iam:DeleteUserPolicy")
          for r in (ALICE,)] + [deny("iam:PassRole", f"arn:aws:iam::{ACCT}:role/r{i}") for i in range(5)]
    ds.append(deny("ec2:RunInstances", "*", apply=False))
    doc = render_document(ds)
    assert pairs(doc) == {(d.action, d.resource) for d in ds if d.apply}
    assert len(doc["Statement"]) == 2  # three actions on alice; one action on five roles
    unmerged = {"Version": "2012-10-17", "Statement": [
        {"Sid": f"Deescalate{i}", "Effect": "Deny", "Action": d.action, "Resource": d.resource}
        for i, d in enumerate(ds) if d.apply]}
    assert policy_size(doc) < policy_size(unmerged)
    assert is_own_document(doc)


def test_merge_never_widens_a_cross_product() -> None:
    # a1 on r1 and a2 on r2 must not become [a1,a2] x [r1,r2].
    ds = [deny("iam:A", "arn:r1"), deny("iam:B", "arn:r2")]
    assert pairs(render_document(ds)) == {("iam:A", "arn:r1"), ("iam:B", "arn:r2")}


def test_foreign_documents_are_not_ours() -> None:
    assert not is_own_document({"Statement": [{"Effect": "Allow", "Sid": "Deescalate1", "Action": "*"}]})
    assert not is_own_document({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})


def _inline(size: int, owner: str) -> object:
    return parse_policy(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                  "Resource": "x" * size}]},
        PolicyRef(kind=PolicyKind.INLINE, name="filler", attached_to=owner),
    )


def test_placement_inline_then_managed_then_unfixable() -> None:
    small = render_document([deny("iam:PutUserPolicy", ALICE)])
    user = User(arn=ALICE, name="alice", inline_policies=(_inline(100, ALICE),))  # type: ignore[arg-type]
    snap = Snapshot(account_id=ACCT, users=MappingProxyType({ALICE: user}))
    assert choose_placement(snap, ALICE, small).placement == "inline"

    full = User(arn=ALICE, name="alice", inline_policies=(_inline(1950, ALICE),))  # type: ignore[arg-type]
    snap = Snapshot(account_id=ACCT, users=MappingProxyType({ALICE: full}))
    got = choose_placement(snap, ALICE, small)
    assert got.placement == "managed" and got.policy_name == "deescalate-deny-user-alice"

    crowded = User(arn=ALICE, name="alice", inline_policies=(_inline(1950, ALICE),),  # type: ignore[arg-type]
                   managed_policy_arns=tuple(f"arn:aws:iam::{ACCT}:policy/p{i}" for i in range(10)))
    snap = Snapshot(account_id=ACCT, users=MappingProxyType({ALICE: crowded}))
    got = choose_placement(snap, ALICE, small)
    assert got.placement == "none" and got.unfixable and "10 managed policies" in got.unfixable

    # our own managed policy already attached does not use up a slot
    ours = managed_policy_arn(ACCT, ALICE)
    nine_plus_ours = User(arn=ALICE, name="alice", inline_policies=(_inline(1950, ALICE),),  # type: ignore[arg-type]
                          managed_policy_arns=(*(f"arn:aws:iam::{ACCT}:policy/p{i}" for i in range(9)), ours))
    snap = Snapshot(account_id=ACCT, users=MappingProxyType({ALICE: nine_plus_ours}))
    assert choose_placement(snap, ALICE, small).placement == "managed"


def test_role_has_the_larger_inline_quota_and_huge_plans_are_unfixable() -> None:
    role = Role(arn=ROLE, name="app", inline_policies=(_inline(5000, ROLE),))  # type: ignore[arg-type]
    snap = Snapshot(account_id=ACCT, roles=MappingProxyType({ROLE: role}))
    doc = render_document([deny("iam:PutRolePolicy", ROLE)])
    assert choose_placement(snap, ROLE, doc).placement == "inline"  # 5,000 fits a role, not a user
    huge = render_document([deny(f"iam:Action{i}", f"arn:aws:iam::{ACCT}:role/r{i}-" + "x" * 40) for i in range(120)])
    assert policy_size(huge) > MANAGED_POLICY_QUOTA
    got = choose_placement(snap, ROLE, huge)
    assert got.placement == "none" and "6144" in (got.unfixable or "")


def test_resource_pattern_cuts_at_an_arn_separator() -> None:
    users = [f"arn:aws:iam::{ACCT}:user/team-a/u{i}" for i in range(3)]
    assert resource_pattern(users) == f"arn:aws:iam::{ACCT}:user/team-a/*"
    assert resource_pattern([*users, f"arn:aws:iam::{ACCT}:user/u9"]) == f"arn:aws:iam::{ACCT}:user/*"
    assert resource_pattern([users[0], f"arn:aws:iam::{ACCT}:role/r"]) == f"arn:aws:iam::{ACCT}:*"
    assert resource_pattern(["abc", "xyz"]) == "*"


def test_widen_merges_the_largest_action_first_and_only_as_far_as_needed() -> None:
    many = [deny("iam:CreateAccessKey", f"arn:aws:iam::{ACCT}:user/user-{i:04d}") for i in range(40)]
    few = [deny("iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{ACCT}:role/r{i}") for i in range(3)]
    ds = tuple(many + few)
    out = widen(ds, lambda d: policy_size(render_document(d)) <= 800)
    assert out is not None
    assert [(d.action, d.resource) for d in out if d.action == "iam:CreateAccessKey"] == [
        ("iam:CreateAccessKey", f"arn:aws:iam::{ACCT}:user/*")]
    assert len([d for d in out if d.action == "iam:UpdateAssumeRolePolicy"]) == 3  # not needed, not widened
    assert "Widened to fit" in out[0].why
    assert widen(ds, lambda d: False) is None


def test_policy_size_drops_exactly_the_white_space_str_isspace_names() -> None:
    """IAM counts a policy's characters without white space (policy_size); the fast count agrees
    with `str.isspace` on every kind of white space, ASCII and Unicode."""
    spaces = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000"
    text = "".join(f"{c}a{c}{c}\"é\u200b" for c in spaces)  # U+200B is not white space to Python
    assert policy_size(text) == sum(1 for ch in text if not ch.isspace())
    assert policy_size({"Statement": [{"Effect": "Deny", "Action": "iam:*"}]}) == len(
        '{"Statement":[{"Effect":"Deny","Action":"iam:*"}]}'
    )


_RESOURCE_CHARS = strat.characters(codec="utf-8") | strat.sampled_from(
    [" ", "\t", "\n", "\x0b", "\x1c", "\x85", "\xa0", "\u2028", "\u3000", '"', "\\", "*", "/", ":"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strat.lists(strat.tuples(strat.sampled_from(["iam:PassRole", "iam:PutUserPolicy", "s3:GetObject"]),
                          strat.text(_RESOURCE_CHARS, max_size=12)
                          | strat.integers(150, 400).map(lambda n: " " * n),  # only the quotes count
                          strat.booleans()), max_size=12))
def test_size_floor_never_exceeds_the_rendered_size(items: list[tuple[str, str, bool]]) -> None:
    # widen skips rendering a document whose floor exceeds every quota: the floor must be a floor,
    # white space, escapes and non-ASCII resources included.
    denies = [deny(a, r, apply=on) for a, r, on in items]
    assert size_floor(denies) <= policy_size(render_document(denies))


def test_largest_quota_is_the_most_any_placement_allows() -> None:
    assert largest_quota(ALICE) == MANAGED_POLICY_QUOTA
    assert largest_quota(ROLE) == 10240
