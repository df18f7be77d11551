"""The split analysis of an organization (analysis/split.py): the same report in process, in a local
process pool and on a Dask cluster; every planted cross-account path found, no trap reported; the
same findings as the analysis of the merged snapshot."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from deescalate.analysis.analyze import analyze
from deescalate.analysis.split import (
    AccountRef,
    _names_elsewhere,
    analyze_accounts,
    organization_refs,
)
from deescalate.cli import main
from deescalate.errors import SnapshotError
from deescalate.snapshot import load_snapshot
from deescalate.snapshot.iam import parse_details

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
from generate_org import generate_org


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("org") / "org"
    generate_org(root, accounts=12, principals=30, seed=3)
    return root


def _scan(org: Path, out: Path, *flags: str) -> bytes:
    code = main(["scan", str(org), *flags, "--format", "json", "-o", str(out)])
    assert code == 1  # planted findings
    return out.read_bytes()


def _reaches(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """principal -> {reached sink: path} from a JSON report."""
    out: dict[str, dict[str, Any]] = {}
    for f in report["findings"]:
        out[f["principal"]] = {p[-1]["target"]: p for p in f["paths"]}
    return out


def _check_planted(org: Path, report: dict[str, Any]) -> None:
    expected = json.loads((org / "expected.json").read_text())
    reaches = _reaches(report)
    findings = {f["principal"]: f for f in report["findings"]}
    assert expected["paths"] and expected["traps"]
    for path in expected["paths"]:
        got = reaches.get(path["principal"], {})
        assert path["reaches"] in got, path
        assert len(got[path["reaches"]]) == path["hops"], path
        assert findings[path["principal"]]["conditional"] is path["conditional"], path
    for trap in expected["traps"]:
        assert trap["must_not_reach"] not in reaches.get(trap["principal"], {}), trap


def test_same_report_in_process_in_a_pool_and_on_dask(org: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    one = _scan(org, tmp_path / "w1.json", "--workers", "1")
    two = _scan(org, tmp_path / "w2.json", "--workers", "2")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        on_dask = _scan(org, tmp_path / "dask.json", "--dask", cluster.scheduler_address)
    # The JSON report carries no timings: byte-equal as written.
    assert one == two == on_dask
    report = json.loads(one)
    _check_planted(org, report)
    accounts = {f["principal"].split(":")[4] for f in report["findings"]}
    assert len(accounts) > 3  # findings from many accounts, not one


def test_the_split_reports_what_the_merged_analysis_reports(org: Path) -> None:
    refs, infos = organization_refs(org)
    assert len(refs) == len(infos) == 12 and refs[0].account_id == "100000000000"
    split = analyze_accounts(refs, source=str(org), infos=infos)
    merged = analyze(load_snapshot(org))
    assert split.findings and split.edges
    assert split == replace(merged, source=str(org))


def test_accounts_that_were_not_collected_are_unexamined(org: Path, tmp_path: Path) -> None:
    manifest = json.loads((org / "manifest.json").read_text())
    manifest["accounts"][5].update(collection="failed", snapshot=None,
                                   error="AccessDenied assuming OrganizationAccountAccessRole")
    copy = tmp_path / "org"
    shutil.copytree(org, copy)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    refs, infos = organization_refs(copy)
    assert len(refs) == 11 and len(infos) == 12
    acct = manifest["accounts"][5]
    report = analyze_accounts(refs, source=str(copy), infos=infos)
    assert report == replace(analyze(load_snapshot(copy)), source=str(copy))
    assert [u for u in report.unexamined if u.startswith("account ")] == [f"account {acct['id']} ({acct['name']}): failed: AccessDenied assuming "
                       "OrganizationAccountAccessRole; its principals and resources are not analysed"]


def test_a_snapshot_path_out_of_the_directory_is_refused(org: Path, tmp_path: Path, capsys: Any) -> None:
    manifest = json.loads((org / "manifest.json").read_text())
    manifest["accounts"][3]["snapshot"] = "../elsewhere"
    bad = tmp_path / "bad"
    shutil.copytree(org, bad)
    (bad / "manifest.json").write_text(json.dumps(manifest))
    assert main(["scan", str(bad)]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'../elsewhere' leaves the organization directory" in err[0]
    assert "manifest.json" in err[0]


def test_a_symlink_out_of_the_directory_is_refused(org: Path, tmp_path: Path) -> None:
    link = tmp_path / "org"
    link.mkdir()
    (link / "manifest.json").write_text((org / "manifest.json").read_text())
    (link / "accounts").symlink_to(org / "accounts")
    with pytest.raises(SnapshotError, match="'accounts/100000000000' leads out of the organization directory"):
        organization_refs(link)


def test_workers_and_dask_are_for_an_organization(org: Path, capsys: Any) -> None:
    assert main(["scan", "--demo", "--workers", "2"]) == 2
    assert "organization snapshot" in capsys.readouterr().err
    assert main(["scan", str(org), "--workers", "0"]) == 2
    assert main(["scan", str(org), "--workers", "2", "--dask", "tcp://127.0.0.1:1"]) == 2
    assert "not both" in capsys.readouterr().err


def _role(account: str, principal: Any) -> Any:
    doc = {"UserDetailList": [], "GroupDetailList": [], "Policies": [], "RoleDetailList": [{
        "Path": "/", "RoleName": "r", "RoleId": "AROAEXAMPLE", "Arn": f"arn:aws:iam::{account}:role/r",
        "CreateDate": "2024-01-01T00:00:00Z", "RolePolicyList": [], "AttachedManagedPolicies": [],
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]},
        "InstanceProfileList": [], "Tags": []}]}
    return next(iter(parse_details(doc, "<test>").roles.values()))


@pytest.mark.parametrize(("principal", "exported"), [
    ({"AWS": "arn:aws:iam::111111111111:root"}, False),
    ({"AWS": "111111111111"}, False),
    ({"AWS": "arn:aws:iam::111111111111:user/u"}, False),
    ({"Service": "lambda.amazonaws.com"}, False),
    ({"AWS": "222222222222"}, True),
    ({"AWS": "arn:aws:iam::222222222222:role/ci"}, True),
    ({"AWS": "arn:aws:sts::222222222222:assumed-role/ci/session"}, True),
    ({"AWS": "*"}, True),
    ("*", True),
])
def test_roles_other_accounts_may_assume(principal: Any, exported: bool) -> None:
    assert _names_elsewhere(_role("111111111111", principal)) is exported


def test_an_account_ref_loads_its_own_account_only(org: Path) -> None:
    refs, _ = organization_refs(org)
    assert refs[2].load().account_id == refs[2].account_id
    assert set(refs[2].load().organizations) == {refs[2].account_id}
    wrong = AccountRef(root=str(org), account=replace(refs[2].account, id="999999999999"))
    with pytest.raises(SnapshotError, match="account_id: 100000000002, but the organization's manifest lists "
                       "this snapshot for account 999999999999"):
        wrong.load()


# Composition across accounts (phase 3): a principal acting, through another account, as a
# principal that may rewrite another. Found by an independent review: the per-account tasks alone
# missed both.
W = "111111111111"
B = "333333333333"


def _cross_account_rewrite(tmp_path: Path, *, via_own_account: bool) -> Path:
    from builders import Account, allow, doc, trust_aws
    from org_builders import MGMT, OrgDir

    org = OrgDir()
    org.account(Account(account_id=MGMT), name="management")
    b = Account(account_id=B)
    w = Account(account_id=W)
    if via_own_account:
        # p may rewrite its own account's RA2 but reaches it only through B's RB.
        b.role("RB", trust_aws(f"arn:aws:iam::{W}:root"), doc(allow("sts:AssumeRole", "*")))
        ra2 = f"arn:aws:iam::{W}:role/RA2"
        w.role("RA2", trust_aws(f"arn:aws:iam::{B}:role/RB"), doc(allow("s3:ListBucket")))
        w.user("p", doc(allow("sts:AssumeRole", "*"), allow("iam:PutRolePolicy", ra2)))
    else:
        # p assumes R1 and R2 in B; R1 may put a policy on R2.
        r2 = f"arn:aws:iam::{B}:role/R2"
        b.role("R1", trust_aws(f"arn:aws:iam::{W}:root"), doc(allow("iam:PutRolePolicy", r2)))
        b.role("R2", trust_aws(f"arn:aws:iam::{W}:root"), doc(allow("s3:ListBucket")))
        w.user("p", doc(allow("sts:AssumeRole", "*")))
    org.account(b)
    org.account(w)
    return org.write(tmp_path / "org")


@pytest.mark.parametrize(
    ("via_own_account", "technique"), [(False, "X-HelperRewrite"), (True, "X-TakeoverRewrite")]
)
def test_composition_across_accounts_is_found_by_the_split(
    tmp_path: Path, via_own_account: bool, technique: str
) -> None:
    root = _cross_account_rewrite(tmp_path, via_own_account=via_own_account)
    refs, infos = organization_refs(root)
    split = analyze_accounts(refs, source=str(root), infos=infos)
    merged = analyze(load_snapshot(root))
    principal = f"arn:aws:iam::{W}:user/p"
    assert [f.principal for f in split.findings] == [principal]
    assert {e.technique for e in split.edges if e.source == principal} == {technique}
    assert split == replace(merged, source=str(root))


def test_the_split_summarises_conditional_wildcards_as_the_merged_analysis(tmp_path: Path) -> None:
    root = tmp_path / "org"
    generate_org(root, accounts=10, principals=25, seed=7, shapes=("mfa-wildcard", "default", "chains"))
    refs, infos = organization_refs(root)
    split = analyze_accounts(refs, source=str(root), infos=infos)
    merged = analyze(load_snapshot(root))
    assert split.summarised and split.summarised == merged.summarised
    assert split == replace(merged, source=str(root))
