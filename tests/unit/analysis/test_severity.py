"""Severity: the documented table, checked on hand-built findings."""

from __future__ import annotations

from report_fixtures import ADMIN_ROLE, ALICE, CAROL, DAVE, DEPLOYER, PROD, e, sample_report

from deescalate.analysis.severity import Severity, finding_severity, path_severity
from deescalate.model import ADMIN, Finding


def _sev(report, principal):
    return next(finding_severity(f, report) for f in report.findings if f.principal == principal)


def test_one_step_to_admin_is_critical_and_multi_step_is_high() -> None:
    r = sample_report()
    assert _sev(r, DEPLOYER) is Severity.CRITICAL  # self-escalation, one step
    assert _sev(r, ALICE) is Severity.HIGH  # two steps


def test_conditional_and_target_rank_lower() -> None:
    r = sample_report()
    assert _sev(r, CAROL) is Severity.HIGH  # one conditional step to admin
    assert _sev(r, DAVE) is Severity.MEDIUM  # unconditional path to a --target


def test_path_table() -> None:
    targets = frozenset({PROD})
    cond = ("aws:MultiFactorAuthPresent",)
    a = "arn:aws:iam::1:user/a"
    b = "arn:aws:iam::1:role/b"
    c = "arn:aws:iam::1:role/c"
    assert path_severity((e(a, ADMIN, "iam-007"),), targets) is Severity.CRITICAL
    assert path_severity((e(a, b, "sts-001"), e(b, ADMIN_ROLE, "iam-005")), targets) is Severity.HIGH
    assert path_severity((e(a, b, "sts-001"), e(b, ADMIN, "iam-005", conditions=cond)), targets) is Severity.MEDIUM
    three_cond_to_target = (e(a, b, "sts-001"), e(b, c, "sts-001", conditions=cond), e(c, PROD, "iam-012"))
    assert path_severity(three_cond_to_target, targets) is Severity.LOW
    # The example: a one-hop path to full admin ranks above a three-hop conditional path to a target.
    assert path_severity((e(a, ADMIN_ROLE, "sts-001"),), targets).rank > path_severity(three_cond_to_target, targets).rank


def test_worst_path_wins() -> None:
    r = sample_report()
    a = "arn:aws:iam::1:user/a"
    f = Finding(principal=a, techniques=("iam-012", "iam-007"),
                paths=((e(a, PROD, "iam-012"),), (e(a, ADMIN, "iam-007"),)), edges=())
    assert finding_severity(f, r) is Severity.CRITICAL
