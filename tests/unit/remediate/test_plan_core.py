"""Planner: fewest denies over all of a principal's edges, narrowest on ties, verified and iterated."""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import combinations
from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st
from plan_helpers import ToyAnalysis, edge

from deescalate.model import ADMIN, Edge, PolicyKind, PolicyRef, Report, Snapshot, User
from deescalate.policy.parse import parse_policy
from deescalate.remediate.plan import (
    _usage_text,
    build_plan,
    disruption,
    grant_score,
    handoff_endpoints,
    is_cut,
    recheck_plan,
    solve_principal,
)
from deescalate.remediate.planfile import dumps, plan_from_json

ACCT = "123456789012"
ALICE = f"arn:aws:iam::{ACCT}:user/alice"
BOB = f"arn:aws:iam::{ACCT}:user/bob"
ADMIN_ROLE = f"arn:aws:iam::{ACCT}:role/Admin"
OPS_ROLE = f"arn:aws:iam::{ACCT}:role/Ops"


def snapshot(*users: User) -> Snapshot:
    return Snapshot(account_id=ACCT, users=MappingProxyType({u.arn: u for u in users}), source="mem")


def report_for(analysis: ToyAnalysis, snap: Snapshot) -> Report:
    return analysis(snap)


def test_shared_grant_cuts_several_edges_with_one_deny() -> None:
    edges = [
        edge(ALICE, "ec2-001", [("iam:PassRole", ADMIN_ROLE), ("ec2:RunInstances", "*")], target=ADMIN_ROLE),
        edge(ALICE, "lambda-001", [("iam:PassRole", ADMIN_ROLE), ("lambda:CreateFunction", "*"),
                                   ("lambda:InvokeFunction", "*")], target=ADMIN_ROLE),
        edge(ALICE, "iam-005", [("iam:PutUserPolicy", ALICE)]),
    ]
    toy = ToyAnalysis(edges)
    snap = snapshot(User(arn=ALICE, name="alice"))
    plan = build_plan(snap, report_for(toy, snap), toy)
    assert plan.verified and plan.remaining == ()
    (pp,) = plan.principals
    # PassRole on the admin role (score 0) beats RunInstances on * (score 8); PutUserPolicy is forced.
    assert sorted((d.action, d.resource) for d in pp.denies) == [
        ("iam:PassRole", ADMIN_ROLE), ("iam:PutUserPolicy", ALICE)]
    passrole = next(d for d in pp.denies if d.action == "iam:PassRole")
    assert set(passrole.techniques) == {"ec2-001", "lambda-001"}
    assert len(passrole.cuts) == 2 and "exact optimum" in passrole.why
    assert pp.placement == "inline" and pp.policy_name == "deescalate-deny"


def test_undo_edge_appears_on_verification_and_is_planned_too() -> None:
    toy = ToyAnalysis([edge(ALICE, "iam-005", [("iam:AttachUserPolicy", ALICE)])], can_undo={ALICE})
    snap = snapshot(User(arn=ALICE, name="alice"))
    plan = build_plan(snap, report_for(toy, snap), toy)
    assert plan.verified, plan.remaining
    actions = {d.action for d in plan.principals[0].denies}
    # X-RemoveDeny has three alternatives (delete, overwrite, detach): each needs its own deny.
    assert actions == {"iam:AttachUserPolicy", "iam:DeleteUserPolicy", "iam:PutUserPolicy", "iam:DetachUserPolicy"}
    assert toy.calls >= 3  # initial report, a failing verification, the final one


def test_denies_inside_the_policy_being_removed_do_not_count() -> None:
    # X-RemoveDeny alternatives also list the escalation the deny policy blocks; the plan already
    # denies those grants, yet the edge survives: only denying the removal itself cuts it.
    toy = ToyAnalysis([edge(ALICE, "iam-005", [("iam:AttachUserPolicy", ALICE)])], can_undo={ALICE},
                      undo_then=True)
    snap = snapshot(User(arn=ALICE, name="alice"))
    plan = build_plan(snap, report_for(toy, snap), toy)
    assert plan.verified, plan.remaining
    actions = {d.action for d in plan.principals[0].denies}
    assert actions == {"iam:AttachUserPolicy", "iam:DeleteUserPolicy", "iam:PutUserPolicy", "iam:DetachUserPolicy"}


def test_uncuttable_edge_stays_in_remaining() -> None:
    bare = Edge(source=ALICE, target=ADMIN_ROLE, technique="sts-001", alternatives=((),))
    toy = ToyAnalysis([bare])
    snap = snapshot(User(arn=ALICE, name="alice"))
    plan = build_plan(snap, report_for(toy, snap), toy)
    assert not plan.verified
    assert [e.id for e in plan.remaining] == [bare.id]


def test_principal_filter_and_switched_off_deny_reported_by_check() -> None:
    edges = [edge(ALICE, "iam-005", [("iam:PutUserPolicy", ALICE)]),
             edge(BOB, "iam-009", [("iam:AttachUserPolicy", BOB)])]
    toy = ToyAnalysis(edges)
    snap = snapshot(User(arn=ALICE, name="alice"), User(arn=BOB, name="bob"))
    plan = build_plan(snap, report_for(toy, snap), toy, principals=[BOB])
    assert [p.principal for p in plan.principals] == [BOB] and plan.verified
    # A reviewer switches the deny off in the file: the check names the edge left open.
    raw = json.loads(dumps(plan))
    raw["principals"][0]["denies"][0]["apply"] = False
    edited = plan_from_json(raw)
    checked = recheck_plan(snap, edited, toy)
    assert not checked.verified
    assert [(e.source, e.technique) for e in checked.remaining] == [(BOB, "iam-009")]
    assert checked.principals[0].document == ""  # nothing left to write


def test_inline_quota_nearly_full_falls_back_to_managed_policy() -> None:
    filler = parse_policy(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                  "Resource": "arn:aws:s3:::" + "b" * 1900}]},
        PolicyRef(kind=PolicyKind.INLINE, name="big", attached_to=ALICE),
    )
    toy = ToyAnalysis([edge(ALICE, "iam-005", [("iam:PutUserPolicy", ALICE)])])
    snap = snapshot(User(arn=ALICE, name="alice", inline_policies=(filler,)))
    plan = build_plan(snap, report_for(toy, snap), toy)
    (pp,) = plan.principals
    assert pp.placement == "managed" and pp.policy_name == "deescalate-deny-user-alice"
    assert plan.verified  # the toy analysis reads the managed policy the verifier attached


def test_round_trip_of_plan_file() -> None:
    toy = ToyAnalysis([edge(ALICE, "iam-005", [("iam:PutUserPolicy", ALICE)], [("iam:AttachUserPolicy", ALICE)])])
    snap = snapshot(User(arn=ALICE, name="alice"))
    plan = build_plan(snap, report_for(toy, snap), toy)
    again = plan_from_json(json.loads(dumps(plan)))
    assert again == plan


def test_plan_file_layout_puts_each_edge_and_each_long_list_on_one_line() -> None:
    toy = ToyAnalysis([edge(ALICE, "iam-005", [("iam:PutUserPolicy", ALICE)], [("iam:AttachUserPolicy", ALICE)]),
                       edge(ALICE, "iam-007", [("iam:CreateAccessKey", ALICE)])])
    snap = snapshot(User(arn=ALICE, name="alice"))
    plan = build_plan(snap, report_for(toy, snap), toy)
    text = dumps(plan)
    raw = json.loads(text)
    assert raw == json.loads(json.dumps(raw, indent=2))  # the same document json.dumps would give
    lines = text.splitlines()
    for e in raw["edges"]:
        assert sum(line.strip().rstrip(",") == json.dumps(e) for line in lines) == 1
    for d in raw["principals"][0]["denies"]:
        assert any(line.strip().rstrip(",") == '"cuts": ' + json.dumps(d["cuts"]) for line in lines)
    assert any(line.strip() == '"apply": true,' for line in lines)  # what a reviewer edits: a line


# ----------------------------------------------------------------- property: plan == brute force

ACTIONS = ["iam:PassRole", "iam:PutUserPolicy", "ec2:RunInstances", "lambda:CreateFunction"]
RESOURCES = ["*", ADMIN_ROLE, OPS_ROLE, ALICE]
grants = st.tuples(st.sampled_from(ACTIONS), st.sampled_from(RESOURCES))
alternatives = st.lists(grants, min_size=1, max_size=3)
edge_specs = st.lists(st.lists(alternatives, min_size=1, max_size=3), min_size=1, max_size=4)


def objective(chosen: Iterable[tuple[str, str]], edges: list[Edge]) -> tuple[int, int, int]:
    """The planner's documented objective, computed from scratch: (disruption, pairs, score)."""
    ends = handoff_endpoints(edges)
    keys = set(chosen)
    return (sum(disruption(k, principal=ALICE, endpoints=ends) for k in keys), len(keys),
            sum(grant_score(k) for k in keys))


@settings(max_examples=60, deadline=None)
@given(edge_specs, st.lists(st.booleans(), min_size=4, max_size=4))
def test_every_plan_verifies_and_is_optimal(specs: list[list[list[tuple[str, str]]]], to_role: list[bool]) -> None:
    # Some edges reach the admin role (a hand-off endpoint), the others are self-escalations.
    edges = [edge(ALICE, f"t-{i}", *alts, target=ADMIN_ROLE if to_role[i] else ADMIN, via=str(i))
             for i, alts in enumerate(specs)]
    toy = ToyAnalysis(edges)
    snap = snapshot(User(arn=ALICE, name="alice"))
    plan = build_plan(snap, report_for(toy, snap), toy)
    assert plan.verified, plan.remaining
    chosen = [(d.action, d.resource) for d in plan.principals[0].denies]
    assert all(is_cut(e, chosen) for e in edges)
    universe = sorted({(g.action, g.resource) for e in edges for alt in e.alternatives for g in alt})
    best = min(
        objective(c, edges)
        for size in range(len(universe) + 1)
        for c in combinations(universe, size)
        if all(is_cut(e, c) for e in edges)
    )
    assert objective(chosen, edges) == best


def test_hand_off_denies_win_over_a_workload_deny() -> None:
    # PassRole + RunInstances on *, five admin roles trusting EC2: deny PassRole on the five roles
    # (one statement, nothing else lost), not RunInstances on every instance.
    roles = [f"arn:aws:iam::{ACCT}:role/admin-{i}" for i in range(5)]
    instances = f"arn:aws:ec2:*:{ACCT}:instance/*"
    edges = [edge(ALICE, "ec2-001", [("iam:PassRole", r), ("ec2:RunInstances", instances)], target=r)
             for r in roles]
    solved = solve_principal(ALICE, edges)
    assert sorted((d.action, d.resource) for d in solved.denies) == [("iam:PassRole", r) for r in roles]
    assert all(d.disruption == 0 for d in solved.denies)
    assert solved.denies[0].alternatives[0].action == "ec2:RunInstances"
    assert solved.denies[0].alternatives[0].disruption == 20
    # Lambda: PassRole + CreateFunction + InvokeFunction: the PassRole deny, CreateFunction stays.
    fn = f"arn:aws:lambda:*:{ACCT}:function:*"
    lam = edge(ALICE, "lambda-001", [("iam:PassRole", roles[0]), ("lambda:CreateFunction", fn),
                                     ("lambda:InvokeFunction", fn)], target=roles[0])
    assert [(d.action, d.resource) for d in solve_principal(ALICE, [lam]).denies] == [("iam:PassRole", roles[0])]


def test_solve_principal_never_proposes_a_useless_deny() -> None:
    e = edge(ALICE, "x", [("iam:PassRole", ADMIN_ROLE), ("ec2:RunInstances", "*")])
    solved = solve_principal(ALICE, [e, e])
    assert [(d.action, d.resource) for d in solved.denies] == [("iam:PassRole", ADMIN_ROLE)]
    assert solved.denies[0].cuts == (e.id,)


def test_too_many_denies_for_the_quotas_are_widened_and_still_verify() -> None:
    # 150 exact denies need ~8,000 characters: more than the inline quota and a managed policy.
    users = [f"arn:aws:iam::{ACCT}:user/some-long-user-name-{i:04d}" for i in range(150)]
    edges = [edge(ALICE, "iam-002", [("iam:CreateAccessKey", u)], target=u) for u in users]
    edges.append(edge(ALICE, "iam-007", [("iam:PutUserPolicy", ALICE)]))
    toy = ToyAnalysis(edges)
    snap = snapshot(User(arn=ALICE, name="alice"))
    plan = build_plan(snap, report_for(toy, snap), toy)
    assert plan.verified, plan.remaining
    (pp,) = plan.principals
    assert pp.placement == "inline" and pp.unfixable is None
    wide = [d for d in pp.denies if d.action == "iam:CreateAccessKey"]
    assert [(d.resource, len(d.cuts)) for d in wide] == [(f"arn:aws:iam::{ACCT}:user/*", 150)]


def test_a_widened_plan_explains_the_denies_it_keeps_as_an_exact_one_would() -> None:
    # The planner explains a deny only once widening has kept it (plan._Drafts): a kept deny reads
    # exactly as solve_principal's full explanation, then the widening note.
    users = [f"arn:aws:iam::{ACCT}:user/some-long-user-name-{i:04d}" for i in range(150)]
    edges = [edge(ALICE, "iam-002", [("iam:CreateAccessKey", u)], target=u) for u in users]
    edges.append(edge(ALICE, "iam-007", [("iam:PutUserPolicy", ALICE), ("iam:PassRole", ADMIN_ROLE)]))
    toy = ToyAnalysis(edges)
    snap = snapshot(User(arn=ALICE, name="alice"))
    (pp,) = build_plan(snap, report_for(toy, snap), toy).principals
    exact = {(d.action, d.resource): d for d in solve_principal(ALICE, edges, usage=_usage_text(snap, ALICE)).denies}
    kept = [d for d in pp.denies if d.action != "iam:CreateAccessKey"]
    assert kept and len(pp.denies) == len(kept) + 1
    for d in kept:
        full = exact[(d.action, d.resource)]
        assert d.why.startswith(full.why) and d.why[len(full.why):].startswith(" The exact plan (")
        assert full.why.startswith("Cuts, alone or with the other denies") and "Preferred over" in full.why
        assert (d.alternatives, d.usage, d.disruption, d.narrowness, d.cuts, d.techniques) == (
            full.alternatives, full.usage, full.disruption, full.narrowness, full.cuts, full.techniques)
        assert d.alternatives and d.usage


def test_kernel_solves_an_iam_star_shaped_instance_without_search() -> None:
    from deescalate.remediate.hitting import minimum_hitting_set

    sets = []
    for i in range(1000):
        cak, aup, pup = (("iam:CreateAccessKey", f"u{i}"), ("iam:AttachUserPolicy", f"u{i}"),
                         ("iam:PutUserPolicy", f"u{i}"))
        sets += [frozenset({cak, aup}), frozenset({cak, pup})]
    sol = minimum_hitting_set(sets, grant_score)
    assert sol.optimal and sol.nodes == 0
    assert {a for a, _ in sol.chosen} == {"iam:CreateAccessKey"} and len(sol.chosen) == 1000
