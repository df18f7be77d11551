"""Holders of a conditional `Allow * on *` are summarised (analysis/edges/wildcards.py).

What must hold: the same principals at risk, each exactly as definite or conditional as in the full
analysis; a holder's definite edges survive; a holder that cannot make itself admin is analysed in
full; a plan starts from the full analysis.
"""

from __future__ import annotations

from builders import ADMIN_ACCESS, Account, allow, deny, doc, trust_aws, user_arn

from deescalate.analysis.analyze import analyze
from deescalate.analysis.edges.wildcards import conditional_wildcard, strip
from deescalate.model import ADMIN, Report
from deescalate.remediate.plan import build_plan, default_analyze

MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


def _world(acct: Account, holders: int = 4) -> str:
    wild = acct.managed("team", doc(allow("*", Condition=MFA)))
    acct.group("team", managed=(wild,))
    acct.user("admin-user", managed=(ADMIN_ACCESS,), keys=0)
    acct.admin_role("admin-role", trust_aws(f"arn:aws:iam::{acct.account_id}:root"))
    for i in range(holders):
        acct.user(f"h{i}", groups=("team",), keys=0)
    return wild


def _at_risk(report: Report) -> dict[str, bool]:
    return {f.principal: f.conditional for f in report.findings}


def test_strip_takes_out_only_conditional_wildcards() -> None:
    acct = Account()
    wild = _world(acct)
    snap = acct.build()
    stripped = strip(snap)
    assert stripped is not None
    assert stripped.holders == {user_arn(f"h{i}") for i in range(4)}
    assert not any(conditional_wildcard(st) for st in stripped.snapshot.policies[wild].document.statements)
    # AdministratorAccess (unconditional) and other principals' policies are untouched.
    assert stripped.snapshot.policies[ADMIN_ACCESS] is snap.policies[ADMIN_ACCESS]
    assert stripped.snapshot.users[user_arn("admin-user")] is snap.users[user_arn("admin-user")]
    assert strip(Account().build()) is None


def test_a_boundary_policy_is_left_whole() -> None:
    acct = Account()
    bound = acct.managed("bound", doc(allow("*", Condition=MFA)))
    acct.user("u", doc(allow("s3:GetObject")), boundary=bound)
    assert strip(acct.build()) is None


def test_same_findings_as_the_full_analysis_with_far_fewer_edges() -> None:
    acct = Account()
    _world(acct, holders=6)
    snap = acct.build()
    summarised, full = analyze(snap), analyze(snap, summarise=False)
    assert _at_risk(summarised) == _at_risk(full)
    assert all(_at_risk(full)[user_arn(f"h{i}")] for i in range(6))  # conditional on MFA
    assert set(summarised.summarised) == {user_arn(f"h{i}") for i in range(6)}
    # Full: every holder has conditional take-overs of every other holder and of both admins.
    assert len(summarised.edges) < len(full.edges) // 2
    full_ids = {e.id for e in full.edges}
    assert {e.id for e in summarised.edges} <= full_ids
    for f in summarised.findings:
        assert any(p[-1].target == ADMIN for p in f.paths)
    assert any("conditional Allow of * on *" in n for n in summarised.notes)
    assert not full.summarised


def test_a_definite_edge_of_a_holder_is_kept() -> None:
    """h0 also may create access keys outright (a helpdesk policy): it is a definite finding, in
    the summary as in the full analysis."""
    acct = Account()
    _world(acct)
    acct.users.pop(user_arn("h0"))
    acct.user("h0", doc(allow("iam:CreateAccessKey")), groups=("team",), keys=0)
    snap = acct.build()
    summarised, full = analyze(snap), analyze(snap, summarise=False)
    assert _at_risk(summarised) == _at_risk(full)
    assert _at_risk(summarised)[user_arn("h0")] is False
    (edge,) = [
        e for e in summarised.edges
        if e.source == user_arn("h0") and e.target == user_arn("admin-user") and e.technique == "iam-002"
    ]
    assert not edge.conditional


def test_a_holder_that_cannot_make_itself_admin_is_analysed_in_full() -> None:
    """A Deny of every IAM write stops self-escalation; its conditional take-over of the admin
    user through sts/iam reads is still found (here: AssumeRole of the admin role)."""
    acct = Account()
    _world(acct, holders=1)
    acct.users.pop(user_arn("h0"))
    acct.user("h0", doc(deny(["iam:*", "lambda:*", "ec2:*", "cloudformation:*"])), groups=("team",), keys=0)
    snap = acct.build()
    summarised, full = analyze(snap), analyze(snap, summarise=False)
    assert user_arn("h0") not in summarised.summarised
    assert _at_risk(summarised) == _at_risk(full)
    assert sorted(e.id for e in summarised.edges) == sorted(e.id for e in full.edges)
    assert any(e.source == user_arn("h0") and e.technique == "sts-001" for e in summarised.edges)


def test_the_plan_starts_from_the_full_analysis() -> None:
    acct = Account()
    _world(acct, holders=2)
    snap = acct.build()
    summarised, full = analyze(snap), analyze(snap, summarise=False)
    analyse = default_analyze()
    a, b = build_plan(snap, summarised, analyse), build_plan(snap, full, analyse)
    denies = [
        sorted((d.principal, d.action, d.resource) for p in plan.principals for d in p.denies) for plan in (a, b)
    ]
    assert denies[0] == denies[1]
    assert a.verified == b.verified
    assert a.principals


def test_only_iam_self_checkers_make_edges_to_admin() -> None:
    """`direct.SELF` must hold every direct checker that can yield an edge to ADMIN: a summarised
    holder's edges to ADMIN are decided with those alone."""
    import inspect

    from deescalate.analysis.edges import direct

    modules = {inspect.getmodule(c.find) for c in direct.DIRECT}
    naming_admin = {m.__name__ for m in modules if m is not None and "ADMIN" in inspect.getsource(m)}
    assert naming_admin == {"deescalate.analysis.edges.iam_self"}
    assert set(direct.SELF) | set(direct.TO_PRINCIPALS) == set(direct.DIRECT)
