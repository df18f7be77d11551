"""`deescalate collect --organization` against a real moto server round-trips a seeded organization.

tests/support/org_seed.py builds the organization (two OUs, one nested, five member accounts, SCPs
and RCPs at the root, OUs and one account) and seeds IAM in each member through its
OrganizationAccountAccessRole. An HTTP proxy in front of moto refuses sts:AssumeRole into one
account's role as AWS does, so that account must be recorded as failed and the others collected.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from org_seed import MGMT, RCPS, ROLE, SCPS, DenyingProxy, SeededOrg, seed_org

from deescalate.cli import main
from deescalate.snapshot import layout as L
from deescalate.snapshot import load_snapshot
from deescalate.snapshot.load import read_json
from deescalate.snapshot.org import parse_organization
from deescalate.snapshot.orgdir import OrgManifest, read_manifest
from deescalate.snapshot.where import At

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def _collect(url: str, out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    argv = ["collect", "--organization", "-o", str(out), "--endpoint-url", url, "--region", "us-east-1",
            "--max-attempts", "2", *extra]
    code = main(argv)
    return code, capsys.readouterr().err


def read_org_manifest(out: Path) -> OrgManifest:
    """DIR/manifest.json through the loader's own validation (snapshot/orgdir.py)."""
    return read_manifest(json.loads((out / "manifest.json").read_text()), str(out / "manifest.json"))


def _raw(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text())  # type: ignore[no-any-return]


def _summary(err: str) -> str:
    return next(line for line in err.splitlines() if line.startswith("collected organization "))


def test_collect_organization_round_trips(
    moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded = seed_org(moto_endpoint)
    locked = seeded.accounts["dev-locked"]
    out = tmp_path / "org"
    with DenyingProxy(moto_endpoint, {f"arn:aws:iam::{locked}:role/{ROLE}"}) as proxy:
        code, err = _collect(proxy.url, out, capsys)
        assert code == 0, err
        assert ("6 account(s), 4 collected, 1 failed, 1 skipped" in _summary(err)), err
        assert f"  failed: {locked} (dev-locked): AccessDenied assuming arn:aws:iam::{locked}:role/{ROLE}" in err
        assert f"  skipped: {seeded.accounts['closed']} (closed): the account is SUSPENDED" in err
        assert proxy.refused == [f"arn:aws:iam::{locked}:role/{ROLE}"]

        manifest = read_org_manifest(out)  # validated as the loader validates it
        raw = _raw(out)
        assert manifest.organization_id == seeded.org_id and manifest.management_account_id == MGMT
        assert raw["role"] == ROLE and raw["caller"].endswith(f"::{MGMT}:user/moto")
        assert manifest.accounts[0].id == MGMT  # the management account first, then by id
        assert {a["name"]: a["email"] for a in raw["accounts"]}["payments"] == "payments@example.com"
        by_name = {a.name: a for a in manifest.accounts}
        assert sorted(by_name) == ["closed", "dev-a", "dev-locked", "master", "payments", "prod-web"]
        for a in manifest.accounts:
            assert list(a.ou_path) == seeded.ou_paths[a.id], a.name
        assert by_name["payments"].ou_path == (seeded.root, seeded.ous["Prod"], seeded.ous["Payments"])
        states = {a["name"]: (a["collection"], a["snapshot"]) for a in raw["accounts"]}
        assert states == {
            "master": ("collected", f"accounts/{MGMT}"),
            "prod-web": ("collected", f"accounts/{seeded.accounts['prod-web']}"),
            "payments": ("collected", f"accounts/{seeded.accounts['payments']}"),
            "dev-a": ("collected", f"accounts/{seeded.accounts['dev-a']}"),
            "dev-locked": ("failed", None),
            "closed": ("skipped", None),
        }
        assert by_name["dev-locked"].error is not None and "not authorized to perform: sts:AssumeRole" in (
            by_name["dev-locked"].error
        )
        _check_accounts(out, seeded)
        _check_policies(out, seeded)
        _check_every_call_is_in_the_read_only_policy(out, proxy)
        _check_scan(out, seeded, capsys)

        # Again: the four collected accounts are kept, the failed one is tried again.
        before = {a: (out / "accounts" / a / "manifest.json").stat().st_mtime_ns for a in _collected(out)}
        code, err = _collect(proxy.url, out, capsys)
        assert code == 0 and "4 collected (4 kept from an earlier run), 1 failed, 1 skipped" in _summary(err)
        assert proxy.refused == [f"arn:aws:iam::{locked}:role/{ROLE}"] * 2
        assert {a: (out / "accounts" / a / "manifest.json").stat().st_mtime_ns for a in before} == before

        # --refresh collects them all again.
        code, err = _collect(proxy.url, out, capsys, "--refresh", "--max-accounts-in-parallel", "2")
        assert code == 0 and "6 account(s), 4 collected, 1 failed, 1 skipped, in " in _summary(err), err
        after = {a: (out / "accounts" / a / "manifest.json").stat().st_mtime_ns for a in before}
        assert all(after[a] != before[a] for a in before)


def _collected(out: Path) -> list[str]:
    return [a.id for a in read_org_manifest(out).accounts if a.collection == "collected"]


def _check_accounts(out: Path, seeded: SeededOrg) -> None:
    for aid in _collected(out):
        snap = out / "accounts" / aid
        s = load_snapshot(snap)
        assert s.account_id == aid
        assert sorted(u.name for u in s.users.values()) == seeded.users[aid]
        assert not (snap / "organizations").exists() and s.organization is None
        own = json.loads((snap / "manifest.json").read_text())
        if aid == MGMT:  # the management account: the caller's own credentials, no role assumed
            assert own["caller_arn"] == f"arn:aws:sts::{MGMT}:user/moto"
        else:
            assert own["caller_arn"] == f"arn:aws:sts::{aid}:assumed-role/{ROLE}/deescalate-collect"
        assert not any(c["service"] == "organizations" for c in own["calls"])


def _org_files(out: Path) -> dict[str, tuple[Any, At]]:
    tree = out / "organization"
    return {
        rel: (read_json(tree / rel, rel), At(file=rel))
        for rel in (L.ORG_DESCRIBE, L.ORG_ROOTS, L.ORG_PARENTS, L.ORG_OUS, L.ORG_TARGET_POLICIES,
                    L.ORG_POLICIES)
    }


def _check_policies(out: Path, seeded: SeededOrg) -> None:
    tree = out / "organization"
    described = json.loads((tree / L.ORG_POLICIES).read_text())
    attached = json.loads((tree / L.ORG_TARGET_POLICIES).read_text())
    listed = json.loads((tree / L.ORG_ACCOUNTS).read_text())
    assert sorted(a["Id"] for a in listed["Accounts"]) == sorted(seeded.accounts.values())
    targets = {"root": seeded.root, **seeded.ous, **seeded.accounts}
    for kind, table in ((L.SCP_TYPE, SCPS), (L.RCP_TYPE, RCPS)):
        for name, (target, content) in table.items():
            pid = seeded.policies[name]
            assert described[pid]["Policy"]["Content"] == content, name  # the document round-trips
            assert described[pid]["Policy"]["PolicySummary"]["Type"] == kind
            on = [p["Id"] for p in attached[targets[target]][kind]["Policies"]]
            assert pid in on, (name, target)
    # Each account's own path, as the loader builds it from the organization's files.
    files = _org_files(out)
    expected_scps = {
        "prod-web": [["FullAWSAccess", "NoLeave"], ["DenyRegions", "FullAWSAccess"], ["FullAWSAccess"]],
        "payments": [["FullAWSAccess", "NoLeave"], ["DenyRegions", "FullAWSAccess"],
                     ["DenyIamUsers", "FullAWSAccess"], ["FullAWSAccess"]],
        "dev-a": [["FullAWSAccess", "NoLeave"], ["DenyOrgs", "FullAWSAccess"], ["DenyKms", "FullAWSAccess"]],
        "dev-locked": [["FullAWSAccess", "NoLeave"], ["DenyOrgs", "FullAWSAccess"], ["FullAWSAccess"]],
        "management": [["FullAWSAccess", "NoLeave"], ["FullAWSAccess"]],
    }
    for name, scps in expected_scps.items():
        aid = seeded.accounts[name]
        o = parse_organization(files, aid)
        assert o is not None and o.scps_enabled and o.rcps_enabled and o.management_account_id == MGMT
        assert [n.id for n in o.path] == [*seeded.ou_paths[aid], aid], name
        assert [sorted(p.ref.name for p in n.scps) for n in o.path] == scps, name
    dev_a = parse_organization(files, seeded.accounts["dev-a"])
    assert dev_a is not None
    assert [sorted(p.ref.name for p in n.rcps) for n in dev_a.path] == [
        ["RCPFullAWSAccess"], ["DenyExternal", "RCPFullAWSAccess"], ["RCPFullAWSAccess"]
    ]
    deny = next(p for p in dev_a.path[1].scps if p.ref.name == "DenyOrgs")
    assert deny.statements[0].actions == ("organizations:*",)


def _check_scan(out: Path, seeded: SeededOrg, capsys: pytest.CaptureFixture[str]) -> None:
    """The organization directory loads (load_snapshot, scan) with each account's own SCP path."""
    s = load_snapshot(out)
    collected = _collected(out)
    assert s.account_id == MGMT and sorted(s.accounts) == sorted(collected)
    assert sorted(u.name for u in s.users.values()) == sorted(f"ci-{n}" for n in seeded.accounts
                                                              if seeded.accounts[n] in collected)
    for name in ("prod-web", "payments", "dev-a"):
        aid = seeded.accounts[name]
        o = s.org_of(aid)
        assert o is not None and [n.id for n in o.path] == [*seeded.ou_paths[aid], aid], name
        assert {p.ref.name for n in o.path for p in n.scps} >= {"NoLeave", "FullAWSAccess"}
    assert "DenyIamUsers" in {p.ref.name for n in s.org_of(seeded.accounts["payments"]).path  # type: ignore[union-attr]
                              for p in n.scps}
    assert "DenyIamUsers" not in {p.ref.name for n in s.org_of(seeded.accounts["prod-web"]).path  # type: ignore[union-attr]
                                  for p in n.scps}
    assert not s.account_infos[seeded.accounts["dev-locked"]].collected
    code = main(["scan", str(out), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code in (0, 1)
    unexamined = " ".join(report["unexamined"])
    assert seeded.accounts["dev-locked"] in unexamined and seeded.accounts["closed"] in unexamined


def _check_every_call_is_in_the_read_only_policy(out: Path, proxy: DenyingProxy) -> None:
    policy = json.loads((REPO / "policies" / "collector-readonly.json").read_text())
    allowed = {a for st in policy["Statement"] for a in st["Action"]}
    made = {f"{svc}:{op}" for svc, op in proxy.operations if svc in ("organizations", "sts")}
    for aid in _collected(out):
        own = json.loads((out / "accounts" / aid / "manifest.json").read_text())
        made |= {f"{c['service']}:{c['operation']}" for c in own["calls"] if c["service"] in ("iam", "sts")}
    assert made <= allowed, made - allowed
    assert {"organizations:ListAccounts", "sts:AssumeRole", "organizations:ListParents",
            "organizations:DescribePolicy", "organizations:ListPoliciesForTarget"} <= made


def test_collect_one_ou(moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--ou: the accounts below the OU (nested OUs included), with their whole path from the root."""
    seeded = seed_org(moto_endpoint)
    with DenyingProxy(moto_endpoint, set()) as proxy:
        code, err = _collect(proxy.url, tmp_path / "prod", capsys, "--ou", seeded.ous["Prod"])
        assert code == 0 and "2 account(s), 2 collected, 0 failed, 0 skipped" in _summary(err), err
        m = read_org_manifest(tmp_path / "prod")
        assert {a.name: a.ou_path for a in m.accounts} == {
            "prod-web": (seeded.root, seeded.ous["Prod"]),
            "payments": (seeded.root, seeded.ous["Prod"], seeded.ous["Payments"]),
        }
        assert {("organizations", "ListAccountsForParent"),
                ("organizations", "ListOrganizationalUnitsForParent")} <= proxy.operations
        assert ("organizations", "ListAccounts") not in proxy.operations
        o = parse_organization(_org_files(tmp_path / "prod"), seeded.accounts["payments"])
        assert o is not None and [sorted(p.ref.name for p in n.scps) for n in o.path][2] == [
            "DenyIamUsers", "FullAWSAccess"
        ]
        code, err = _collect(proxy.url, tmp_path / "two", capsys, "--accounts",
                             f"{seeded.accounts['dev-a']},{MGMT}")
        assert code == 0 and "2 account(s), 2 collected" in _summary(err), err
        assert [a.id for a in read_org_manifest(tmp_path / "two").accounts] == [MGMT, seeded.accounts["dev-a"]]
        code, err = _collect(proxy.url, tmp_path / "bad", capsys, "--accounts", "000000000000")
        assert code == 2 and err.strip() == f"deescalate: --accounts: 000000000000 is not in organization {seeded.org_id}"
