"""Scanning an organization snapshot: SCPs per account change cross-account findings as AWS would.

The issue's "done when": an SCP on one OU blocks a cross-account sts:AssumeRole (a CI user of a
workload account assuming an admin role of another account) and another OU does not; the finding
exists for the unblocked OU only, and flips when the SCP moves.
"""

from __future__ import annotations

from pathlib import Path

from builders import Account, allow, deny, doc, trust_aws
from org_builders import MGMT, ROOT, OrgDir

from deescalate.analysis.analyze import analyze
from deescalate.model import Report
from deescalate.snapshot import load_snapshot

W1 = "111111111111"  # workload account in OU "restricted"
W2 = "222222222222"  # workload account in OU "sandbox"
ORG_ADMIN = f"arn:aws:iam::{MGMT}:role/OrgAdmin"


def ci(account: str) -> str:
    return f"arn:aws:iam::{account}:user/ci"


def _org() -> tuple[OrgDir, str, str, str]:
    org = OrgDir()
    mgmt = Account(account_id=MGMT)
    mgmt.admin_role("OrgAdmin", trust_aws(f"arn:aws:iam::{W1}:root", f"arn:aws:iam::{W2}:root"))
    org.account(mgmt, name="management")
    restricted, sandbox = org.ou("restricted"), org.ou("sandbox")
    for account, ou in ((W1, restricted), (W2, sandbox)):
        w = Account(account_id=account)
        w.user("ci", doc(allow("sts:AssumeRole", ORG_ADMIN)))
        org.account(w, parent=ou, name=f"workload-{account[0]}")
    scp = org.scp(restricted, deny("sts:AssumeRole", f"arn:aws:iam::{MGMT}:role/*"), name="NoAssumeIntoMgmt")
    return org, restricted, sandbox, scp


def _scan(org: OrgDir, path: Path) -> Report:
    return analyze(load_snapshot(org.write(path)))


def _at_risk(report: Report) -> set[str]:
    return {f.principal for f in report.findings}


def test_an_scp_on_one_ou_blocks_the_cross_account_assume_and_flips_when_it_moves(tmp_path: Path) -> None:
    org, restricted, sandbox, scp = _org()
    report = _scan(org, tmp_path / "before")
    assert _at_risk(report) == {ci(W2)}
    (finding,) = report.findings
    assert [(e.source, e.technique, e.target) for e in finding.paths[0]] == [(ci(W2), "sts-001", ORG_ADMIN)]
    assert not finding.conditional

    org.move(scp, restricted, sandbox)
    assert _at_risk(_scan(org, tmp_path / "moved")) == {ci(W1)}

    # On the root it blocks both; on neither OU, both reach the management account's admin.
    org.move(scp, sandbox, ROOT)
    assert _at_risk(_scan(org, tmp_path / "root")) == set()
    org.detach(scp, ROOT)
    assert _at_risk(_scan(org, tmp_path / "none")) == {ci(W1), ci(W2)}


def test_an_scp_of_the_target_account_does_not_stop_the_caller(tmp_path: Path) -> None:
    """SCPs govern the principals of their account: one on the management account (exempt anyway)
    or on the role's account never blocks a caller from elsewhere."""
    org, restricted, _, scp = _org()
    org.detach(scp, restricted)
    org.scp(MGMT, deny("*"), name="DenyAllInMgmt")  # the management account is exempt
    assert _at_risk(_scan(org, tmp_path / "org")) == {ci(W1), ci(W2)}


def test_an_admin_role_in_a_member_account_reached_from_another(tmp_path: Path) -> None:
    """Both sides' SCPs: the caller's decides the assume, the role's own account's is not consulted."""
    org = OrgDir()
    org.account(Account(account_id=MGMT), name="management")
    locked = org.ou("locked")
    w1, w2 = Account(account_id=W1), Account(account_id=W2)
    w1.user("ci", doc(allow("sts:AssumeRole", "*")))
    w2.admin_role("Deploy", trust_aws(f"arn:aws:iam::{W1}:root"))
    org.account(w1, name="w1")
    org.account(w2, parent=locked, name="w2")
    org.scp(locked, deny("sts:AssumeRole"), name="NoAssumeInW2")  # W2's principals only
    report = _scan(org, tmp_path / "org")
    assert _at_risk(report) == {ci(W1)}
