"""apply / revert against a real moto server, with plans built by hand (independent of the analysis)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import remediate_cases as cases
from apply_helpers import FailingIAM, iam_dump

from deescalate.cli import main
from deescalate.errors import ApplyError
from deescalate.model import Deny, Plan, PolicyPlacement, PrincipalPlan
from deescalate.remediate.apply import execute, prepare
from deescalate.remediate.aws import Clients, connect
from deescalate.remediate.journal import Api, Call, Journal, read_journal, records
from deescalate.remediate.planfile import write_plan
from deescalate.remediate.quotas import render_document
from deescalate.remediate.revert import execute_reverts, revert_calls

pytestmark = pytest.mark.e2e
ACCT = "123456789012"
ALLOW_ALL_IAM = json.dumps({"Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]})


def seed(url: str) -> Clients:
    clients = connect(endpoint_url=url)
    iam = clients.iam
    iam.create_user(UserName="alice")
    iam.put_user_policy(UserName="alice", PolicyName="dev", PolicyDocument=ALLOW_ALL_IAM)
    iam.create_user(UserName="bob")
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))
    iam.attach_role_policy(RoleName="app", PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    return clients


def deny(principal: str, n: int, action: str, resource: str, apply: bool = True) -> Deny:
    return Deny(id=f"d{n}", principal=principal, action=action, resource=resource, cuts=("e",),
                techniques=("iam-005",), why="test", apply=apply)


def hand_plan(clients: Clients, placements: dict[str, str]) -> Plan:
    return cases.hand_plan(clients.iam, {arn: PolicyPlacement(p) for arn, p in placements.items()})


ALICE = f"arn:aws:iam::{ACCT}:user/alice"
BOB = f"arn:aws:iam::{ACCT}:user/bob"
APP = f"arn:aws:iam::{ACCT}:role/app"


def test_apply_is_idempotent_and_revert_restores_exactly(moto_endpoint: str, tmp_path: Path) -> None:
    clients = seed(moto_endpoint)
    before = iam_dump(clients.iam)
    plan = hand_plan(clients, {ALICE: "inline", BOB: "managed", APP: "inline"})
    prepared = prepare(plan, clients)
    apis = [c.api for c in prepared.calls]
    assert apis == ["PutRolePolicy", "PutUserPolicy", "CreatePolicy", "AttachUserPolicy"]  # by ARN
    journal = Journal(tmp_path / "j.jsonl")
    execute(prepared, clients.iam, journal)
    after = iam_dump(clients.iam)
    alice_plan = next(p for p in plan.principals if p.principal == ALICE)
    assert after["users"]["alice"]["inline"]["deescalate-deny"] == render_document(alice_plan.denies)
    assert f"arn:aws:iam::{ACCT}:policy/deescalate-deny-user-bob" in after["users"]["bob"]["attached"]
    assert after["users"]["alice"]["inline"]["dev"] == before["users"]["alice"]["inline"]["dev"]
    # second apply: nothing to do
    assert prepare(plan, clients).calls == ()
    # revert from the journal
    result = execute_reverts(clients.iam, revert_calls(records(read_journal(journal.path))), journal=journal)
    assert result.errors == ()
    assert iam_dump(clients.iam) == before
    # reverting again is a no-op: every entry is marked reverted
    assert revert_calls(records(read_journal(journal.path))) == []


@pytest.mark.parametrize("fail_at", [1, 2, 3, 4])
def test_interrupted_apply_then_revert_leaves_the_account_as_it_started(
    moto_endpoint: str, tmp_path: Path, fail_at: int
) -> None:
    clients = seed(moto_endpoint)
    before = iam_dump(clients.iam)
    plan = hand_plan(clients, {ALICE: "inline", BOB: "managed", APP: "inline"})
    prepared = prepare(plan, clients)
    journal = Journal(tmp_path / "j.jsonl")
    with pytest.raises(ApplyError, match="journal"):
        execute(prepared, FailingIAM(clients.iam, fail_at), journal)
    recs = records(read_journal(journal.path))
    assert [r.status for r in recs] == ["done"] * (fail_at - 1) + ["failed"]
    if fail_at > 1:
        assert iam_dump(clients.iam) != before
    execute_reverts(clients.iam, revert_calls(recs), journal=journal)
    assert iam_dump(clients.iam) == before


def test_refuses_stale_plan_own_principal_and_foreign_policy(moto_endpoint: str) -> None:
    clients = seed(moto_endpoint)
    plan = hand_plan(clients, {ALICE: "inline"})
    clients.iam.attach_user_policy(UserName="alice", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    with pytest.raises(ApplyError, match=r"changed since the snapshot:\n.*\+ managed arn:aws:iam::aws:policy/ReadOnlyAccess"):
        prepare(plan, clients)
    clients.iam.detach_user_policy(UserName="alice", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    # moto's caller identity is user "moto": a plan touching it is refused before any call
    clients.iam.create_user(UserName="moto")
    own = hand_plan(clients, {f"arn:aws:iam::{ACCT}:user/moto": "inline"})
    with pytest.raises(ApplyError, match="caller's own principal"):
        prepare(own, clients)
    # a deescalate-deny policy someone else wrote (an Allow) is never overwritten
    clients.iam.put_user_policy(UserName="bob", PolicyName="deescalate-deny", PolicyDocument=ALLOW_ALL_IAM)
    with pytest.raises(ApplyError, match="did not write"):
        prepare(hand_plan(clients, {BOB: "inline"}), clients)


def test_switching_a_deny_off_rewrites_then_removes_only_our_policy(moto_endpoint: str, tmp_path: Path) -> None:
    clients = seed(moto_endpoint)
    before = iam_dump(clients.iam)
    plan = hand_plan(clients, {BOB: "managed"})
    journal = Journal(tmp_path / "j.jsonl")
    execute(prepare(plan, clients), clients.iam, journal)
    (pp,) = plan.principals
    one_off = Plan(account_id=ACCT, snapshot="hand", snapshot_time=None, principals=(
        PrincipalPlan(principal=BOB, denies=(pp.denies[0], Deny(**{**{f: getattr(pp.denies[1], f) for f in (
            "id", "principal", "action", "resource", "cuts", "techniques", "why")}, "apply": False})),
            placement=PolicyPlacement.MANAGED, policy_name=pp.policy_name, state=pp.state,
            document=json.dumps(render_document((pp.denies[0],)))),), edges=plan.edges)
    prepared = prepare(one_off, clients)
    assert [c.api for c in prepared.calls] == ["CreatePolicyVersion"]
    execute(prepared, clients.iam, journal)
    assert iam_dump(clients.iam)["policies"]["deescalate-deny-user-bob"]["versions"] == 2
    execute_reverts(clients.iam, revert_calls(records(read_journal(journal.path))), journal=journal)
    assert iam_dump(clients.iam) == before


def test_cli_dry_run_apply_and_revert_all_across_pages(moto_endpoint: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    clients = seed(moto_endpoint)
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    before = iam_dump(iam)
    plan = hand_plan(clients, {ALICE: "inline", APP: "inline", BOB: "managed"})
    plan_path = tmp_path / "plan.json"
    write_plan(plan, plan_path)
    assert main(["apply", str(plan_path), "--endpoint-url", moto_endpoint]) == 0
    out = capsys.readouterr().out
    assert "Dry run: 4 call(s)" in out and "iam:PutUserPolicy UserName=alice PolicyName=deescalate-deny" in out
    assert '"Effect": "Deny"' in out
    assert iam_dump(iam) == before  # dry run changed nothing
    assert main(["apply", str(plan_path), "--yes", "--endpoint-url", moto_endpoint]) == 0
    assert (tmp_path / "plan.journal.jsonl").exists()
    assert main(["apply", str(plan_path), "--yes", "--endpoint-url", moto_endpoint]) == 0
    assert "Nothing to do" in capsys.readouterr().out
    # 105 more users carrying a deescalate- policy: more than one page of ListUsers (100 a page)
    for i in range(105):
        iam.create_user(UserName=f"u{i:03d}")
        iam.put_user_policy(UserName=f"u{i:03d}", PolicyName="deescalate-deny",
                            PolicyDocument=json.dumps(render_document([deny(f"u{i}", 0, "iam:X", "*")])))
    # a group policy under our prefix that deescalate did not write: reported, left alone
    iam.create_group(GroupName="ops")
    iam.put_group_policy(GroupName="ops", PolicyName="deescalate-notours", PolicyDocument=ALLOW_ALL_IAM)
    assert main(["revert", "--all", "--endpoint-url", moto_endpoint]) == 0
    dry = capsys.readouterr()
    assert "Dry run: 108 undo call(s)" in dry.out  # 105 + alice + app + bob's managed; not ops' look-alike
    assert "deescalate-notours" in dry.err and "left alone" in dry.err
    assert main(["revert", "--all", "--yes", "--endpoint-url", moto_endpoint]) == 0
    captured = capsys.readouterr()
    assert "deescalate-notours" in captured.err and "left alone" in captured.err
    assert iam.list_group_policies(GroupName="ops")["PolicyNames"] == ["deescalate-notours"]
    iam.delete_group_policy(GroupName="ops", PolicyName="deescalate-notours")
    iam.delete_group(GroupName="ops")
    after = iam_dump(iam)
    assert all(not u["inline"] for name, u in after["users"].items() if name.startswith("u"))
    for name in ("u000", "u104"):
        iam.delete_user(UserName=name)
    after = iam_dump(iam)
    after["users"] = {k: v for k, v in after["users"].items() if not k.startswith("u")}
    assert after == before
    assert main(["revert", "--endpoint-url", moto_endpoint]) == 2  # needs --journal or --all


def test_apply_refuses_a_plan_edited_after_its_check(moto_endpoint: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    clients = seed(moto_endpoint)
    plan_path = tmp_path / "plan.json"
    write_plan(hand_plan(clients, {ALICE: "inline"}), plan_path)
    raw = json.loads(plan_path.read_text())
    raw["principals"][0]["denies"][0]["apply"] = False
    plan_path.write_text(json.dumps(raw))
    assert main(["apply", str(plan_path), "--yes", "--endpoint-url", moto_endpoint]) == 2
    assert "edited after it was checked" in capsys.readouterr().err
    assert "deescalate-deny" not in clients.iam.list_user_policies(UserName="alice")["PolicyNames"]


def test_unreachable_endpoint_and_bad_profile_are_runtime_errors(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    plan_path = tmp_path / "plan.json"
    write_plan(Plan(account_id=ACCT, snapshot="hand", snapshot_time=None, principals=()), plan_path)
    assert main(["apply", str(plan_path), "--endpoint-url", "http://127.0.0.1:9"]) == 3
    err = capsys.readouterr().err
    assert "sts:GetCallerIdentity" in err and "Traceback" not in err
    assert main(["apply", str(plan_path), "--profile", "no-such-profile-h4"]) == 3
    assert "cannot set up AWS clients (profile no-such-profile-h4)" in capsys.readouterr().err
    assert main(["revert", "--all", "--endpoint-url", "not a url"]) == 3


def test_revert_refuses_a_journal_of_another_account(moto_endpoint: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    alice = "arn:aws:iam::999999999999:user/alice"
    seq = journal.pending(Call(api=Api.PUT_USER_POLICY, params={
        "UserName": "alice", "PolicyName": "deescalate-deny",
        "PolicyDocument": json.dumps(render_document([deny(alice, 1, "iam:PassRole", "*")]))},
        principal=alice, undo=(Call(api=Api.DELETE_USER_POLICY,
                                    params={"UserName": "alice", "PolicyName": "deescalate-deny"}),)))
    journal.done(seq)
    assert main(["revert", "--journal", str(journal.path), "--yes", "--endpoint-url", moto_endpoint]) == 3
    assert "account(s) 999999999999" in capsys.readouterr().err


def test_a_plan_over_several_accounts_changes_only_the_callers_account(moto_endpoint: str) -> None:
    """`plan a.json b.json` holds principals of both accounts: apply with A's credentials changes
    A's principals and notes B's as skipped; a plan with nothing of the caller's account is refused."""
    clients = seed(moto_endpoint)
    plan = hand_plan(clients, {ALICE: "inline"})
    foreign = "arn:aws:iam::444444444444:user/alice"  # same name, another account
    other = PrincipalPlan(principal=foreign, denies=(deny(foreign, 9, "iam:PutUserPolicy", foreign),),
                          placement="inline", policy_name="deescalate-deny",
                          document=json.dumps(render_document((deny(foreign, 9, "iam:PutUserPolicy", foreign),))))
    mixed = Plan(account_id=ACCT, snapshot="a, b", snapshot_time=None,
                 principals=(*plan.principals, other), verified=True)
    prepared = prepare(mixed, clients)
    assert {c.principal for c in prepared.calls} == {ALICE}
    assert any(n.startswith(f"{foreign}: skipped, in account 444444444444") for n in prepared.notes)
    elsewhere = Plan(account_id="444444444444", snapshot="b", snapshot_time=None, principals=(other,),
                     verified=True)
    with pytest.raises(ApplyError, match=f"the plan is for account 444444444444, but the credentials are for {ACCT}"):
        prepare(elsewhere, clients)
