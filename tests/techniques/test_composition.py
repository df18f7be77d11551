"""Composition (analysis/compose.py): take-over and rewrite over everything a principal can act as.

Each path of issue 10 part 2 has positives and traps: console take-over + rewrite (the user has /
has not a password), rewrite any group + join it (the group is not joinable), a helper rewrites
its source (a boundary caps the source; the helper's rewrite is denied), a helper undoes the fix
(the helper's removal is denied). The plan cuts them and its verification holds against helpers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from builders import Account, allow, deny, doc, role_arn, trust_aws, user_arn
from checker_bridge import write_raw
from escalation_checker import Checker

from deescalate.analysis import compose
from deescalate.analysis.analyze import analyze
from deescalate.model import ADMIN, Edge, Report, Snapshot
from deescalate.remediate.plan import build_plan, default_analyze
from deescalate.remediate.verify import apply_to_snapshot

ME = user_arn("attacker")
VICTIM = user_arn("victim")
HELPER = role_arn("helper")


def edges_of(report: Report, arn: str = ME) -> list[Edge]:
    return [e for e in report.edges if e.source == arn]


def kinds(report: Report, arn: str = ME) -> set[tuple[str, str]]:
    return {(e.technique, e.target) for e in edges_of(report, arn)}


def at_risk(report: Report) -> set[str]:
    return {f.principal for f in report.findings}


def plan_and_check(snap: Snapshot) -> tuple[int, Report]:
    """Plan every finding, apply it in memory, re-analyse: (number of denies, the re-analysis)."""
    report = analyze(snap)
    plan = build_plan(snap, report, default_analyze())
    assert plan.verified, [e.id for e in plan.remaining]
    return sum(len(p.denies) for p in plan.principals), analyze(apply_to_snapshot(snap, plan))


# ----------------------------------------------------------------- console take-over + rewrite


@pytest.mark.parametrize(
    ("action", "has_password", "flagged"),
    [
        ("iam:CreateLoginProfile", False, True),
        ("iam:CreateLoginProfile", True, False),  # CreateLoginProfile fails on a user with a password
        ("iam:UpdateLoginProfile", True, True),
        ("iam:UpdateLoginProfile", False, False),  # UpdateLoginProfile fails on a user without one
    ],
)
@pytest.mark.parametrize("rewrite", ["iam:AttachUserPolicy", "iam:PutUserPolicy"])
def test_console_takeover_and_rewrite(action: str, has_password: bool, flagged: bool, rewrite: str) -> None:
    acct = Account()
    acct.user("victim", login=has_password)
    acct.user("attacker", doc(allow([action, rewrite], VICTIM)))
    report = analyze(acct.build())
    assert (("X-TakeoverRewrite", ADMIN) in kinds(report)) is flagged
    assert (ME in at_risk(report)) is flagged
    if flagged:
        (edge,) = edges_of(report)
        assert edge.via == VICTIM and not edge.conditional
        assert all({g.action for g in alt} == {action, rewrite} for alt in edge.alternatives)
        assert all(not g.principal for alt in edge.alternatives for g in alt)  # all the attacker's


def test_console_takeover_with_an_unknown_password_is_conditional() -> None:
    acct = Account()
    acct.user("victim", login=None)
    acct.user("attacker", doc(allow(["iam:CreateLoginProfile", "iam:PutUserPolicy"], VICTIM)))
    (edge,) = [e for e in edges_of(analyze(acct.build())) if e.technique == "X-TakeoverRewrite"]
    assert edge.conditional and any("console password is unknown" in c for c in edge.conditions)


def test_console_takeover_capped_by_the_victims_boundary() -> None:
    acct = Account()
    cap = acct.managed("cap", doc(allow("s3:*")))
    acct.user("victim", boundary=cap)
    acct.user("attacker", doc(allow(["iam:CreateLoginProfile", "iam:AttachUserPolicy"], VICTIM)))
    assert not edges_of(analyze(acct.build()))


def test_console_takeover_plan_cuts_with_one_deny() -> None:
    acct = Account()
    acct.user("victim")
    acct.user("attacker", doc(allow(["iam:CreateLoginProfile", "iam:AttachUserPolicy"], VICTIM)))
    denies, after = plan_and_check(acct.build())
    assert denies == 1 and not after.findings


@pytest.mark.parametrize(
    ("tid", "take", "rewrite", "victim"),
    [
        ("iam-015", "iam:CreateAccessKey", "iam:AttachUserPolicy", VICTIM),
        ("iam-018", "iam:CreateAccessKey", "iam:PutUserPolicy", VICTIM),
        ("iam-014", "sts:AssumeRole", "iam:AttachRolePolicy", role_arn("victim")),
        ("iam-017", "sts:AssumeRole", "iam:PutRolePolicy", role_arn("victim")),
        ("iam-019", "iam:UpdateAssumeRolePolicy", "iam:AttachRolePolicy", role_arn("victim")),
        ("iam-021", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", role_arn("victim")),
    ],
)
def test_one_step_takeover_and_rewrite_keeps_its_id(tid: str, take: str, rewrite: str, victim: str) -> None:
    acct = Account()
    acct.user("victim")
    acct.role("victim", trust_aws(f"arn:aws:iam::{acct.account_id}:root"))
    acct.user("attacker", doc(allow([take, rewrite], victim)))
    assert (tid, ADMIN) in kinds(analyze(acct.build()))
    # the same attacker allowed the rewrite on "*" rewrites itself: that outright edge is the finding
    acct.user("attacker", doc(allow(take, victim), allow(rewrite)))
    if rewrite.startswith("iam:AttachUser") or rewrite.startswith("iam:PutUser"):
        assert ("iam-008" if "Attach" in rewrite else "iam-007", ADMIN) in kinds(analyze(acct.build()))


# ----------------------------------------------------------------- rewrite a group, then join it


def test_rewrite_any_group_then_join_it() -> None:
    acct = Account()
    g = acct.group("empty")  # not its own group, no policy: the iam-013 what-if has nothing to try
    acct.user("attacker", doc(allow(["iam:PutGroupPolicy", "iam:AddUserToGroup"], g)))
    report = analyze(acct.build())
    (edge,) = edges_of(report)
    assert (edge.technique, edge.target, edge.via) == ("X-GroupRewrite", ADMIN, g)
    assert [sorted(x.action for x in alt) for alt in edge.alternatives] == [
        ["iam:AddUserToGroup", "iam:PutGroupPolicy"]
    ]


def test_group_not_joinable_is_no_finding() -> None:
    acct = Account()
    g = acct.group("empty")
    acct.user("attacker", doc(allow(["iam:PutGroupPolicy", "iam:AddUserToGroup"]), deny("iam:AddUserToGroup", g)))
    report = analyze(acct.build())
    assert ME not in at_risk(report)


def test_rewrite_a_group_a_helper_joins_a_user_it_takes_over_into() -> None:
    acct = Account()
    g = acct.group("empty")
    intern = acct.user("intern")
    acct.role("helper", trust_aws(ME), doc(allow("iam:AddUserToGroup", g)))
    acct.user(
        "attacker",
        doc(allow("iam:AttachGroupPolicy", g), allow("sts:AssumeRole", HELPER), allow("iam:CreateAccessKey", intern)),
        boundary=acct.managed("cap", doc(allow(["iam:*", "sts:*"]))),  # the attacker itself is capped
    )
    report = analyze(acct.build())
    (edge,) = [e for e in edges_of(report) if e.technique == "X-GroupRewrite"]
    steps = {(x.action, x.resource, x.principal) for alt in edge.alternatives for x in alt}
    assert ("iam:AddUserToGroup", g, HELPER) in steps  # the helper's step, denied to the helper
    for alt in edge.alternatives:
        assert {(x.action, x.principal) for x in alt} >= {
            ("iam:AttachGroupPolicy", ""), ("sts:AssumeRole", ""), ("iam:AddUserToGroup", HELPER)
        }
        # the user added is the intern, taken over with an access key (the attacker itself is capped)
        assert ("iam:CreateAccessKey", intern, "") in {(x.action, x.resource, x.principal) for x in alt}
    _, after = plan_and_check(acct.build())
    assert not after.findings


def test_rewrite_a_group_a_taken_over_user_is_in() -> None:
    acct = Account()
    g = acct.group("team", doc(allow("s3:GetObject")))
    acct.user("member", groups=("team",))
    acct.user("attacker", doc(allow("iam:PutGroupPolicy", g), allow("iam:CreateAccessKey", user_arn("member"))))
    report = analyze(acct.build())
    assert ("X-GroupRewrite", ADMIN) in kinds(report)
    # ...but not when the member's boundary caps what the group gives.
    acct.user("member", groups=("team",), boundary=acct.managed("cap", doc(allow("s3:*"))))
    assert ("X-GroupRewrite", ADMIN) not in kinds(analyze(acct.build()))


# ----------------------------------------------------------------- a helper rewrites its source


def _helper_world(helper_policy: dict[str, Any], **attacker: Any) -> Snapshot:
    acct = Account()
    acct.role("helper", trust_aws(ME), helper_policy)
    acct.user("attacker", doc(allow("sts:AssumeRole", HELPER)), **attacker)
    return acct.build()


@pytest.mark.parametrize("action", ["iam:PutUserPolicy", "iam:AttachUserPolicy"])
def test_helper_rewrites_its_source(action: str) -> None:
    report = analyze(_helper_world(doc(allow(action, ME))))
    (edge,) = [e for e in edges_of(report) if e.target == ADMIN]
    assert edge.technique == "X-HelperRewrite" and edge.via == f"{ME}?by={HELPER}"
    for alt in edge.alternatives:
        owners = {(g.action, g.principal) for g in alt}
        assert ("sts:AssumeRole", "") in owners and (action, HELPER) in owners
    assert ME in at_risk(report) and HELPER not in at_risk(report)  # the helper cannot act as P


def test_helper_rewrite_capped_by_the_sources_boundary() -> None:
    acct = Account()
    cap = acct.managed("cap", doc(allow("sts:AssumeRole")))
    acct.role("helper", trust_aws(ME), doc(allow("iam:PutUserPolicy", ME)))
    acct.user("attacker", doc(allow("sts:AssumeRole", HELPER)), boundary=cap)
    assert ME not in at_risk(analyze(acct.build()))


def test_helper_rewrite_denied_to_the_helper() -> None:
    snap = _helper_world(doc(allow("iam:PutUserPolicy", ME), deny("iam:PutUserPolicy", ME)))
    assert ME not in at_risk(analyze(snap))


def test_helper_rewrites_another_member_two_steps_away() -> None:
    acct = Account()
    r1, r2 = role_arn("r1"), role_arn("r2")
    acct.role("r1", trust_aws(ME), doc(allow("sts:AssumeRole", r2)))
    acct.role("r2", trust_aws(r1), doc(allow("iam:AttachRolePolicy", r1)))
    acct.user("attacker", doc(allow("sts:AssumeRole", r1)))
    report = analyze(acct.build())
    assert {ME, r1} <= at_risk(report)
    # The composition meets at r1 (it can act as r2 and is itself rewritten): the attacker's path
    # runs through r1's edge, not a copy of its own.
    assert ("X-HelperRewrite", ADMIN) in kinds(report, r1)
    assert ("X-HelperRewrite", ADMIN) not in kinds(report, ME)
    denies, after = plan_and_check(acct.build())
    assert denies == 1 and not after.findings


def test_helper_rewrite_plan_is_one_deny_and_holds() -> None:
    snap = _helper_world(doc(allow("iam:PutUserPolicy", ME)))
    report = analyze(snap)
    plan = build_plan(snap, report, default_analyze())
    assert plan.verified
    ((pp, d),) = [(p, d) for p in plan.principals for d in p.denies]
    # Denying the use of the helper role scores lower than denying the helper its rewrite.
    assert (pp.principal, d.action, d.resource) == (ME, "sts:AssumeRole", HELPER)


def _wide_helper_world(members: int) -> Snapshot:
    """The attacker may assume the helper and `members` roles; the helper may put an inline policy
    on every role but its own (no self-escalation: composition's business alone)."""
    acct = Account()
    roles = [role_arn(f"r{i}") for i in range(members)]
    for i in range(members):
        acct.role(f"r{i}", trust_aws(ME))
    acct.role(
        "helper",
        trust_aws(ME),
        doc(allow("iam:PutRolePolicy", role_arn("*")), deny("iam:PutRolePolicy", HELPER)),
    )
    acct.user("attacker", doc(allow("sts:AssumeRole", [HELPER, *roles])))
    return acct.build()


def test_a_helper_rewriting_many_members_is_one_edge_cut_on_the_way_to_it() -> None:
    """More than compose.MAX_TARGETS members it could rewrite: one edge (`*?by=helper`), not one
    per member, cut where the attacker takes the helper over (the hand-off; the helper keeps its
    work), never by a deny of one member's rewrite."""
    snap = _wide_helper_world(5)
    report = analyze(snap)
    (edge,) = [e for e in edges_of(report) if e.target == ADMIN]
    assert (edge.technique, edge.via) == ("X-HelperRewrite", f"*?by={HELPER}")
    assert [[(g.action, g.resource, g.principal) for g in alt] for alt in edge.alternatives] == [
        [("sts:AssumeRole", HELPER, "")]
    ]
    assert "more than 4 principals it can act as" in edge.description
    denies, after = plan_and_check(snap)
    assert denies == 1 and not after.findings
    plan = build_plan(snap, report, default_analyze())
    ((pp, d),) = [(p, d) for p in plan.principals for d in p.denies]
    assert (pp.principal, d.action, d.resource) == (ME, "sts:AssumeRole", HELPER)


def test_every_way_into_the_helper_is_an_alternative() -> None:
    """Two members it can act as may each take the helper over: both steps must be denied (one
    alone would leave the other for the next verification round)."""
    acct = Account()
    roles = [role_arn(f"r{i}") for i in range(5)]
    for i in range(5):
        acct.role(f"r{i}", trust_aws(ME))
    acct.user("hopper", doc(allow("sts:AssumeRole", HELPER)))
    acct.role(
        "helper",
        trust_aws(ME, user_arn("hopper")),
        doc(allow("iam:PutRolePolicy", role_arn("*")), deny("iam:PutRolePolicy", HELPER)),
    )
    acct.user("attacker", doc(allow("sts:AssumeRole", [HELPER, *roles]), allow("iam:CreateAccessKey", user_arn("hopper"))))
    snap = acct.build()
    (edge,) = [e for e in edges_of(analyze(snap)) if e.target == ADMIN and e.technique == "X-HelperRewrite"]
    steps = sorted([(g.action, g.resource, g.principal) for g in alt] for alt in edge.alternatives)
    assert steps == [[("sts:AssumeRole", HELPER, "")], [("sts:AssumeRole", HELPER, user_arn("hopper"))]]
    _, after = plan_and_check(snap)
    assert not after.findings


def test_a_helper_rewriting_few_members_has_an_edge_per_member() -> None:
    report = analyze(_wide_helper_world(4))
    vias = sorted(e.via or "" for e in edges_of(report) if e.target == ADMIN)
    assert vias == [f"{role_arn(f'r{i}')}?by={HELPER}" for i in range(4)]


MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


def test_a_many_target_helper_edge_is_unconditional_when_one_member_is() -> None:
    """The helper may rewrite r0 only with MFA, r1..r4 without a condition: the attacker's way is
    certain (the per-member edges said so), whichever member the scan meets first."""
    acct = Account()
    roles = [role_arn(f"r{i}") for i in range(5)]
    for i in range(5):
        acct.role(f"r{i}", trust_aws(ME))
    acct.role("helper", trust_aws(ME), doc(
        allow("iam:PutRolePolicy", roles[1:]), allow("iam:PutRolePolicy", roles[0], Condition=MFA)))
    acct.user("attacker", doc(allow("sts:AssumeRole", [HELPER, *roles])))
    report = analyze(acct.build())
    (edge,) = [e for e in edges_of(report) if e.target == ADMIN]
    assert edge.via == f"*?by={HELPER}" and not edge.conditional
    (finding,) = [f for f in report.findings if f.principal == ME]
    assert not finding.conditional


def test_a_many_target_helper_edge_is_conditional_when_every_member_is() -> None:
    """Every member trusts the attacker only with MFA: the helper's rewrite is certain, the way to
    use what it gives is not."""
    acct = Account()
    roles = [role_arn(f"r{i}") for i in range(5)]
    mfa_trust = doc({"Effect": "Allow", "Principal": {"AWS": [ME]}, "Action": "sts:AssumeRole", "Condition": MFA})
    for i in range(5):
        acct.role(f"r{i}", mfa_trust)
    acct.role("helper", trust_aws(ME), doc(allow("iam:PutRolePolicy", role_arn("*")), deny("iam:PutRolePolicy", HELPER)))
    acct.user("attacker", doc(allow("sts:AssumeRole", [HELPER, *roles])))
    report = analyze(acct.build())
    (edge,) = [e for e in edges_of(report) if e.target == ADMIN]
    assert edge.via == f"*?by={HELPER}" and edge.conditional
    assert any("MultiFactorAuthPresent" in c for c in edge.conditions)
    (finding,) = [f for f in report.findings if f.principal == ME]
    assert finding.conditional


def test_a_many_target_helper_edge_is_conditional_when_one_of_its_ways_is() -> None:
    """Attaching needs no condition, putting needs MFA: as for each member's own edge, one
    conditional way makes the rewrite conditional, with five members as with four."""
    verdicts = []
    for members in (4, 5):
        acct = Account()
        roles = [role_arn(f"r{i}") for i in range(members)]
        for i in range(members):
            acct.role(f"r{i}", trust_aws(ME))
        acct.role("helper", trust_aws(ME), doc(
            allow("iam:AttachRolePolicy", role_arn("*")),
            allow("iam:PutRolePolicy", role_arn("*"), Condition=MFA),
            deny(["iam:AttachRolePolicy", "iam:PutRolePolicy"], HELPER)))
        acct.user("attacker", doc(allow("sts:AssumeRole", [HELPER, *roles])))
        (finding,) = [f for f in analyze(acct.build()).findings if f.principal == ME]
        verdicts.append(finding.conditional)
    assert verdicts == [True, True]


def test_a_source_keeps_its_own_helper_edge_beside_a_successors() -> None:
    """r0 (reached only with MFA) can act as the helper and five roles; the attacker reaches r6 and
    the helper without a condition: its own helper edge, not only the way through r0, decides
    that its finding is certain."""
    acct = Account()
    acct.role("r0", doc({"Effect": "Allow", "Principal": {"AWS": [ME]}, "Action": "sts:AssumeRole",
                         "Condition": MFA}),
              doc(allow("sts:AssumeRole", [HELPER, *(role_arn(f"r{i}") for i in range(1, 6))])))
    for i in range(1, 6):
        acct.role(f"r{i}", trust_aws(role_arn("r0")))
    acct.role("r6", trust_aws(ME))
    acct.role("helper", trust_aws(ME, role_arn("r0")),
              doc(allow("iam:PutRolePolicy", role_arn("*")), deny("iam:PutRolePolicy", HELPER)))
    acct.user("attacker", doc(allow("sts:AssumeRole", [role_arn("r0"), role_arn("r6"), HELPER])))
    report = analyze(acct.build())
    (mine,) = [e for e in edges_of(report) if e.technique == "X-HelperRewrite"]
    assert mine.via == f"*?by={HELPER}" and not mine.conditional
    (finding,) = [f for f in report.findings if f.principal == ME]
    assert not finding.conditional


def test_a_helper_with_too_many_ways_in_is_cut_at_its_own_rewrites(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ways into the helper past compose.MAX_HELPER_ROUTES (the attacker can act as a crowd that can
    each take the helper over) are not listed: the helper's rewrite of every role is the cut."""
    monkeypatch.setattr(compose, "MAX_HELPER_ROUTES", 0)
    snap = _wide_helper_world(5)
    (edge,) = [e for e in edges_of(analyze(snap)) if e.target == ADMIN]
    assert edge.via == f"*?by={HELPER}"
    assert [{(g.action, g.resource, g.principal) for g in alt} for alt in edge.alternatives] == [
        {("iam:PutRolePolicy", role_arn("*"), HELPER)}
    ]
    denies, after = plan_and_check(snap)
    assert denies == 1 and not after.findings


# ----------------------------------------------------------------- a helper undoes the fix


def _fixed_world(helper_policy: dict[str, Any]) -> Snapshot:
    """The attacker may write its own policies; a deny (as a plan would write) stops it."""
    acct = Account()
    acct.role("helper", trust_aws(ME), helper_policy)
    acct.user(
        "attacker",
        doc(allow("sts:AssumeRole", HELPER), allow("iam:PutUserPolicy", ME)),
        doc(deny("iam:PutUserPolicy", ME)),
    )
    return acct.build()


def test_helper_deletes_the_deny() -> None:
    report = analyze(_fixed_world(doc(allow("iam:DeleteUserPolicy", ME))))
    (edge,) = edges_of(report)
    assert (edge.technique, edge.target) == ("X-RemoveDeny", ADMIN)
    (alt,) = edge.alternatives
    assert [(g.action, g.principal) for g in alt] == [
        ("sts:AssumeRole", ""),
        ("iam:DeleteUserPolicy", HELPER),
        ("iam:PutUserPolicy", ""),
    ]


def test_helper_deny_removal_itself_denied() -> None:
    snap = _fixed_world(doc(allow("iam:DeleteUserPolicy", "*"), deny("iam:DeleteUserPolicy", ME)))
    assert ME not in at_risk(analyze(snap))


def test_helper_detaches_a_managed_deny() -> None:
    acct = Account()
    fence = acct.managed("fence", doc(deny("iam:PutUserPolicy", ME)))
    acct.role("helper", trust_aws(ME), doc(allow("iam:DetachUserPolicy", ME)))
    acct.user("attacker", doc(allow("sts:AssumeRole", HELPER), allow("iam:PutUserPolicy", ME)), managed=(fence,))
    (edge,) = edges_of(analyze(acct.build()))
    assert edge.technique == "X-RemoveDeny" and edge.via == f"{ME}?managed={fence}"


def test_plan_holds_against_every_principal_the_source_can_become() -> None:
    """The plan's own deny policy must survive the helper: verification adds the helper's removal."""
    acct = Account()
    acct.role("helper", trust_aws(ME), doc(allow(["iam:DeleteUserPolicy", "iam:DetachUserPolicy"], ME)))
    acct.user("attacker", doc(allow("sts:AssumeRole", HELPER), allow("iam:PutUserPolicy", ME)))
    snap = acct.build()
    report = analyze(snap)
    assert kinds(report) == {("iam-007", ADMIN)}  # before the plan, nothing to remove
    plan = build_plan(snap, report, default_analyze())
    assert plan.verified, [e.id for e in plan.remaining]
    denied = {(p.principal, d.action, d.resource) for p in plan.principals for d in p.denies}
    assert (ME, "iam:PutUserPolicy", ME) in denied
    # ... and the helper's way to delete that deny is cut too (either end of it).
    assert (ME, "sts:AssumeRole", HELPER) in denied or (HELPER, "iam:DeleteUserPolicy", ME) in denied
    assert not analyze(apply_to_snapshot(snap, plan)).findings


def test_many_routes_to_the_rewritten_member_are_cut_at_the_rewrite() -> None:
    """Six users it can take over can each assume the role it may rewrite: cutting the routes one by
    one would reopen another in every verification round; the plan cuts the rewrite instead."""
    acct = Account()
    target = role_arn("target")
    users = [acct.user(f"u{i}", doc(allow("sts:AssumeRole", target))) for i in range(6)]
    acct.role("target", trust_aws(*users))
    acct.user("attacker", doc(allow("iam:CreateAccessKey", users), allow(["iam:AttachRolePolicy", "iam:PutRolePolicy"], target)))
    snap = acct.build()
    report = analyze(snap)
    (edge,) = [e for e in edges_of(report) if e.target == ADMIN]
    assert edge.technique == "X-TakeoverRewrite" and edge.via == target
    assert all(not any(g.action == "iam:CreateAccessKey" for g in alt) for alt in edge.alternatives)
    plan = build_plan(snap, report, default_analyze())
    assert plan.verified
    denied = {(d.action, d.resource) for p in plan.principals for d in p.denies}
    assert denied == {("iam:AttachRolePolicy", target), ("iam:PutRolePolicy", target)}
    assert not analyze(apply_to_snapshot(snap, plan)).findings


def test_few_routes_are_each_a_way_to_cut() -> None:
    acct = Account()
    target = role_arn("target")
    users = [acct.user(f"u{i}", doc(allow("sts:AssumeRole", target))) for i in range(2)]
    acct.role("target", trust_aws(*users))
    acct.user("attacker", doc(allow("iam:CreateAccessKey", users), allow("iam:PutRolePolicy", target)))
    (edge,) = [e for e in edges_of(analyze(acct.build())) if e.target == ADMIN]
    firsts = sorted({g.resource for alt in edge.alternatives for g in alt if g.action == "iam:CreateAccessKey"})
    assert firsts == sorted(users)  # both routes listed: denying one key alone does not cut the edge


# ----------------------------------------------------------------- a member strips another member

Q = role_arn("q")


def _stripped_world(attacker: dict[str, Any], *, q_deny: bool = True, **q: Any) -> Snapshot:
    """q may attach a policy to itself, and a Deny (as a plan would write) stops it; the attacker
    can act as q and holds `attacker`."""
    acct = Account()
    acct.role("q", trust_aws(ME), doc(allow("iam:AttachRolePolicy", Q)),
              *([doc(deny("iam:AttachRolePolicy", Q))] if q_deny else []), **q)
    acct.user("attacker", attacker)
    return acct.build()


def test_a_member_deletes_another_members_deny() -> None:
    """q cannot delete its own Deny; the attacker, which can act as q, can: the attacker escalates."""
    report = analyze(_stripped_world(doc(allow(["sts:AssumeRole", "iam:DeleteRolePolicy"], Q))))
    assert at_risk(report) == {ME}
    (edge,) = [e for e in edges_of(report) if e.technique == "X-RemoveDeny"]
    assert edge.target == ADMIN and edge.via.startswith(f"{Q}?inline=") and not edge.conditional
    for alt in edge.alternatives:
        owners = {(g.action, g.resource, g.principal) for g in alt}
        assert {("iam:DeleteRolePolicy", Q, ""), ("sts:AssumeRole", Q, ""), ("iam:AttachRolePolicy", Q, Q)} <= owners


def test_a_members_deny_the_member_can_act_as_no_one_to_remove_holds() -> None:
    """Without the attacker's DeleteRolePolicy (or with it denied) q's Deny holds: no finding."""
    assert not analyze(_stripped_world(doc(allow("sts:AssumeRole", Q)))).findings
    denied = doc(allow(["sts:AssumeRole", "iam:DeleteRolePolicy"], Q), deny("iam:DeleteRolePolicy", Q))
    assert not analyze(_stripped_world(denied)).findings


def test_a_helper_deletes_another_members_deny() -> None:
    """The remover is a third principal the attacker can act as, not q (q cannot act as it)."""
    acct = Account()
    eraser = role_arn("eraser")
    acct.role("q", trust_aws(ME), doc(allow("iam:AttachRolePolicy", Q)), doc(deny("iam:AttachRolePolicy", Q)))
    acct.role("eraser", trust_aws(ME), doc(allow("iam:DeleteRolePolicy", Q)))
    acct.user("attacker", doc(allow("sts:AssumeRole", [Q, eraser])))
    report = analyze(acct.build())
    assert at_risk(report) == {ME}
    (edge,) = [e for e in edges_of(report) if e.technique == "X-RemoveDeny"]
    assert all(("iam:DeleteRolePolicy", eraser) in {(g.action, g.principal) for g in alt} for alt in edge.alternatives)
    denies, after = plan_and_check(acct.build())
    assert denies == 1 and not after.findings


def test_a_member_lifts_another_members_boundary() -> None:
    acct = Account()
    cap = acct.managed("cap", doc(allow("sts:AssumeRole")))
    acct.role("q", trust_aws(ME), doc(allow("iam:AttachRolePolicy", Q)), boundary=cap)
    acct.user("attacker", doc(allow(["sts:AssumeRole", "iam:DeleteRolePermissionsBoundary"], Q)))
    report = analyze(acct.build())
    assert at_risk(report) == {ME}
    (edge,) = [e for e in edges_of(report) if e.technique == "X-Boundary"]
    assert edge.via == f"{cap}?of={Q}"


def test_a_member_takes_another_member_out_of_a_denying_group() -> None:
    acct = Account()
    victim = user_arn("victim")
    fence = acct.group("fence", doc(deny("iam:PutUserPolicy", victim)))
    acct.user("victim", doc(allow("iam:PutUserPolicy", victim)), groups=("fence",))
    acct.user("attacker", doc(allow(["iam:CreateAccessKey", "iam:RemoveUserFromGroup"], [victim, fence])))
    report = analyze(acct.build())
    assert at_risk(report) == {ME}
    (edge,) = [e for e in edges_of(report) if e.technique == "X-RemoveDeny"]
    assert edge.via == f"{fence}?leave?of={victim}"
    denies, after = plan_and_check(acct.build())
    assert denies == 1 and not after.findings


def test_the_plans_deny_on_another_principal_holds_against_the_source() -> None:
    """q escalates on its own and the plan denies it that; the attacker can act as q and delete q's
    inline policies, so verification must also cut the attacker's way to undo q's deny (before, the
    plan was q's one deny and 'verified', and the attacker could delete it)."""
    snap = _stripped_world(doc(allow(["sts:AssumeRole", "iam:DeleteRolePolicy"], Q)), q_deny=False)
    report = analyze(snap)
    assert at_risk(report) == {ME, Q}
    plan = build_plan(snap, report, default_analyze())
    assert plan.verified, [e.id for e in plan.remaining]
    denied = {(p.principal, d.action, d.resource) for p in plan.principals for d in p.denies}
    assert (Q, "iam:AttachRolePolicy", Q) in denied
    assert denied & {(ME, "sts:AssumeRole", Q), (ME, "iam:DeleteRolePolicy", Q)}, denied
    assert not analyze(apply_to_snapshot(snap, plan)).findings


def test_the_removal_goes_to_the_meeting_point() -> None:
    """A user that can act as the attacker reaches admin through the attacker's edge, not a copy."""
    acct = Account()
    acct.role("q", trust_aws(ME), doc(allow("iam:AttachRolePolicy", Q)), doc(deny("iam:AttachRolePolicy", Q)))
    acct.user("attacker", doc(allow(["sts:AssumeRole", "iam:DeleteRolePolicy"], Q)))
    acct.user("boss", doc(allow("iam:CreateAccessKey", ME)))
    report = analyze(acct.build())
    boss = user_arn("boss")
    assert at_risk(report) == {ME, boss}
    assert not [e for e in edges_of(report, boss) if e.technique == "X-RemoveDeny"]


def _guarded_world(condition: dict[str, Any], action: str = "iam:PutUserPolicy") -> Snapshot:
    """The victim may call `action` on itself, but a conditional Deny (`condition`) of everything
    stops it; the attacker can take the victim over and delete the victim's inline policies."""
    acct = Account()
    victim = user_arn("victim")
    guard = deny("*", "*")
    guard["Condition"] = condition
    acct.user("victim", doc(allow(action, victim)), doc(guard))
    acct.user("attacker", doc(allow(["iam:CreateAccessKey", "iam:DeleteUserPolicy"], victim)))
    return acct.build()


def test_a_deny_settled_offline_counts_when_a_member_removes_it() -> None:
    report = analyze(_guarded_world({"StringEquals": {"aws:username": "victim"}}))
    assert at_risk(report) == {ME}
    assert [e.technique for e in edges_of(report) if e.target == ADMIN] == ["X-RemoveDeny"]


def test_a_deny_on_a_session_only_key_is_not_reanalysed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A "force MFA" Deny never denies definitively offline, so the victim's edges are there already
    (conditional) and taking the Deny away adds none: no what-if is run for it."""
    calls: list[str] = []
    real = compose.what_if

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs["via"])
        return real(*args, **kwargs)

    monkeypatch.setattr(compose, "what_if", counting)
    mfa = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    report = analyze(_guarded_world(mfa))
    assert at_risk(report) == {ME, user_arn("victim")}
    assert all(e.conditional for e in report.edges if e.target == ADMIN)
    assert not [e for e in report.edges if e.technique == "X-RemoveDeny"]
    # A victim with nothing to escalate: the attacker is a remover composition considers, and the
    # victim's "force MFA" Deny is not re-analysed.
    assert not analyze(_guarded_world(mfa, "s3:GetObject")).findings
    assert calls == []
    assert not analyze(_guarded_world({"StringEquals": {"aws:username": "victim"}}, "s3:GetObject")).findings
    assert calls  # a Deny settled offline is


def test_no_technique_passes_a_session_only_key() -> None:
    """SESSION_ONLY_KEYS are unknown for every request only while no grant's context sets them."""
    from deescalate.policy.context import SESSION_ONLY_KEYS

    root = Path(compose.__file__).resolve().parent
    for path in root.rglob("*.py"):
        text = path.read_text().lower()
        for key in SESSION_ONLY_KEYS:  # a grant's context is ((key, values), ...)
            assert not re.search(rf"""\(\s*["']{re.escape(key)}["']\s*,""", text), (path, key)


# ------------------------------------------------- the plan's own deny, whatever it cut (checked apart)


def _independently_cut(snap: Snapshot, attackers: list[str], tmp: Path) -> None:
    """Plan, apply in memory; the independent escalation_checker (its own evaluator and search)
    finds each attacker's escalation before the plan and none after it."""
    before = Checker(write_raw(snap, tmp / "before"))
    for a in attackers:
        assert before.escalation(a) is not None, a
    plan = build_plan(snap, analyze(snap), default_analyze())
    assert plan.verified, [e.id for e in plan.remaining]
    after = Checker(write_raw(apply_to_snapshot(snap, plan), tmp / "after"))
    for a in attackers:
        assert after.escalation(a) is None, (a, after.escalation(a))


def test_the_plans_deny_on_a_rewriting_actor_holds(tmp_path: Path) -> None:
    """The plan denies helper a its rewrite of role b; r, which the users can act as, may delete a's
    inline policies: deleting the plan's deny gives a its rewrite back (a composed path, which a
    what-if of a's direct techniques does not see). Found by an independent review."""
    a, b, r = role_arn("a"), role_arn("b"), role_arn("r")
    users = [user_arn(f"u{i}") for i in range(3)]
    acct = Account()
    acct.role("a", trust_aws(*users), doc(allow("iam:AttachRolePolicy", b)))
    acct.role("b", trust_aws(*users), doc(allow("s3:GetObject")))
    acct.role("r", trust_aws(*users), doc(allow("iam:DeleteRolePolicy", a)))
    for i in range(3):
        acct.user(f"u{i}", doc(allow("sts:AssumeRole", [a, b, r])))
    _independently_cut(acct.build(), users, tmp_path)


def test_the_plans_deny_on_a_step_of_the_path_holds(tmp_path: Path) -> None:
    """The plan cuts the way to helper a at role q (q's sts:AssumeRole on a); r may delete q's inline
    policies, and q then reaches a, which is not itself at risk. Found by an independent review."""
    q, a, r = role_arn("q"), role_arn("a"), role_arn("r")
    users = [user_arn(f"u{i}") for i in range(3)]
    bs = [role_arn(f"b{j}") for j in range(3)]
    acct = Account()
    acct.role("q", trust_aws(*users), doc(allow("sts:AssumeRole", a)))
    acct.role("a", trust_aws(q), doc(allow(["iam:AttachRolePolicy", "iam:PutRolePolicy"], bs)))
    for j in range(3):
        acct.role(f"b{j}", trust_aws(*users), doc(allow("s3:GetObject")))
    acct.role("r", trust_aws(*users), doc(allow("iam:DeleteRolePolicy", q)))
    for i in range(3):
        acct.user(f"u{i}", doc(allow("sts:AssumeRole", [q, r, *bs])))
    _independently_cut(acct.build(), users, tmp_path)


def test_the_plans_deny_the_source_may_delete_itself_holds(tmp_path: Path) -> None:
    """The plan denies the attacker's take-over of b (a composed edge); the attacker may delete its
    own inline policies, the plan's deny among them."""
    b = role_arn("b")
    acct = Account()
    acct.role("b", trust_aws(ME), doc(allow("s3:GetObject")))
    acct.user("attacker", doc(allow(["sts:AssumeRole", "iam:AttachRolePolicy"], b), allow("iam:DeleteUserPolicy", ME)))
    _independently_cut(acct.build(), [ME], tmp_path)


def test_the_plans_deny_on_a_role_the_source_may_strip_holds(tmp_path: Path) -> None:
    _independently_cut(
        _stripped_world(doc(allow(["sts:AssumeRole", "iam:DeleteRolePolicy"], Q)), q_deny=False), [ME, Q], tmp_path
    )
