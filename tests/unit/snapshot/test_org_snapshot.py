"""Loading an organization snapshot directory (ORG-FORMAT, docs/snapshot.md "An organization snapshot").

Each collected account loads with its own organization path; failed accounts are unexamined; a
hostile manifest (`..`, absolute paths, symlinks out, wrong types) is refused in one line, exit 3.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from builders import ACCT, OTHER, Account, allow, deny, doc, trust_aws
from org_builders import MGMT, ORG_ID, ROOT, OrgDir

from deescalate.cli import main
from deescalate.errors import EXIT_RUNTIME, SnapshotError
from deescalate.snapshot import load_snapshot, load_snapshots

THIRD = "333333333333"


def _org() -> tuple[OrgDir, str, str]:
    org = OrgDir()
    mgmt = Account(account_id=MGMT)
    mgmt.admin_role("OrgAdmin", trust_aws(f"arn:aws:iam::{ACCT}:root"))
    work = Account()
    work.user("ci", doc(allow("sts:AssumeRole")))
    prod = org.ou("prod")
    dev = org.ou("dev", parent=prod)
    org.account(work, parent=dev, name="workload")  # listed before the management account
    org.account(mgmt, name="management")
    org.account(OTHER, parent=prod, collection="failed", error="AccessDenied assuming OrganizationAccountAccessRole")
    org.scp(prod, deny("s3:*"), name="NoS3")
    return org, prod, dev


def test_each_account_gets_its_own_organization_path(tmp_path: Path) -> None:
    org, prod, dev = _org()
    snap = load_snapshot(org.write(tmp_path / "org"))
    # The management account is the home account when it was collected.
    assert snap.account_id == MGMT
    assert snap.accounts == (MGMT, ACCT)
    assert snap.source == str(tmp_path / "org")
    work = snap.org_of(ACCT)
    assert work is not None and work.id == ORG_ID and work.management_account_id == MGMT
    assert [n.id for n in work.path] == [ROOT, prod, dev, ACCT]
    assert [n.name for n in work.path] == ["Root", "prod", "dev", "workload"]
    assert [p.ref.name for p in work.path[1].scps] == ["FullAWSAccess", "NoS3"]
    mgmt = snap.org_of(MGMT)
    assert mgmt is not None and [n.id for n in mgmt.path] == [ROOT, MGMT]
    assert snap.organization is mgmt
    assert snap.org_of(OTHER) is None  # not collected
    # A policy attached above several accounts is parsed once and shared.
    assert work.path[0].scps[0] is mgmt.path[0].scps[0]
    assert snap.account_infos[OTHER].collection == "failed"
    assert snap.account_infos[ACCT].ou_path == (ROOT, prod, dev)


def test_without_the_management_account_the_first_collected_is_home(tmp_path: Path) -> None:
    org = OrgDir()
    a, b = Account(account_id=THIRD), Account()
    org.account(MGMT, collection="skipped")
    org.account(a)
    org.account(b)
    snap = load_snapshot(org.write(tmp_path / "org"))
    assert snap.account_id == THIRD and snap.accounts == (THIRD, ACCT)


def test_a_failed_account_is_listed_unexamined(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    org, _, _ = _org()
    path = org.write(tmp_path / "org")
    assert main(["scan", str(path), "--format", "json", "--fail-on", "none"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (
        f"account {OTHER} (account-{OTHER}): failed: AccessDenied assuming OrganizationAccountAccessRole;"
        " its principals and resources are not analysed"
    ) in report["unexamined"]


def test_merging_keeps_each_snapshots_organization(tmp_path: Path) -> None:
    org, _, dev = _org()
    path = org.write(tmp_path / "org")
    single = Account(account_id=THIRD)
    single.scp(deny("iam:*"))
    one = single.build()
    from deescalate.snapshot import merge_snapshots

    merged = merge_snapshots([load_snapshot(path), one])
    assert merged.account_id == MGMT
    assert merged.org_of(THIRD) is one.organization
    work = merged.org_of(ACCT)
    assert work is not None and work.path[-2].id == dev
    # And the other way round: the single snapshot is home, the organization's accounts keep theirs.
    merged2 = merge_snapshots([one, load_snapshot(path)])
    assert merged2.org_of(THIRD) is one.organization and merged2.org_of(ACCT) is not None
    assert load_snapshots([path]).org_of(ACCT) is not None


# --------------------------------------------------------------------------- hostile manifests


def _hostile(tmp_path: Path, change: Any) -> Path:
    org, _, _ = _org()
    man = org.manifest()
    change(man)
    return org.write(tmp_path / "org", manifest=man)


def _set_snapshot(value: Any) -> Any:
    def change(man: dict[str, Any]) -> None:
        man["accounts"][0]["snapshot"] = value

    return change


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_set_snapshot("../elsewhere"), "accounts[0].snapshot: '../elsewhere' leaves the organization directory (..)"),
        (_set_snapshot("accounts/../../x"), "accounts[0].snapshot: 'accounts/../../x' leaves the organization directory"),
        (_set_snapshot("/etc"), "accounts[0].snapshot: '/etc' is an absolute path"),
        (_set_snapshot("C:\\Windows"), "accounts[0].snapshot: 'C:\\\\Windows' is an absolute path"),
        (_set_snapshot(7), "accounts[0].snapshot: expected string or null, found a number"),
        (_set_snapshot(None), "accounts[0].snapshot: expected string, found null"),
        (_set_snapshot(""), "accounts[0].snapshot: must not be empty"),
        (_set_snapshot("."), "format: an organization snapshot where one account's snapshot belongs"),
        (_set_snapshot("accounts/444444444444"), "accounts[0].snapshot: accounts/444444444444 is not a snapshot directory"),
        (_set_snapshot(f"accounts/{MGMT}"), f"account_id: {MGMT}, but the organization's manifest lists this snapshot for account {ACCT}"),
        (lambda m: m.update(accounts={}), "accounts: expected array, found an object"),
        (lambda m: m["accounts"][0].update(id="12345"), "accounts[0].id: '12345' is not of the form ^[0-9]{12}$"),
        (lambda m: m["accounts"][0].update(ou_path="r-root"), "accounts[0].ou_path: expected array, found a string"),
        (lambda m: m["accounts"][0].update(collection="maybe"), "accounts[0].collection: 'maybe' is not one of collected, failed"),
        (lambda m: m["accounts"][0].pop("collection"), "accounts[0]: missing required field 'collection'"),
        (lambda m: m["accounts"][1].update(id=ACCT), f"accounts[1].id: account {ACCT} is listed twice"),
        (lambda m: m.update(format_version=2), "format_version: format version 2 is not one this deescalate reads (1)"),
        (lambda m: m.update(format_version="1"), "format_version: expected integer, found a string"),
        (lambda m: m.update(management_account_id=True), "management_account_id: expected string, found a boolean"),
        (lambda m: m.update(accounts=[]), "no account was collected (0 listed), nothing to analyse"),
    ],
)
def test_a_hostile_manifest_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Any, expected: str
) -> None:
    path = _hostile(tmp_path, change)
    with pytest.raises(SnapshotError) as err:
        load_snapshot(path)
    assert expected in str(err.value)
    assert main(["scan", str(path)]) == EXIT_RUNTIME
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"deescalate: {path}/")
    assert expected in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


def test_a_symlink_out_of_the_directory_is_refused(tmp_path: Path) -> None:
    org, _, _ = _org()
    path = org.write(tmp_path / "org")
    outside = tmp_path / "outside"
    (path / "accounts" / ACCT).rename(outside)
    os.symlink(outside, path / "accounts" / ACCT)
    with pytest.raises(SnapshotError, match=r"accounts\[0\]\.snapshot: 'accounts/111111111111' leads out of the"
                       r" organization directory \(through a symlink\)"):
        load_snapshot(path)


def test_a_symlinked_file_out_of_the_directory_is_refused(tmp_path: Path) -> None:
    org, _, _ = _org()
    path = org.write(tmp_path / "org")
    target = path / "accounts" / ACCT / "iam" / "get-account-authorization-details.json"
    outside = tmp_path / "details.json"
    target.rename(outside)
    os.symlink(outside, target)
    with pytest.raises(SnapshotError, match=r"get-account-authorization-details\.json: leads out of the organization"):
        load_snapshot(path)
    # The organization's own files too.
    path2 = org.write(tmp_path / "org2")
    pol = path2 / "organization" / "organizations" / "describe-policy.json"
    pol.rename(tmp_path / "policies.json")
    os.symlink(tmp_path / "policies.json", pol)
    with pytest.raises(SnapshotError, match=r"describe-policy\.json: leads out of the organization"):
        load_snapshot(path2)


def test_a_symlink_inside_the_directory_is_followed(tmp_path: Path) -> None:
    org, _, _ = _org()
    path = org.write(tmp_path / "org")
    (path / "accounts" / ACCT).rename(path / "accounts" / "work")
    os.symlink(path / "accounts" / "work", path / "accounts" / ACCT)
    assert load_snapshot(path).org_of(ACCT) is not None


def test_a_hostile_value_is_quoted_short(tmp_path: Path) -> None:
    path = _hostile(tmp_path, lambda m: m["accounts"][0].update(id="9" * 5000))
    with pytest.raises(SnapshotError) as err:
        load_snapshot(path)
    assert len(str(err.value)) < 300


def test_without_organization_files_the_scan_says_no_scp_applies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    org, _, _ = _org()
    path = org.write(tmp_path / "org")
    shutil.rmtree(path / "organization")
    snap = load_snapshot(path)
    assert snap.organizations == {} and snap.org_of(ACCT) is None
    assert main(["scan", str(path), "--format", "json", "--fail-on", "none"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert any(u.startswith("SCPs and RCPs: the organization snapshot holds no organization files")
               for u in report["unexamined"])


def test_a_manifest_naming_another_management_account_is_refused(tmp_path: Path) -> None:
    path = _hostile(tmp_path, lambda m: m.update(management_account_id="444444444444"))
    with pytest.raises(SnapshotError, match=r"management_account_id/organization_id: 444444444444/o-exampleorg1, but "
                       r".*describe-organization\.json says 999999999999/o-exampleorg1"):
        load_snapshot(path)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("accounts/1\u0000x", "accounts[0].snapshot: 'accounts/1\\x00x' holds a NUL character"),
        ("accounts/" + "a" * 5000, "accounts[0].snapshot: 'accounts/aaaa"),
        ("/".join(["a" * 250] * 40), "is too long a path for this system"),
    ],
)
def test_a_nul_or_overlong_snapshot_path_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, expected: str
) -> None:
    path = _hostile(tmp_path, _set_snapshot(value))
    assert main(["scan", str(path)]) == EXIT_RUNTIME
    captured = capsys.readouterr()
    assert captured.err.startswith(f"deescalate: {path}/manifest.json: ")
    assert expected in captured.err
    assert captured.err.count("\n") == 1 and "internal error" not in captured.err


def test_a_number_too_long_for_python_in_the_manifest_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _hostile(tmp_path, lambda m: m.update(format_version=None))
    text = (path / "manifest.json").read_text().replace('"format_version": null', '"format_version": ' + "9" * 5000)
    assert "9" * 5000 in text
    (path / "manifest.json").write_text(text)
    assert main(["scan", str(path)]) == EXIT_RUNTIME
    captured = capsys.readouterr()
    assert captured.err == (f"deescalate: {path}/manifest.json: holds a number too long to read (Exceeds the"
                            " limit (4300 digits) for integer string conversion)\n")


@pytest.mark.parametrize("where", ["manifest.json", f"accounts/{ACCT}/manifest.json",
                                   "organization/organizations/describe-organization.json"])
def test_a_named_pipe_in_place_of_a_file_is_refused_not_waited_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    org, _, _ = _org()
    path = org.write(tmp_path / "org")
    (path / where).unlink()
    os.mkfifo(path / where)
    assert main(["scan", str(path)]) == EXIT_RUNTIME  # before: waited forever for a writer
    captured = capsys.readouterr()
    assert captured.err.endswith(f"{where}: not a regular file (a named pipe, socket or device); refused\n")
    assert captured.err.count("\n") == 1


def test_a_manifest_of_40000_accounts_is_checked_for_duplicates_in_linear_time() -> None:
    import time

    from deescalate.snapshot.orgdir import read_manifest

    org, _, _ = _org()
    man = org.manifest()
    first = man["accounts"][0]
    man["accounts"] = [dict(first, id=f"{n:012d}", snapshot=f"accounts/{n:012d}") for n in range(40_000)]
    start = time.process_time()
    assert len(read_manifest(man, "manifest.json").accounts) == 40_000
    assert time.process_time() - start < 10  # the pairwise check took 30 s of CPU
    man["accounts"].append(dict(first, id="000000000007"))
    with pytest.raises(SnapshotError, match=r"accounts\[40000\]\.id: account 000000000007 is listed twice"):
        read_manifest(man, "manifest.json")
