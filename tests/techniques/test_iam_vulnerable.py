"""The 31 IAM-Vulnerable techniques: each flagged where present, and not flagged in any of the traps.

Present (must be flagged, with the technique id and target): the plain case; the permissions split
across an inline policy, an attached managed policy and (users) a group policy; the escalation
resource named exactly; an Allow written with NotAction that happens to include the actions.

Absent (must flag nothing for the attacker): a Deny in the same policy, in another policy, through
a wildcard, through NotAction, in the permissions boundary, in an SCP; a condition that cannot
hold for the attacker; the escalation action limited to a resource through which nothing
escalates; the technique's own precondition missing (no such resource, role not trusting the
service, target not admin, ...).
"""

from __future__ import annotations

from typing import Any

import pytest
from builders import ACCT, Account, allow, deny, doc, role_arn, user_arn
from technique_cases import CASES, Case, attacker, statements, world

from deescalate.analysis.analyze import analyze
from deescalate.model import ADMIN, Report

IMPOSSIBLE = {"StringEquals": {"aws:PrincipalArn": f"arn:aws:iam::{ACCT}:user/nobody"}}


def run(case: Case, variant: str) -> tuple[Report, str]:
    acct = Account()
    world(acct)
    broken = variant == "precondition"
    kwargs = (case.broken if broken and case.broken else case.setup)(acct)
    sts = statements(case)
    inline: list[dict[str, Any]] = [doc(*sts)]
    svc, name = case.key.split(":")
    if variant == "split":
        # The key statement inline, the rest in an attached managed policy and a group policy.
        inline = [doc(sts[0])]
        rest = sts[1:]
        if rest:
            kwargs["managed"] = (*kwargs.get("managed", ()), acct.managed("split-part", doc(*rest)))
        if case.attacker == "user":
            acct.group("split-group", doc(allow("s3:GetObject")))
            kwargs["groups"] = (*kwargs.get("groups", ()), "split-group")
    elif variant == "exact":
        inline = [
            doc(*statements(case, key_resource=list(case.exact) if len(case.exact) > 1 else case.exact[0]))
        ]
    elif variant == "notaction-allow":
        inline = [doc({"Effect": "Allow", "NotAction": ["s3:*", "dynamodb:*"], "Resource": "*"})]
    elif variant == "deny-same-policy":
        inline = [doc(*sts, deny(case.key))]
    elif variant == "deny-other-policy":
        inline = [doc(*sts), doc(deny(case.key))]
    elif variant == "deny-wildcard":
        inline = [doc(*sts), doc(deny(f"{svc}:{name[:3]}*"))]
    elif variant == "deny-notaction":
        inline = [doc(*sts), doc({"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"})]
    elif variant == "deny-boundary":
        kwargs["boundary"] = acct.managed("boundary", doc(allow("*"), deny(case.key)))
    elif variant == "deny-scp":
        acct.scp(deny(case.key))
    elif variant == "impossible-condition":
        inline = [doc(*statements(case, condition=IMPOSSIBLE))]
    elif variant == "limited":
        inline = [doc(*statements(case, key_resource=case.harmless))]
    arn = attacker(acct, case, *inline, **kwargs)
    return analyze(acct.build()), arn


WHAT_IF = ("iam-setdefaultversion", "iam-013")
FLAGGED = ("plain", "split", "exact", "notaction-allow")
NOT_FLAGGED = (
    "deny-same-policy",
    "deny-other-policy",
    "deny-wildcard",
    "deny-notaction",
    "deny-boundary",
    "deny-scp",
    "impossible-condition",
    "limited",
    "precondition",
)


def test_there_are_31_cases() -> None:
    assert len({c.id for c in CASES}) == 31


@pytest.mark.parametrize("variant", FLAGGED)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_flagged(case: Case, variant: str) -> None:
    if variant == "exact" and not case.exact:
        pytest.skip("no narrower resource than * for this technique")
    report, arn = run(case, variant)
    if variant == "notaction-allow" and case.id in WHAT_IF:
        # Allowed (nearly) everything, the attacker can make itself admin outright; what-if
        # techniques are then left to the plan's verification run (explore, phase 2).
        finding = next(f for f in report.findings if f.principal == arn)
        assert any(e.target == ADMIN and not e.conditional for e in finding.edges)
        return
    edges = [
        e for e in report.edges if e.source == arn and e.technique == case.id and e.target == case.target
    ]
    assert edges, (
        f"{case.id} not found; edges from attacker: {[(e.technique, e.target) for e in report.edges if e.source == arn]}"
    )
    finding = next((f for f in report.findings if f.principal == arn), None)
    assert finding is not None
    assert case.id in finding.techniques
    assert not edges[0].conditional, edges[0].conditions


@pytest.mark.parametrize("variant", NOT_FLAGGED)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_not_flagged(case: Case, variant: str) -> None:
    if variant == "precondition" and case.broken is None:
        pytest.skip("the technique has no precondition besides the permission itself")
    report, arn = run(case, variant)
    finding = next((f for f in report.findings if f.principal == arn), None)
    assert finding is None, [(e.technique, e.target, e.conditions) for e in finding.edges] + [
        [(e.technique, e.target) for e in p] for p in finding.paths
    ]
    if variant.startswith("deny") or variant == "impossible-condition":
        # The permission itself is gone: no edge of the technique at all (with a non-admin target
        # or a harmless resource the edge may exist, only the finding must not).
        assert not [e for e in report.edges if e.source == arn and e.technique == case.id]


def test_admins_are_the_administrator_access_holders() -> None:
    case = CASES[0]
    report, _ = run(case, "plain")
    assert [a.arn for a in report.admins] == []
    acct = Account()
    world(acct)
    acct.user("boss", managed=("arn:aws:iam::aws:policy/AdministratorAccess",))
    assert [a.arn for a in analyze(acct.build()).admins] == [user_arn("boss")]
    assert role_arn("harmless-role") not in [a.arn for a in analyze(acct.build()).admins]
