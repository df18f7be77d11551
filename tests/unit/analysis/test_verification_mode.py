"""A plan's verification analysis (`analyze(..., verification=True)`) gives a rewrite inside a
strongly connected component of composition's graph to its actor only (compose()). It must find
an escalation exactly where the full analysis does: the same principals at risk on every snapshot a
plan verifies, with fewer edges where members may rewrite one another."""

from __future__ import annotations

from builders import Account, allow, doc, trust_aws, user_arn
from technique_cases import CASES, fixture
from work_count import generated

from deescalate.analysis.analyze import analyze
from deescalate.analysis.compose import TECHNIQUES
from deescalate.model import Report, Snapshot
from deescalate.remediate.plan import build_plan


def _at_risk(report: Report) -> set[str]:
    return {f.principal for f in report.findings}


def _ring(n: int = 4) -> Snapshot:
    """Users taking one another over in a ring (one component), each allowed to put an inline
    policy on every *other* user: each can act as every other and rewrite every other."""
    acct = Account()
    names = [f"u{i}" for i in range(n)]
    for i, name in enumerate(names):
        others = [user_arn(x) for x in names if x != name]
        acct.user(name, doc(allow("iam:CreateAccessKey", user_arn(names[(i + 1) % n])),
                            allow("iam:PutUserPolicy", others)))
    acct.admin_role("admin", trust_aws(user_arn("nobody")))
    return acct.build()


def test_a_component_of_rewriters_gets_each_rewrite_once() -> None:
    snap = _ring()
    full = analyze(snap, summarise=False)
    short = analyze(snap, summarise=False, verification=True)
    assert _at_risk(full) == _at_risk(short) == {user_arn(f"u{i}") for i in range(4)}
    composed = [e for e in full.edges if e.technique in TECHNIQUES]
    mine = [e for e in short.edges if e.technique in TECHNIQUES]
    # Full: every source composes every actor's rewrite of each of the 3 others (4 x 4 x 3);
    # verification: each actor's own 3 only, on itself.
    assert len(composed) == 4 * 4 * 3
    assert len(mine) == 4 * 3
    assert all(e.technique != "X-HelperRewrite" and "?by=" not in (e.via or "") for e in mine)


def test_a_helper_outside_the_component_is_still_composed() -> None:
    """p takes over a and b; a may rewrite b but cannot act as b: only p composes the rewrite."""
    acct = Account()
    acct.user("p", doc(allow("iam:CreateAccessKey", [user_arn("a"), user_arn("b")])))
    acct.user("a", doc(allow("iam:PutUserPolicy", user_arn("b"))))
    acct.user("b", doc(allow("s3:GetObject")))
    acct.admin_role("admin", trust_aws(user_arn("nobody")))
    snap = acct.build()
    for verification in (False, True):
        report = analyze(snap, summarise=False, verification=verification)
        assert _at_risk(report) == {user_arn("p")}
        assert [e.technique for e in report.edges if e.technique in TECHNIQUES] == ["X-HelperRewrite"]


def _plan_snapshots(snap: Snapshot) -> list[Snapshot]:
    """Every snapshot the plan of `snap` verifies (its denies in place, round after round)."""
    seen: list[Snapshot] = []

    def record(s: Snapshot) -> Report:
        seen.append(s)
        return analyze(s, summarise=False, verification=True)

    plan = build_plan(snap, analyze(snap), record)
    assert plan.verified
    return seen


def test_same_principals_at_risk_on_every_verified_snapshot_of_a_shared_mfa_wildcard() -> None:
    """A shared `Allow * on * if MFA`: once the plan cuts its holders' own edges, they may all
    rewrite one another (the case the rule is for); every round must agree with the full analysis."""
    fewer = 0
    for s in _plan_snapshots(generated("mfa-wildcard", 40)):
        full = analyze(s, summarise=False)
        short = analyze(s, summarise=False, verification=True)
        assert _at_risk(full) == _at_risk(short)
        assert len(short.edges) <= len(full.edges)
        fewer += len(short.edges) < len(full.edges)
    assert fewer  # the rule was exercised


def test_same_principals_at_risk_on_the_technique_fixtures() -> None:
    for case in CASES:
        for variant in ("plain", "split", "exact"):
            snap = fixture(case, variant)[0]
            for s in [snap, *_plan_snapshots(snap)]:
                assert _at_risk(analyze(s, summarise=False)) == _at_risk(
                    analyze(s, summarise=False, verification=True)
                ), (case.id, variant)
