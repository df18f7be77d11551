"""Plans over several accounts: one file per account, and apply/revert --organization on stubbed accounts.

Each account is a `StubIAM` of its own (its principals' ARNs in that account, its caller the role
assumed into it); `assume_role` is replaced by a lookup of those stubs, failing (AccessDenied) for
an account whose role cannot be assumed, so every IAM call of every account is recorded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from remediate_cases import principal_plan, tied
from stub_iam import StubIAM

from deescalate.cli import main
from deescalate.errors import EXIT_RUNTIME, EXIT_USAGE, ApplyError, PlanError, UsageError
from deescalate.model import Edge, Grant, Plan, PolicyPlacement
from deescalate.remediate import aws, orgapply
from deescalate.remediate.accounts import join_plans, read_plan_dir, split_plan, write_plan_dir
from deescalate.remediate.aws import Clients
from deescalate.remediate.orgapply import role_arn_for, run_per_account
from deescalate.remediate.planfile import plan_to_json, write_plan

A, B, C, D = "111111111111", "222222222222", "333333333333", "444444444444"
ORG_ROLE = "OrganizationAccountAccessRole"


def arn(account: str, kind: str, name: str) -> str:
    return f"arn:aws:iam::{account}:{kind}/{name}"


def stub(account: str, caller: str | None = None) -> StubIAM:
    iam = StubIAM(caller or arn(account, "role", ORG_ROLE).replace(":iam::", ":sts::").replace(
        ":role/", ":assumed-role/") + "/deescalate", account=account)
    for name in ("dev", "ci", "boss"):
        iam.add("user", name)
    iam.add("role", "app")
    iam.add("role", ORG_ROLE)
    return iam


def account_plan(iam: StubIAM, account: str, names: tuple[str, ...] = ("dev",), *, first: int = 0) -> Plan:
    """A plan for users `names` of `account`: each denied PutUserPolicy on itself and PassRole on app."""
    principals, edges = [], []
    for n, name in enumerate(names):
        who = arn(account, "user", name)
        d1, e1 = tied(who, first + 2 * n, "iam:PutUserPolicy", who)
        d2, e2 = tied(who, first + 2 * n + 1, "iam:PassRole", arn(account, "role", "app"))
        edges += [e1, e2]
        principals.append(principal_plan(who, (d1, d2), PolicyPlacement.INLINE, iam))
    return Plan(account_id=account, snapshot="hand", snapshot_time=None, principals=tuple(principals),
                verified=True, edges=tuple(edges))


# --------------------------------------------------------------------------- the plan files


def test_split_keeps_each_account_its_own_principals_edges_and_open_edges(tmp_path: Path) -> None:
    a, b = stub(A), stub(B)
    pa, pb = account_plan(a, A), account_plan(b, B, first=10)
    cross = Edge(source=arn(A, "user", "ci"), target=arn(B, "role", "admin"), technique="sts-001",
                 alternatives=((Grant(action="sts:AssumeRole", resource=arn(B, "role", "admin")),),))
    joined = join_plans([pa, pb])
    joined = Plan(account_id=A, snapshot="org", snapshot_time=None, principals=joined.principals,
                  edges=joined.edges, remaining=(cross,), verified=False)
    parts = split_plan(joined)
    assert sorted(parts) == [A, B]
    assert [p.principal for p in parts[A].principals] == [arn(A, "user", "dev")]
    assert [p.principal for p in parts[B].principals] == [arn(B, "user", "dev")]
    assert parts[A].remaining == (cross,) and parts[B].remaining == ()  # an open edge goes to its source
    assert {e.source for e in parts[A].edges} == {arn(A, "user", "dev")}
    assert not parts[A].verified and not parts[B].verified  # the verdict is the organization's
    assert parts[B].account_id == B
    # an account with nothing but an open edge still gets a file, so the open edge is seen
    only_open = split_plan(Plan(account_id=A, snapshot="", snapshot_time=None, principals=(), remaining=(cross,)))
    assert sorted(only_open) == [A]

    write_plan_dir(parts, tmp_path / "plans")
    assert sorted(os.listdir(tmp_path / "plans")) == [f"{A}.plan.json", f"{B}.plan.json"]
    assert (tmp_path / "plans" / f"{A}.plan.json").stat().st_mode & 0o777 == 0o600
    back = read_plan_dir(tmp_path / "plans", checked=True)
    again = join_plans(list(back.values()))
    assert {p.principal for p in again.principals} == {p.principal for p in joined.principals}
    assert again.remaining == (cross,)


def test_a_plan_directory_is_hostile_input(tmp_path: Path) -> None:
    a, b = stub(A), stub(B)
    plans = tmp_path / "plans"
    write_plan_dir({A: account_plan(a, A), B: account_plan(b, B, first=10)}, plans)
    read_plan_dir(plans, checked=True)

    # B's plan under A's name: the account and the file name disagree
    (plans / f"{C}.plan.json").write_text((plans / f"{B}.plan.json").read_text())
    with pytest.raises(PlanError, match=f"{C}.plan.json: the plan is for account '{B}'"):
        read_plan_dir(plans, checked=True)
    (plans / f"{C}.plan.json").unlink()

    # a principal of another account slipped into A's file (digest recomputed: a consistent forgery)
    raw = json.loads((plans / f"{A}.plan.json").read_text())
    raw["principals"].append(json.loads((plans / f"{B}.plan.json").read_text())["principals"][0])
    from deescalate.remediate.planfile import plan_digest

    raw["digest"] = plan_digest(raw)
    (plans / f"{A}.plan.json").write_text(json.dumps(raw))
    with pytest.raises(PlanError, match=f"{arn(B, 'user', 'dev')} is not in account {A}"):
        read_plan_dir(plans, checked=True)
    write_plan_dir({A: account_plan(a, A)}, plans)

    # an edit after the check: the digest
    raw = json.loads((plans / f"{A}.plan.json").read_text())
    raw["principals"][0]["denies"][0]["apply"] = False
    (plans / f"{A}.plan.json").write_text(json.dumps(raw))
    with pytest.raises(PlanError, match="edited after it was checked"):
        read_plan_dir(plans, checked=True)
    read_plan_dir(plans, checked=False)  # what plan --check reads
    write_plan_dir({A: account_plan(a, A)}, plans)

    # a plan file that is not named after an account, or a symbolic link
    (plans / "prod.plan.json").write_text("{}")
    with pytest.raises(PlanError, match=r"named <12-digit account id>\.plan\.json"):
        read_plan_dir(plans, checked=True)
    (plans / "prod.plan.json").unlink()
    (plans / f"{C}.plan.json").symlink_to(plans / f"{A}.plan.json")
    with pytest.raises(PlanError, match="not a regular file"):
        read_plan_dir(plans, checked=True)
    (plans / f"{C}.plan.json").unlink()
    # journals and other files beside the plans are ignored
    (plans / f"{A}.plan.journal.jsonl").write_text("")
    assert sorted(read_plan_dir(plans, checked=True)) == [A, B]
    # re-planning into the directory removes the plan of an account with nothing left to deny
    _, removed = write_plan_dir({A: account_plan(a, A)}, plans, prune=True)
    assert removed == [plans / f"{B}.plan.json"] and sorted(read_plan_dir(plans, checked=True)) == [A]
    with pytest.raises(UsageError, match="no plan file"):
        read_plan_dir(tmp_path, checked=True)


def test_join_refuses_a_principal_planned_twice() -> None:
    a = stub(A)
    with pytest.raises(PlanError, match="planned in two plans"):
        join_plans([account_plan(a, A), account_plan(a, A)])


def test_the_role_to_assume_is_a_role_in_the_account() -> None:
    assert role_arn_for(B) == arn(B, "role", ORG_ROLE)
    assert role_arn_for(B, partition="aws-us-gov", role_name="Fixer") == f"arn:aws-us-gov:iam::{B}:role/Fixer"
    tpl = "arn:aws:iam::{account}:role/team/Remediator"
    assert role_arn_for(B, template=tpl) == f"arn:aws:iam::{B}:role/team/Remediator"
    with pytest.raises(UsageError, match=r"no \{account\} placeholder"):
        role_arn_for(B, template=arn(A, "role", "Fixer"))
    with pytest.raises(UsageError, match="not an IAM role ARN in that account"):
        role_arn_for(B, template="arn:aws:iam::111111111111:role/{account}")  # every account's into A
    with pytest.raises(UsageError, match="not an IAM role ARN"):
        role_arn_for(B, template="arn:aws:iam::{account}:user/Fixer")
    with pytest.raises(UsageError, match="not an IAM role ARN"):
        role_arn_for(B, role_name="bad name")


# --------------------------------------------------------------------------- apply/revert --organization


class Org:
    """Stubbed accounts; the caller is A's operator; B and D are reached by their role, C's refuses."""

    def __init__(self) -> None:
        self.accounts = {A: stub(A, caller=arn(A, "user", "operator")), B: stub(B), D: stub(D)}
        self.assumed: list[str] = []

    def assume(self, base: Clients, role_arn: str, *, session_name: str) -> Clients:
        self.assumed.append(role_arn)
        account = role_arn.split(":")[4]
        if account not in self.accounts or role_arn.rsplit("/", 1)[1] not in self.accounts[account].roles:
            raise ApplyError(f"sts:AssumeRole RoleArn={role_arn} RoleSessionName={session_name} failed: "
                             "An error occurred (AccessDenied) when calling the AssumeRole operation: denied")
        iam = self.accounts[account]
        return Clients(iam=iam, sts=iam)


@pytest.fixture
def org(monkeypatch: pytest.MonkeyPatch) -> Org:
    o = Org()
    base = Clients(iam=o.accounts[A], sts=o.accounts[A])
    monkeypatch.setattr(orgapply, "assume_role", o.assume)
    monkeypatch.setattr("deescalate.commands.apply_cmd.connect", lambda **kw: base)
    monkeypatch.setattr("deescalate.commands.revert_cmd.connect", lambda **kw: base)
    for module in ("apply_cmd", "revert_cmd"):
        monkeypatch.setattr(f"deescalate.commands.{module}.lock_dir",
                            lambda: Path(os.environ["DEESCALATE_TEST_LOCKS"]))
    return o


@pytest.fixture(autouse=True)
def _locks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEESCALATE_TEST_LOCKS", str(tmp_path / "locks"))


def write_org_plans(org: Org, plans: Path) -> None:
    write_plan_dir({
        A: account_plan(org.accounts[A], A),
        B: account_plan(org.accounts[B], B, ("dev", "ci"), first=10),
        C: account_plan(stub(C), C, first=20),  # its role cannot be assumed
        D: account_plan(org.accounts[D], D, first=30),
    }, plans)
    # D's file is edited after its check: refused before any call in D
    raw = json.loads((plans / f"{D}.plan.json").read_text())
    raw["principals"][0]["denies"][0]["apply"] = False
    (plans / f"{D}.plan.json").write_text(json.dumps(raw))


def test_apply_organization_goes_on_past_failed_accounts_and_reverts(
    org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plans = tmp_path / "plans"
    write_org_plans(org, plans)
    start = {k: v.dump() for k, v in org.accounts.items()}

    # dry run: every account is read, none changed
    assert main(["apply", str(plans), "--organization"]) == EXIT_RUNTIME
    cap = capsys.readouterr()
    assert {k: v.dump() for k, v in org.accounts.items()} == start
    assert not any(s.mutations for s in org.accounts.values())
    assert f"== account {A} (own credentials)" in cap.out and f"== account {B} ({arn(B, 'role', ORG_ROLE)})" in cap.out
    assert "Dry run of 2 of 4 account(s); 2 failed: 333333333333, 444444444444." in cap.out
    assert f"account {C}: FAILED: sts:AssumeRole RoleArn={arn(C, 'role', ORG_ROLE)}" in cap.err
    assert f"account {D}: FAILED: {plans / f'{D}.plan.json'}: the plan was edited after it was checked" in cap.err
    assert len([line for line in cap.err.splitlines() if "FAILED" in line]) == 2

    assert main(["apply", str(plans), "--organization", "--yes"]) == EXIT_RUNTIME
    cap = capsys.readouterr()
    assert "Applied to 2 of 4 account(s); 2 failed" in cap.out
    assert org.accounts[A].mutations and org.accounts[B].mutations and not org.accounts[D].mutations
    # one journal per account, named by it, holding only that account's calls
    for account, names in ((A, ["dev"]), (B, ["ci", "dev"])):
        journal = plans / f"{account}.plan.journal.jsonl"
        lines = [json.loads(x) for x in journal.read_text().splitlines()]
        assert sorted({x["principal"] for x in lines if x["event"] == "pending"}) == [
            arn(account, "user", n) for n in names]
    assert not (plans / f"{C}.plan.journal.jsonl").exists() and not (plans / f"{D}.plan.journal.jsonl").exists()
    assert f"revert --organization --journal {plans} --yes" in cap.out
    assert (tmp_path / "locks" / f"deescalate-{B}.lock").exists()  # the lock is per account

    # A's plan alone (the one file) applies only A, with the caller's own credentials
    assert main(["apply", str(plans / f"{A}.plan.json"), "--yes"]) == 0
    assert "Nothing to do" in capsys.readouterr().out

    assert main(["revert", "--organization", "--journal", str(plans)]) == 0  # a dry run
    assert "Dry run of 2 of 2 account(s)." in capsys.readouterr().out
    assert main(["revert", "--organization", "--journal", str(plans), "--yes"]) == 0
    cap = capsys.readouterr()
    assert "Reverted 2 of 2 account(s)." in cap.out
    assert {k: v.dump() for k, v in org.accounts.items()} == start


def test_a_plan_touching_the_assumed_role_fails_that_account_only(
    org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    b = org.accounts[B]
    who = arn(B, "role", ORG_ROLE)
    d, e = tied(who, 5, "iam:PutRolePolicy", who)
    pp = principal_plan(who, (d,), PolicyPlacement.INLINE, b)
    plans = tmp_path / "plans"
    write_plan_dir({A: account_plan(org.accounts[A], A),
                    B: Plan(account_id=B, snapshot="", snapshot_time=None, principals=(pp,), verified=True,
                            edges=(e,))}, plans)
    assert main(["apply", str(plans), "--organization", "--yes"]) == EXIT_RUNTIME
    cap = capsys.readouterr()
    assert f"account {B}: FAILED: the plan changes the caller's own principal {who}" in cap.err
    assert org.accounts[A].mutations and not b.mutations


def test_credentials_landing_in_another_account_fail_that_account(
    org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    org.accounts[B] = org.accounts[D]  # the "role in B" hands out D's credentials
    plans = tmp_path / "plans"
    write_plan_dir({B: account_plan(stub(B), B)}, plans)
    assert main(["apply", str(plans), "--organization", "--yes"]) == EXIT_RUNTIME
    assert f"the plan is for account {B}, but the credentials are for {D}" in capsys.readouterr().err
    assert not org.accounts[D].mutations


def test_one_file_holding_several_accounts_applies_per_account_with_a_journal_each(
    org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    joined = join_plans([account_plan(org.accounts[A], A), account_plan(org.accounts[B], B, first=10)])
    path = tmp_path / "plan.json"
    write_plan(joined, path)
    assert main(["apply", str(path), "--organization", "--yes", "--role-name", "Fixer"]) == EXIT_RUNTIME
    cap = capsys.readouterr()
    assert org.assumed == [arn(B, "role", "Fixer")]  # B has no role "Fixer": A applied, B failed
    assert f"account {B}: FAILED: sts:AssumeRole RoleArn={arn(B, 'role', 'Fixer')}" in cap.err
    assert (tmp_path / f"plan.{A}.journal.jsonl").is_file() and not (tmp_path / f"plan.{B}.journal.jsonl").exists()
    assert main(["apply", str(path), "--organization", "--yes", "--role-arn-template",
                 "arn:aws:iam::{account}:role/" + ORG_ROLE]) == 0
    cap = capsys.readouterr()
    assert (tmp_path / f"plan.{B}.journal.jsonl").is_file()
    assert f"--journal {tmp_path / f'plan.{B}.journal.jsonl'} --yes --role-arn-template" in cap.out
    assert main(["revert", "--organization", "--journal", str(tmp_path / f"plan.{A}.journal.jsonl"),
                 "--journal", str(tmp_path / f"plan.{B}.journal.jsonl"), "--yes"]) == 0
    assert not org.accounts[A].users["dev"].inline and not org.accounts[B].users["dev"].inline


def test_usage_errors(org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plans = tmp_path / "plans"
    write_plan_dir({A: account_plan(org.accounts[A], A)}, plans)
    assert main(["apply", str(plans)]) == EXIT_USAGE
    assert "apply it with --organization" in capsys.readouterr().err
    assert main(["apply", str(plans / f"{A}.plan.json"), "--role-name", "X"]) == EXIT_USAGE
    assert main(["apply", str(plans), "--organization", "--journal", "j"]) == EXIT_USAGE
    assert main(["revert", "--journal", str(plans)]) == EXIT_USAGE
    assert main(["revert", "--all", "--organization"]) == EXIT_USAGE
    assert "needs --accounts" in capsys.readouterr().err
    assert main(["revert", "--all", "--organization", "--accounts", "12,abc"]) == EXIT_USAGE
    assert main(["revert", "--all", "--accounts", A]) == EXIT_USAGE


def test_revert_all_organization_cleans_each_named_account(
    org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plans = tmp_path / "plans"
    write_plan_dir({A: account_plan(org.accounts[A], A), B: account_plan(org.accounts[B], B, first=10)}, plans)
    start = {k: v.dump() for k, v in org.accounts.items()}
    assert main(["apply", str(plans), "--organization", "--yes"]) == 0
    capsys.readouterr()
    assert main(["revert", "--all", "--organization", "--accounts", f"{A},{B},{C}", "--yes"]) == EXIT_RUNTIME
    cap = capsys.readouterr()
    assert "Reverted 2 of 3 account(s); 1 failed: 333333333333." in cap.out
    assert {k: v.dump() for k, v in org.accounts.items()} == start


def test_run_per_account_records_errors_and_never_raises() -> None:
    a = stub(A, caller=arn(A, "user", "operator"))
    seen: list[str] = []

    def work(account: str, clients: Clients) -> str:
        seen.append(account)
        if account == B:
            raise ApplyError("two\nlines")
        return account

    def connect(base: Clients, role: str) -> Clients:
        if role.split(":")[4] == C:
            raise ClientError({"Error": {"Code": "Boom"}}, "AssumeRole")  # not ours: a bug, raised
        return base

    results = run_per_account([A, B], Clients(iam=a, sts=a), work, caller=arn(A, "user", "operator"),
                              role_arn=role_arn_for, connect_as=connect)
    assert [r.value for r in results] == [A, None] and seen == [A, B]
    assert results[1].error_line() == f"account {B}: FAILED: two (details above)"
    assert orgapply.worst_exit(results) == EXIT_RUNTIME
    with pytest.raises(ClientError):
        run_per_account([C], Clients(iam=a, sts=a), work, caller=arn(A, "user", "operator"),
                        role_arn=role_arn_for, connect_as=connect)


def test_assume_role_builds_clients_for_the_role(monkeypatch: pytest.MonkeyPatch) -> None:
    class Sts:
        def assume_role(self, **kw: Any) -> dict[str, Any]:
            assert kw == {"RoleArn": arn(B, "role", ORG_ROLE), "RoleSessionName": "deescalate"}
            return {"Credentials": {"AccessKeyId": "AKIA", "SecretAccessKey": "s", "SessionToken": "t"}}

    got = aws.assume_role(Clients(iam=None, sts=Sts(), endpoint_url="http://127.0.0.1:1"),
                          arn(B, "role", ORG_ROLE), session_name="deescalate")
    assert got.endpoint_url == "http://127.0.0.1:1"
    assert got.iam.meta.endpoint_url == "http://127.0.0.1:1"
    assert got.iam._request_signer._credentials.access_key == "AKIA"

    class Empty:
        def assume_role(self, **kw: Any) -> dict[str, Any]:
            return {}

    with pytest.raises(ApplyError, match="holds no credentials"):
        aws.assume_role(Clients(iam=None, sts=Empty()), arn(B, "role", ORG_ROLE), session_name="deescalate")


def test_plan_to_json_of_a_split_plan_names_one_account() -> None:
    a = stub(A)
    part = split_plan(join_plans([account_plan(a, A)]))[A]
    assert plan_to_json(part)["account_id"] == A


def test_revert_organization_refuses_a_forged_journal_and_reverts_the_others(
    org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plans = tmp_path / "plans"
    write_plan_dir({A: account_plan(org.accounts[A], A), B: account_plan(org.accounts[B], B, first=10)}, plans)
    start = {k: v.dump() for k, v in org.accounts.items()}
    assert main(["apply", str(plans), "--organization", "--yes"]) == 0
    applied_b = org.accounts[B].dump()
    # B's journal gains a line apply never writes: attach AdministratorAccess to B's dev on "undo"
    journal = plans / f"{B}.plan.journal.jsonl"
    lines = [json.loads(x) for x in journal.read_text().splitlines()]
    forged = json.loads(json.dumps(lines[0]))
    forged["seq"] = max(x["seq"] for x in lines) + 1
    forged["call"]["undo"] = [{"api": "AttachUserPolicy", "note": "", "principal": "", "undo": [],
                               "params": {"UserName": "dev",
                                          "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}}]
    journal.write_text(journal.read_text() + json.dumps(forged) + "\n")
    capsys.readouterr()
    mutations_b = len(org.accounts[B].mutations)
    assert main(["revert", "--organization", "--journal", str(plans), "--yes"]) == EXIT_RUNTIME
    cap = capsys.readouterr()
    assert f"{journal}" in cap.err and "1 journal(s) refused" in cap.out
    assert "Reverted 1 of 1 account(s)." in cap.out
    assert org.accounts[A].dump() == start[A]  # A reverted
    assert org.accounts[B].dump() == applied_b and len(org.accounts[B].mutations) == mutations_b  # B untouched
