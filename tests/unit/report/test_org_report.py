"""Reports over an organization: findings grouped by account, a summary per account, paths to the
management account's admins critical, --target patterns across accounts."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from builders import ADMIN_ACCESS, Account, allow, doc, trust_aws
from org_builders import MGMT, OrgDir

from deescalate.analysis.analyze import analyze
from deescalate.analysis.severity import Severity, finding_severity
from deescalate.cli import main
from deescalate.model import Report
from deescalate.report import html_report, json_report, text
from deescalate.snapshot import load_demo, load_snapshot

SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "schemas" / "report.schema.json").read_text())
W1, W2, GONE = "111111111111", "222222222222", "333333333333"


def _org(tmp_path: Path) -> Path:
    """W1: a user two steps from the management account's admin (via a W1 role), and one two steps
    from a W2 admin. W2: a role trusted by W1, an admin role, and a data role (a --target)."""
    org = OrgDir()
    mgmt = Account(account_id=MGMT)
    mgmt.admin_role("OrgAdmin", trust_aws(f"arn:aws:iam::{W1}:role/hop"))
    org.account(mgmt, name="management")
    prod = org.ou("prod")
    w1 = Account(account_id=W1)
    w1.user("to-mgmt", doc(allow("sts:AssumeRole", f"arn:aws:iam::{W1}:role/hop")))
    w1.role("hop", trust_aws(f"arn:aws:iam::{W1}:user/to-mgmt"),
            doc(allow("sts:AssumeRole", f"arn:aws:iam::{MGMT}:role/OrgAdmin")))
    w1.user("to-member", doc(allow("sts:AssumeRole", "*")))
    w1.user("to-data", doc(allow("sts:AssumeRole", "*")))
    w2 = Account(account_id=W2)
    w2.role("hop2", trust_aws(f"arn:aws:iam::{W1}:user/to-member"), doc(allow("sts:AssumeRole", "*")))
    w2.role("MemberAdmin", trust_aws(f"arn:aws:iam::{W2}:role/hop2"), managed=(ADMIN_ACCESS,))
    w2.role("data-reader", trust_aws(f"arn:aws:iam::{W1}:user/to-data"), doc(allow("s3:GetObject")))
    org.account(w1, parent=prod, name="build")
    org.account(w2, parent=prod, name="data")
    org.account(GONE, parent=prod, name="legacy", collection="failed", error="AccessDenied assuming the role")
    return org.write(tmp_path / "org")


@pytest.fixture
def report(tmp_path: Path) -> Report:
    return analyze(load_snapshot(_org(tmp_path)), targets=(f"arn:aws:iam::{W2}:role/data-*",))


def _sev(report: Report, principal: str) -> Severity:
    (f,) = [f for f in report.findings if f.principal == principal]
    return finding_severity(f, report)


def test_a_path_to_the_management_accounts_admin_is_critical(report: Report) -> None:
    # Two steps each: into the management account critical, into a member account's admin high.
    assert _sev(report, f"arn:aws:iam::{W1}:user/to-mgmt") is Severity.CRITICAL
    assert _sev(report, f"arn:aws:iam::{W1}:role/hop") is Severity.CRITICAL
    assert _sev(report, f"arn:aws:iam::{W1}:user/to-member") is Severity.HIGH
    assert report.management_account_id == MGMT


def test_target_patterns_name_principals_of_other_accounts(report: Report) -> None:
    assert any(a.arn == f"arn:aws:iam::{W2}:role/data-reader" and a.target_only for a in report.admins)
    assert _sev(report, f"arn:aws:iam::{W1}:user/to-data") is Severity.MEDIUM
    # The admins of every account are targets by default.
    admins = {a.arn for a in report.admins if not a.target_only}
    assert admins == {f"arn:aws:iam::{MGMT}:role/OrgAdmin", f"arn:aws:iam::{W2}:role/MemberAdmin"}


def test_the_json_report_has_a_summary_per_account_and_validates(report: Report) -> None:
    obj = json.loads(json_report.render(report))
    jsonschema.validate(obj, SCHEMA)
    assert obj["schema_version"] == "1.3.0"
    rows = {a["id"]: a for a in obj["accounts"]}
    assert list(rows) == [MGMT, W1, W2, GONE]
    assert rows[MGMT] == {"id": MGMT, "name": "management", "ou_path": ["Root"], "management": True,
                               "collection": "collected", "error": None, "principals_at_risk": 0,
                               "by_severity": {"critical": 0, "high": 0, "medium": 0, "low": 0},
                               "administrators": 1}
    assert rows[W1]["ou_path"] == ["Root", "prod"] and rows[W1]["principals_at_risk"] == 4
    assert rows[W1]["by_severity"] == {"critical": 2, "high": 1, "medium": 1, "low": 0}
    assert rows[GONE]["collection"] == "failed" and rows[GONE]["error"] == "AccessDenied assuming the role"
    accounts = [f["account"] for f in obj["findings"]]
    assert accounts == sorted(accounts, key=[MGMT, W1, W2].index)  # grouped in account order


def test_text_and_html_group_findings_by_account(report: Report) -> None:
    out = text.render(report)
    assert "Accounts (4)\n" in out
    assert f"  {W1} (build), Root/prod: 4 principal(s) at risk (2 critical, 1 high, 1 medium, 0 low), " \
           "0 administrator(s)" in out
    assert f"  {MGMT} (management), Root [management account]: 0 principal(s) at risk" in out
    assert f"  {GONE} (legacy), Root/prod: not analysed (failed: AccessDenied assuming the role)" in out
    assert f"  account {W1} (build), Root/prod\n  CRITICAL  arn:aws:iam::{W1}:" in out
    html = html_report.render(report)
    assert '<section id="accounts"><h2>Accounts (4)</h2>' in html
    assert f'<tr class="account"><th colspan="5">account {W1} (build), Root/prod</th></tr>' in html


def test_a_single_account_report_is_unchanged() -> None:
    rep = analyze(load_demo())
    assert rep.account_details == () and rep.management_account_id == ""
    obj = json.loads(json_report.render(rep))
    assert "accounts" not in obj and all("account" not in f for f in obj["findings"])
    assert "Accounts (" not in text.render(rep)
    assert 'id="accounts"' not in html_report.render(rep)


def test_scan_of_an_organization_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _org(tmp_path)
    assert main(["scan", str(path), "--format", "json", "--target", f"arn:aws:iam::{W2}:role/data-*"]) == 1
    obj = json.loads(capsys.readouterr().out)
    jsonschema.validate(obj, SCHEMA)
    # W1: 2 critical (into the management account), 1 high, 1 medium; W2: hop2 one step from its admin.
    assert obj["summary"]["by_severity"] == {"critical": 3, "high": 1, "medium": 1, "low": 0}
    assert any("account 333333333333 (legacy): failed" in u for u in obj["unexamined"])


def test_past_twenty_accounts_the_summary_counts_the_quiet_ones(tmp_path: Path) -> None:
    from deescalate.report.common import Detail, RenderOptions

    org = OrgDir()
    org.account(Account(account_id=MGMT), name="management")
    for i in range(25):
        org.account(Account(account_id=f"{400000000000 + i}"), name=f"quiet{i}")
    risky = Account(account_id=W1)
    risky.user("dev", doc(allow("iam:PutUserPolicy", f"arn:aws:iam::{W1}:user/dev")))
    org.account(risky, name="risky")
    rep = analyze(load_snapshot(org.write(tmp_path / "org")))
    out = text.render(rep)
    assert "Accounts (27)\n" in out
    assert f"  {W1} (risky), Root: 1 principal(s) at risk" in out
    assert f"  {MGMT} (management), Root [management account]" in out
    assert "quiet3" not in out
    assert "  ... and 25 more account(s) with no principal at risk (--detail full lists them)" in out
    full = text.render(rep, options=RenderOptions(detail=Detail.FULL))
    assert "quiet3" in full and "more account(s)" not in full
    html = html_report.render(rep)
    assert "Accounts (27)" in html and "25 more account(s) with no principal at risk" in html


def test_the_same_account_in_two_organization_snapshots_counts_as_collected(tmp_path: Path) -> None:
    from deescalate.snapshot import load_snapshots

    one, two = OrgDir(), OrgDir()
    w1 = Account(account_id=W1)
    one.account(Account(account_id=MGMT))
    one.account(W1, collection="failed", error="AccessDenied")
    two.account(w1)
    snap = load_snapshots([one.write(tmp_path / "one"), two.write(tmp_path / "two")])
    assert snap.account_infos[W1].collected
    rep = analyze(snap)
    assert not any(u.startswith(f"account {W1}") for u in rep.unexamined)
