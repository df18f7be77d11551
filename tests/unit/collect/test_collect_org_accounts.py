"""`collect --organization` with stubbed AWS: failure isolation, resume, --refresh, --accounts, --ou,
and a hostile manifest. The tree answers come from a table (as in test_collect_org.py); each
account's collection is a stub that writes a minimal snapshot, or fails as told."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from deescalate.collect import organization as org
from deescalate.collect.session import FailedCall, Failure
from deescalate.errors import CollectError, SnapshotError, UsageError
from deescalate.snapshot import layout as L
from deescalate.snapshot.orgdir import validate_manifest


class _Acct:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.__dict__.update(doc)
        self.ou_path = tuple(doc["ou_path"])


class _Manifest:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.__dict__.update(doc)
        self.accounts = [_Acct(a) for a in doc["accounts"]]

    def account(self, aid: str) -> _Acct | None:
        return next((a for a in self.accounts if a.id == aid), None)


def read_org_manifest(out: Path) -> _Manifest:
    """DIR/manifest.json, checked by the loader's validation (snapshot/orgdir.py)."""
    doc = json.loads((out / "manifest.json").read_text())
    validate_manifest(doc, str(out / "manifest.json"))
    return _Manifest(doc)

MGMT, PROD, NESTED, SUSPENDED, DENIED = (
    "111111111111", "222222222222", "333333333333", "444444444444", "555555555555"
)
ROOT, OU_PROD, OU_NESTED = "r-abcd", "ou-abcd-aaaaaaaa", "ou-abcd-bbbbbbbb"
PARENT = {MGMT: ROOT, SUSPENDED: ROOT, PROD: OU_PROD, DENIED: OU_PROD, NESTED: OU_NESTED,
          OU_PROD: ROOT, OU_NESTED: OU_PROD}
ORG_ID = "o-abcdefghij"


def _account(aid: str, status: str = "ACTIVE") -> dict[str, Any]:
    return {"Id": aid, "Name": f"acct-{aid[:3]}", "Email": f"{aid}@example.com", "Status": status}


ACCOUNTS = [_account(MGMT), _account(PROD), _account(NESTED), _account(SUSPENDED, "SUSPENDED"),
            _account(DENIED)]


def _fail(operation: str, code: str) -> Failure:
    return Failure(FailedCall(service="organizations", operation=operation, region="global", code=code,
                              message="no"))


class FakeAws:
    """The Organizations answers of the tree above; every call is recorded."""

    calls: list[tuple[str, dict[str, Any]]]
    broken: ClassVar[dict[str, str]] = {}

    def __init__(self, **_: Any) -> None:
        self.calls = []
        FakeAws.last = self

    def pages(self, service: str, region: str, operation: str, **params: Any) -> dict[str, Any]:
        return self.call(service, region, operation, **params)

    def call(self, service: str, region: str, operation: str, **params: Any) -> dict[str, Any]:
        assert service == "organizations"
        self.calls.append((operation, params))
        if operation in self.broken:
            raise _fail("".join(w.title() for w in operation.split("_")), self.broken[operation])
        if operation == "describe_organization":
            return {"Organization": {"Id": ORG_ID, "MasterAccountId": MGMT}}
        if operation == "list_roots":
            return {"Roots": [{"Id": ROOT, "PolicyTypes": [{"Type": L.SCP_TYPE, "Status": "ENABLED"}]}]}
        if operation == "list_accounts":
            return {"Accounts": ACCOUNTS}
        if operation == "list_parents":
            parent = PARENT[params["ChildId"]]
            return {"Parents": [{"Id": parent, "Type": "ROOT" if parent == ROOT else "ORGANIZATIONAL_UNIT"}]}
        if operation == "describe_organizational_unit":
            if params["OrganizationalUnitId"] not in (OU_PROD, OU_NESTED):
                raise _fail("DescribeOrganizationalUnit", "OrganizationalUnitNotFoundException")
            return {"OrganizationalUnit": {"Id": params["OrganizationalUnitId"]}}
        if operation == "list_accounts_for_parent":
            return {"Accounts": [a for a in ACCOUNTS if PARENT[a["Id"]] == params["ParentId"]]}
        if operation == "list_organizational_units_for_parent":
            return {"OrganizationalUnits": [{"Id": c} for c, p in PARENT.items()
                                            if c.startswith("ou-") and p == params["ParentId"]]}
        if operation == "list_policies_for_target":
            assert params["Filter"] == L.SCP_TYPE  # RCPs are not enabled: not asked for
            extra = [{"Id": "p-prodonly1"}] if params["TargetId"] == OU_PROD else []
            return {"Policies": [{"Id": "p-FullAWSAccess"}, *extra]}
        if operation == "describe_policy":
            return {"Policy": {"PolicySummary": {"Id": params["PolicyId"]}, "Content": "{}"}}
        raise AssertionError(operation)


class Accounts:
    """Stands in for sts:AssumeRole and collect(): what was assumed, collected, and what fails."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.assumed: list[str] = []
        self.collected: list[str] = []
        self.denied = {DENIED}
        self.failing: dict[str, BaseException] = {}
        monkeypatch.setattr(org, "Aws", FakeAws)
        monkeypatch.setattr(org, "caller_identity",
                            lambda aws: {"Account": MGMT, "Arn": f"arn:aws:iam::{MGMT}:user/auditor"})
        monkeypatch.setattr(org, "_assumed_session", self.assume)
        monkeypatch.setattr(org, "_own_session", lambda profile: ("own", profile))
        monkeypatch.setattr(org, "collect", self.collect)
        FakeAws.broken = {}

    def assume(self, profile: str | None, endpoint_url: str | None, arn: str, attempts: int) -> Any:
        self.assumed.append(arn)
        account = arn.split(":")[4]
        if account in self.denied:
            raise Failure(FailedCall(service="sts", operation="AssumeRole", region="global",
                                     code="AccessDenied", message="not authorized"))
        return ("assumed", account)

    def collect(self, target: Path, *, session: Any, organization: bool, **_: Any) -> Path:
        account = target.name
        assert organization is False
        assert session == (("own", None) if account == MGMT else ("assumed", account))
        self.collected.append(account)
        if account in self.failing:
            raise self.failing[account]
        target.mkdir(parents=True, exist_ok=True)
        (target / "manifest.json").write_text(json.dumps({"account_id": account}))
        return target


def _run(out: Path, **kw: Any) -> org.OrgCollectResult:
    return org.collect_organization_dir(out, regions=["us-east-1"], **kw)


def _states(out: Path) -> dict[str, tuple[str, str | None]]:
    return {a.id: (a.collection, a.error) for a in read_org_manifest(out).accounts}


def test_one_account_failing_never_stops_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    accts = Accounts(monkeypatch)
    accts.failing[NESTED] = CollectError("cannot read IAM: GetAccountAuthorizationDetails failed (AccessDenied)")
    import botocore.exceptions

    accts.failing[PROD] = botocore.exceptions.EndpointConnectionError(endpoint_url="https://iam.amazonaws.com")
    result = _run(tmp_path / "org", max_parallel=2)
    states = _states(tmp_path / "org")
    assert states == {
        MGMT: ("collected", None),
        PROD: ("failed", 'EndpointConnectionError: Could not connect to the endpoint URL: "https://iam.amazonaws.com"'),
        NESTED: ("failed", "cannot read IAM: GetAccountAuthorizationDetails failed (AccessDenied)"),
        SUSPENDED: ("skipped", "the account is SUSPENDED: not collected"),
        DENIED: ("failed", f"AccessDenied assuming arn:aws:iam::{DENIED}:role/OrganizationAccountAccessRole: "
                           "not authorized"),
    }
    assert (result.count("collected"), result.count("failed"), result.count("skipped")) == (1, 3, 1)
    # The management account is collected with the caller's own credentials: no role assumed there.
    assert sorted(accts.assumed) == [f"arn:aws:iam::{a}:role/OrganizationAccountAccessRole"
                                     for a in (PROD, NESTED, DENIED)]
    assert SUSPENDED not in accts.collected
    m = read_org_manifest(tmp_path / "org")
    assert [a.id for a in m.accounts] == [MGMT, PROD, NESTED, SUSPENDED, DENIED]  # management first
    assert {a.id: a.ou_path for a in m.accounts} == {
        MGMT: (ROOT,), SUSPENDED: (ROOT,), PROD: (ROOT, OU_PROD), DENIED: (ROOT, OU_PROD),
        NESTED: (ROOT, OU_PROD, OU_NESTED),
    }
    assert m.account(MGMT) is not None and m.account(MGMT).snapshot == f"accounts/{MGMT}"  # type: ignore[union-attr]
    assert m.account(SUSPENDED).email == f"{SUSPENDED}@example.com"  # type: ignore[union-attr]
    assert sorted(p.name for p in (tmp_path / "org").iterdir()) == ["accounts", "manifest.json", "organization"]
    tree = tmp_path / "org" / "organization"
    targets = json.loads((tree / L.ORG_TARGET_POLICIES).read_text())
    assert sorted(targets) == sorted([ROOT, OU_PROD, OU_NESTED, MGMT, PROD, NESTED, SUSPENDED, DENIED])
    assert sorted(json.loads((tree / L.ORG_POLICIES).read_text())) == ["p-FullAWSAccess", "p-prodonly1"]
    described = [c for c in FakeAws.last.calls if c[0] == "describe_policy"]
    assert len(described) == 2  # each policy once


def test_a_rerun_resumes_and_refresh_collects_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    accts = Accounts(monkeypatch)
    accts.failing[NESTED] = CollectError("throttled")
    out = tmp_path / "org"
    _run(out)
    assert sorted(accts.collected) == [MGMT, PROD, NESTED]
    accts.collected.clear()
    del accts.failing[NESTED]
    result = _run(out)
    assert sorted(accts.collected) == [NESTED]  # DENIED fails at AssumeRole, before collect
    assert sorted(result.kept) == [MGMT, PROD]
    assert _states(out)[NESTED] == ("collected", None)
    # A "collected" account whose snapshot is gone is collected again.
    import shutil

    shutil.rmtree(out / "accounts" / PROD)
    accts.collected.clear()
    _run(out)
    assert accts.collected == [PROD]
    accts.collected.clear()
    result = _run(out, refresh=True)
    assert sorted(accts.collected) == [MGMT, PROD, NESTED] and result.kept == ()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_an_interrupted_run_leaves_a_manifest_to_resume_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    accts = Accounts(monkeypatch)
    accts.failing[NESTED] = KeyboardInterrupt()
    out = tmp_path / "org"
    with pytest.raises(KeyboardInterrupt):
        _run(out, max_parallel=1)
    states = _states(out)
    assert states[MGMT] == ("collected", None) and states[PROD] == ("collected", None)
    # DENIED may or may not have been tried (the worker may take it before the interrupt is seen)
    assert states[NESTED] == ("pending", None) and states[DENIED][0] in ("pending", "failed")
    del accts.failing[NESTED]
    accts.collected.clear()
    _run(out)
    assert accts.collected == [NESTED]


def test_accounts_selects_and_unknown_ones_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    accts = Accounts(monkeypatch)
    _run(tmp_path / "two", accounts=[NESTED, MGMT])
    assert sorted(accts.collected) == [MGMT, NESTED]
    assert list(_states(tmp_path / "two")) == [MGMT, NESTED]
    # Only the chosen accounts' parents and policies are read.
    asked = {c[1].get("ChildId") or c[1].get("TargetId") for c in FakeAws.last.calls}
    assert PROD not in asked and SUSPENDED not in asked
    with pytest.raises(UsageError, match=rf"^--accounts: 999999999999 is not in organization {ORG_ID}$"):
        _run(tmp_path / "bad", accounts=["999999999999"])
    assert not (tmp_path / "bad").exists()
    with pytest.raises(UsageError, match=r"^--accounts: '12345' is not a 12-digit account id$"):
        _run(tmp_path / "bad", accounts=["12345"])


def test_ou_selects_the_subtree_with_its_whole_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    accts = Accounts(monkeypatch)
    _run(tmp_path / "prod", ou=OU_PROD)
    m = read_org_manifest(tmp_path / "prod")
    assert {a.id: a.ou_path for a in m.accounts} == {
        PROD: (ROOT, OU_PROD), DENIED: (ROOT, OU_PROD), NESTED: (ROOT, OU_PROD, OU_NESTED)
    }
    assert sorted(accts.collected) == [PROD, NESTED]
    ops = {c[0] for c in FakeAws.last.calls}
    assert "list_accounts" not in ops and "list_accounts_for_parent" in ops
    targets = json.loads((tmp_path / "prod" / "organization" / L.ORG_TARGET_POLICIES).read_text())
    assert sorted(targets) == sorted([ROOT, OU_PROD, OU_NESTED, PROD, NESTED, DENIED])
    with pytest.raises(UsageError, match=r"^--ou ou-abcd-zzzzzzzz: no such OU in the organization"):
        _run(tmp_path / "none", ou="ou-abcd-zzzzzzzz")
    with pytest.raises(UsageError, match=r"is not an OU id"):
        _run(tmp_path / "none", ou="Prod")


def test_the_organization_unreadable_is_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Accounts(monkeypatch)
    FakeAws.broken = {"list_accounts": "AccessDeniedException"}
    with pytest.raises(CollectError, match=r"^cannot read the organization: ListAccounts failed "
                       r"\(AccessDeniedException: no\); run from the management account"):
        _run(tmp_path / "org")
    FakeAws.broken = {"describe_organization": "AWSOrganizationsNotInUseException"}
    with pytest.raises(CollectError, match="not in an organization"):
        _run(tmp_path / "org")
    assert not (tmp_path / "org").exists()


def test_role_arn_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    accts = Accounts(monkeypatch)
    _run(tmp_path / "org", role_arn_template="arn:aws:iam::{account}:role/audit/Reader")
    assert f"arn:aws:iam::{PROD}:role/audit/Reader" in accts.assumed
    assert read_org_manifest(tmp_path / "org").role == "arn:aws:iam::{account}:role/audit/Reader"
    for bad in ("arn:aws:iam::123456789012:role/Reader", "arn:aws:iam::{account}:user/x", "{account}"):
        with pytest.raises(UsageError, match="--role-arn-template"):
            _run(tmp_path / "x", role_arn_template=bad)
    with pytest.raises(UsageError, match="not both"):
        _run(tmp_path / "x", role_arn_template="arn:aws:iam::{account}:role/R", role_name="R")
    with pytest.raises(UsageError, match="--role-name 'a b'"):
        _run(tmp_path / "x", role_name="a b")


def _good(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, Any]]:
    Accounts(monkeypatch)
    out = tmp_path / "org"
    _run(out)
    return out, json.loads((out / "manifest.json").read_text())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(format_version=2), r"format_version: format version 2 is not one"),
        (lambda m: m["accounts"][0].update(snapshot="../../etc"), r"accounts\[0\]\.snapshot: "
         r"'\.\./\.\./etc' leaves the organization directory"),
        (lambda m: m["accounts"][0].update(snapshot="/etc"), r"accounts\[0\]\.snapshot: '/etc' is an absolute"),
        (lambda m: m["accounts"][1].update(id="1234"), r"accounts\[1\]\.id: '1234' is not of the form"),
        (lambda m: m["accounts"].append(m["accounts"][0]), rf"accounts\[5\]\.id: account {MGMT} is listed twice"),
        (lambda m: m["accounts"][0].update(collection="done"), r"accounts\[0\]\.collection: 'done' is not one of"),
        (lambda m: m["accounts"][0].update(snapshot=None), r"accounts\[0\]\.snapshot: expected string"),
        (lambda m: m.update(accounts={}), r"accounts: expected array, found an object"),
        (lambda m: m["accounts"][0].update(ou_path=["../x"]), r"accounts\[0\]\.ou_path\[0\]: '\.\./x' is not of"),
    ],
)
def test_a_bad_manifest_is_refused_on_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: Any, message: str
) -> None:
    out, manifest = _good(tmp_path, monkeypatch)
    change(manifest)
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(SnapshotError, match=rf"^{out}/manifest.json: {message}") as e:
        _run(out)
    assert "remove" in str(e.value) and "\n" not in str(e.value)


def test_a_manifest_that_is_not_json_or_not_ours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, _ = _good(tmp_path, monkeypatch)
    (out / "manifest.json").write_text('{"format": "deescalate-organization", ')
    with pytest.raises(SnapshotError, match=r"manifest.json: not valid JSON"):
        _run(out)
    (out / "manifest.json").write_text(json.dumps({"format": "deescalate-snapshot"}))
    with pytest.raises(SnapshotError, match=r"manifest.json: top level: missing required field 'format_version'"):
        _run(out)  # it has accounts/ and organization/: an organization directory, its manifest wrong
    single = tmp_path / "single"
    single.mkdir()
    (single / "manifest.json").write_text(json.dumps({"format": "deescalate-snapshot"}))
    with pytest.raises(UsageError, match="is a single-account snapshot, not an organization one"):
        _run(single)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="exists and is not an organization snapshot directory"):
        _run(other)


def test_symlinks_out_of_the_directory_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    accts = Accounts(monkeypatch)
    out, _ = _good(tmp_path, monkeypatch)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    import shutil

    # An account not collected yet whose directory is a planted symlink: not written through.
    accts.denied.clear()
    (out / "accounts" / DENIED).symlink_to(elsewhere)
    accts.collected.clear()
    _run(out)
    assert _states(out)[DENIED][0] == "failed" and "symbolic link" in (_states(out)[DENIED][1] or "")
    assert list(elsewhere.iterdir()) == [] and DENIED not in accts.collected
    # A collected account's directory turned into a symlink out of DIR: the manifest now points
    # out of DIR, and the run refuses to resume from it.
    shutil.rmtree(out / "accounts" / PROD)
    (out / "accounts" / PROD).symlink_to(elsewhere)
    with pytest.raises(SnapshotError, match=r"accounts\[1\]\.snapshot: 'accounts/222222222222' leads out of"):
        _run(out)
    (out / "accounts" / PROD).unlink()
    shutil.move(str(out / "accounts"), str(tmp_path / "moved"))
    (out / "accounts").symlink_to(tmp_path / "moved")
    with pytest.raises(SnapshotError, match="accounts: is not a plain directory"):
        _run(out)
    assert list(elsewhere.iterdir()) == []


def test_single_account_collect_will_not_replace_an_organization(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deescalate.collect.store import Store

    out, _ = _good(tmp_path, monkeypatch)
    with pytest.raises(UsageError, match="is an organization snapshot"):
        Store.check(out)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--accounts", MGMT], "--accounts: only with --organization"),
        (["--refresh", "--ou", OU_PROD], "--ou, --refresh: only with --organization"),
        (["--organization", "--last-accessed"], "--last-accessed is not supported with --organization yet"),
        (["--organization", "--accounts", "1,2"], "--accounts: '1' is not a 12-digit account id"),
        (["--organization", "--accounts", MGMT, "--ou", OU_PROD], "give --accounts or --ou, not both"),
        (["--organization", "--max-accounts-in-parallel", "0"], "--max-accounts-in-parallel must be at least 1"),
    ],
)
def test_command_line_usage_errors_are_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    argv: list[str], message: str,
) -> None:
    from deescalate.cli import main

    accts = Accounts(monkeypatch)
    code = main(["collect", "-o", str(tmp_path / "org"), "--endpoint-url", "http://127.0.0.1:1", *argv])
    err = capsys.readouterr().err
    assert code == 2 and err == f"deescalate: {message}\n"
    assert accts.collected == [] and not (tmp_path / "org").exists()


def test_command_summary_counts_accounts_and_failed_calls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from deescalate.cli import main

    accts = Accounts(monkeypatch)
    real = accts.collect

    def with_failures(target: Path, **kw: Any) -> Path:
        out = real(target, **kw)
        if target.name == PROD:
            (target / "manifest.json").write_text(json.dumps({"failures": [{}, {}]}))
        return out

    monkeypatch.setattr(org, "collect", with_failures)
    code = main(["collect", "--organization", "-o", str(tmp_path / "org"), "--region", "us-east-1"])
    err = capsys.readouterr().err
    assert code == 0
    assert (f"collected organization {ORG_ID} into {tmp_path / 'org'}: 5 account(s), 3 collected, 1 failed, "
            "1 skipped, in ") in err
    assert "  2 call(s) failed in 1 collected account(s)" in err
    assert f"  skipped: {SUSPENDED} (acct-444): the account is SUSPENDED: not collected" in err
    assert f"  failed: {DENIED} (acct-555): AccessDenied assuming arn:aws:iam::{DENIED}:role/" in err


def test_a_run_over_some_accounts_keeps_the_earlier_runs_other_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    accts = Accounts(monkeypatch)
    out = tmp_path / "org"
    _run(out)
    whole = _states(out)
    assert list(whole) == [MGMT, PROD, NESTED, SUSPENDED, DENIED]
    # --accounts PROD --refresh: PROD collected again, every other account kept as it was (before:
    # the manifest listed PROD alone, and a scan silently covered one account).
    accts.collected.clear()
    result = _run(out, accounts=[PROD], refresh=True)
    assert accts.collected == [PROD]
    assert _states(out) == whole
    assert sorted(result.kept) == [MGMT, NESTED] and result.gone == ()
    m = read_org_manifest(out)
    assert {a.id: a.ou_path for a in m.accounts}[NESTED] == (ROOT, OU_PROD, OU_NESTED)
    # The organization files still describe every account the manifest lists.
    tree = out / "organization"
    assert sorted(json.loads((tree / L.ORG_TARGET_POLICIES).read_text())) == sorted(
        [ROOT, OU_PROD, OU_NESTED, MGMT, PROD, NESTED, SUSPENDED, DENIED])
    assert sorted(a["Id"] for a in json.loads((tree / L.ORG_ACCOUNTS).read_text())["Accounts"]) == sorted(whole)
    # --ou adds what was missing below it (DENIED, its role now assumable), keeps the rest.
    accts.denied = set()
    accts.collected.clear()
    _run(out, ou=OU_PROD)
    assert accts.collected == [DENIED]
    assert _states(out) == {**whole, DENIED: ("collected", None)}
    # An account no longer in the organization is dropped (its directory is left alone).
    monkeypatch.setitem(globals(), "ACCOUNTS", [a for a in ACCOUNTS if a["Id"] != NESTED])
    accts.collected.clear()
    result = _run(out, accounts=[MGMT])
    assert accts.collected == [] and result.gone == (NESTED,)
    assert NESTED not in _states(out) and len(_states(out)) == 4
    assert (out / "accounts" / NESTED).is_dir()


def test_a_run_over_some_accounts_keeps_failed_and_never_collected_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    accts = Accounts(monkeypatch)
    out = tmp_path / "org"
    accts.failing[NESTED] = CollectError("throttled")
    _run(out)
    import shutil

    shutil.rmtree(out / "accounts" / PROD)  # collected once, its snapshot since removed
    accts.collected.clear()
    _run(out, accounts=[MGMT], refresh=True)
    assert accts.collected == [MGMT]  # nothing outside the selection is collected
    states = _states(out)
    assert states[NESTED] == ("failed", "throttled")
    assert states[PROD] == ("pending", None)  # to be collected by a run over it
    assert states[SUSPENDED][0] == "skipped" and states[DENIED][0] == "failed"
    accts.collected.clear()
    del accts.failing[NESTED]
    _run(out)  # a full run picks them up
    assert sorted(accts.collected) == [PROD, NESTED]


def test_the_command_names_accounts_dropped_and_left_pending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from deescalate.cli import main

    accts = Accounts(monkeypatch)
    out = tmp_path / "org"
    accts.failing[PROD] = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        _run(out, max_parallel=1)  # PROD and later accounts left pending
    del accts.failing[PROD]
    monkeypatch.setitem(globals(), "ACCOUNTS", [a for a in ACCOUNTS if a["Id"] != NESTED])
    capsys.readouterr()
    code = main(["collect", "--organization", "-o", str(out), "--region", "us-east-1", "--accounts", MGMT])
    err = capsys.readouterr().err
    assert code == 0
    assert f"  dropped: {NESTED}: listed by the earlier manifest, no longer in organization {ORG_ID}" in err
    pending = next(line for line in err.splitlines() if line.startswith("  pending: "))
    # DENIED may have been tried before the interrupt was seen
    assert pending.startswith((f"  pending: 1 account(s) of an earlier run outside --accounts/--ou, not collected"
                               f" yet ({PROD})", f"  pending: 2 account(s) of an earlier run outside --accounts/"
                               f"--ou, not collected yet ({PROD}, {DENIED})"))
    assert _states(out)[PROD] == ("pending", None)
