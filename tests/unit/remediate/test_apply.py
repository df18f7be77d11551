"""apply with a stubbed IAM/STS (stub_iam.py): the library's checks, each tampered plan refused before any
call, manual denies, the caller never locked out, concurrent applies serialised by the locks."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from remediate_cases import ACCT, hand_plan, principal_plan, role, tied, user
from stub_iam import StubIAM

from deescalate.cli import main
from deescalate.commands import apply_cmd
from deescalate.errors import ApplyError, PlanError
from deescalate.model import Deny, Plan, PolicyPlacement
from deescalate.remediate.apply import Prepared, apply_plan, execute, prepare
from deescalate.remediate.aws import Clients
from deescalate.remediate.journal import Api, Call, Journal, JournalError, load_journal
from deescalate.remediate.lock import locked
from deescalate.remediate.planfile import plan_to_json, read_checked_plan, write_plan
from deescalate.remediate.revert import revert_journal
from deescalate.remediate.safety import vet_plan

INLINE, MANAGED = PolicyPlacement.INLINE, PolicyPlacement.MANAGED


def account() -> StubIAM:
    iam = StubIAM()
    for name in ("alice", "bob", "admin", "operator"):
        iam.add("user", name)
    iam.add("role", "app")
    iam.add("role", "ops")
    iam.add("group", "ops")
    return iam


def clients(iam: StubIAM) -> Clients:
    return Clients(iam=iam, sts=iam)


def test_apply_then_revert_restores_exactly_and_a_second_apply_is_a_no_op(tmp_path: Path) -> None:
    iam = account()
    before = iam.dump()
    plan = hand_plan(iam, {user("alice"): INLINE, user("bob"): MANAGED, role("app"): INLINE})
    journal = tmp_path / "j.jsonl"
    applied = apply_plan(plan, clients(iam), journal_path=journal, lock_dir=tmp_path)
    assert [c.api for c in applied.prepared.calls] == [
        Api.PUT_ROLE_POLICY, Api.PUT_USER_POLICY, Api.CREATE_POLICY, Api.ATTACH_USER_POLICY]
    assert applied.made == 4 and iam.dump() != before
    assert prepare(plan, clients(iam)).calls == ()
    result = revert_journal(journal, clients(iam), lock_dir=tmp_path)
    assert result.errors == () and result.made == 4 and result.absent == 0
    assert iam.dump() == before
    again = revert_journal(journal, clients(iam), lock_dir=tmp_path)
    assert again.made == again.absent == 0


def test_revert_says_already_absent_for_a_policy_removed_by_hand(tmp_path: Path) -> None:
    iam = account()
    plan = hand_plan(iam, {user("alice"): INLINE})
    apply_plan(plan, clients(iam), journal_path=tmp_path / "j.jsonl", lock_dir=tmp_path)
    iam.delete_user_policy(UserName="alice", PolicyName="deescalate-deny")
    seen: list[str] = []
    result = revert_journal(tmp_path / "j.jsonl", clients(iam), lock_dir=tmp_path,
                            progress=lambda n, total, call, status: seen.append(status))
    assert seen == ["already absent"] and result.made == 0 and result.absent == 1


def _edit_principal(plan: Plan, **changes: Any) -> Plan:
    (pp,) = plan.principals
    return replace(plan, principals=(replace(pp, **changes),))


def _consistent(plan: Plan, denies: tuple[Deny, ...], edges: tuple[Any, ...] = ()) -> Plan:
    """Denies and recorded document edited together (what fooled the old guard)."""
    (pp,) = plan.principals
    from deescalate.remediate.quotas import render_document
    return replace(plan, edges=plan.edges + edges, principals=(
        replace(pp, denies=denies, document=json.dumps(render_document(denies))),))


TAMPERED = {
    "a policy named ProdAccess": lambda p, iam: _edit_principal(p, policy_name="ProdAccess"),
    "a managed policy of another name": lambda p, iam: _edit_principal(p, placement=MANAGED,
                                                                       policy_name="deescalate-x"),
    "a group principal": lambda p, iam: replace(p, principals=(
        principal_plan(f"arn:aws:iam::{ACCT}:group/ops",
                       (tied(f"arn:aws:iam::{ACCT}:group/ops", 1, "iam:PassRole", "*")[0],), INLINE, iam),)),
    "placement none with denies on": lambda p, iam: _edit_principal(p, placement=PolicyPlacement.NONE),
    "placement a bare string": lambda p, iam: _edit_principal(p, placement="bogus"),
    "a malformed state line": lambda p, iam: _edit_principal(p, state=("inline x; rm -rf",)),
    "the document edited alone": lambda p, iam: _edit_principal(p, document=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})),
    "a deny switched off without a check": lambda p, iam: _edit_principal(p, denies=tuple(
        replace(d, apply=False) for d in p.principals[0].denies)),
    "a deny action that is no action": lambda p, iam: _consistent(p, (replace(p.principals[0].denies[0],
                                                                              action="*"),)),
    "a repeated principal": lambda p, iam: replace(p, principals=p.principals * 2),
    "a bad account id": lambda p, iam: replace(p, account_id="12345"),
}


@pytest.mark.parametrize("attack", sorted(TAMPERED))
def test_each_tampered_plan_is_refused_before_any_call(attack: str, tmp_path: Path) -> None:
    iam = account()
    plan = TAMPERED[attack](hand_plan(iam, {user("alice"): INLINE}), iam)
    calls = len(iam.calls)
    with pytest.raises(PlanError):
        vet_plan(plan)
    with pytest.raises(PlanError):
        prepare(plan, clients(iam))
    with pytest.raises(PlanError):
        apply_plan(plan, clients(iam), journal_path=tmp_path / "j.jsonl", lock_dir=tmp_path)
    assert len(iam.calls) == calls and not (tmp_path / "j.jsonl").exists()


def test_a_consistent_edit_of_the_file_is_refused_by_its_digest(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    iam = account()
    path = tmp_path / "plan.json"
    write_plan(hand_plan(iam, {user("alice"): INLINE}), path)
    assert path.stat().st_mode & 0o777 == 0o600
    read_checked_plan(path)
    raw = json.loads(path.read_text())
    # Deny * on the admin, edited consistently: deny, document, cuts, edges all agree
    deny, edge = tied(user("admin"), 9, "iam:PassRole", "*")
    forged = _consistent(hand_plan(iam, {user("admin"): INLINE}), (deny,), (edge,))
    body = plan_to_json(forged)
    body["digest"] = raw["digest"]
    path.write_text(json.dumps(body))
    with pytest.raises(PlanError, match="edited after it was checked"):
        read_checked_plan(path)
    calls = len(iam.calls)
    assert main(["apply", str(path), "--yes"]) == 2
    assert "edited after it was checked" in capsys.readouterr().err and len(iam.calls) == calls


def test_a_principal_of_another_account_is_never_written(tmp_path: Path) -> None:
    iam = account()
    plan = hand_plan(iam, {user("alice"): INLINE})
    other = replace(plan, principals=tuple(
        replace(pp, principal=pp.principal.replace(ACCT, "999999999999"),
                denies=tuple(replace(d, principal=d.principal.replace(ACCT, "999999999999")) for d in pp.denies))
        for pp in plan.principals))
    prepared = prepare(other, clients(iam))  # a plan over several accounts: only the caller's is changed
    assert prepared.calls == () and "skipped, in account 999999999999" in prepared.notes[0]
    only_other = replace(other, account_id="999999999999")
    with pytest.raises(ApplyError, match="credentials are for 123456789012"):
        prepare(only_other, clients(iam))
    assert iam.mutations == []


def test_a_plan_naming_a_user_that_is_a_role_live_is_stale(tmp_path: Path) -> None:
    iam = account()
    plan = hand_plan(iam, {user("alice"): INLINE})
    plan = replace(plan, principals=tuple(replace(pp, principal=user("app"), denies=tuple(
        replace(d, principal=user("app")) for d in pp.denies)) for pp in plan.principals))
    with pytest.raises(ApplyError, match="no longer exists"):
        prepare(plan, clients(iam))
    iam.add("user", "eve", path="/eng/")
    with pytest.raises(ApplyError, match="no longer exists"):  # user/eve is live as user/eng/eve
        prepare(hand_plan(iam, {user("eve"): INLINE}), clients(iam))
    assert iam.mutations == []


def test_a_hand_written_deny_needs_allow_manual(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    iam = account()
    plan = hand_plan(iam, {user("alice"): INLINE})
    (pp,) = plan.principals
    hand = Deny(id="d99", principal=pp.principal, action="s3:GetObject", resource="*", cuts=(), techniques=(),
                why="by hand")
    plan = _consistent(plan, (*pp.denies, hand))
    assert [m.deny.id for m in vet_plan(plan).manual] == ["d99"]
    prepared = prepare(plan, clients(iam))
    with pytest.raises(ApplyError, match="--allow-manual"):
        execute(prepared, iam, Journal(tmp_path / "j.jsonl"))
    assert iam.mutations == []
    path = tmp_path / "plan.json"
    write_plan(plan, path)
    monkeypatch.setattr(apply_cmd, "connect", lambda **_: clients(iam))
    monkeypatch.setattr(apply_cmd, "lock_dir", lambda: tmp_path)
    assert main(["apply", str(path)]) == 0
    out = capsys.readouterr().out
    assert "[MANUAL deny]" in out and "d99 deny s3:GetObject on * for" in out and "only with --allow-manual" in out
    assert main(["apply", str(path), "--yes"]) == 3
    assert "--allow-manual" in capsys.readouterr().err and iam.mutations == []
    assert main(["apply", str(path), "--yes", "--allow-manual"]) == 0
    assert "deescalate-deny" in iam.users["alice"].inline


def test_no_deny_can_lock_out_the_caller(tmp_path: Path) -> None:
    iam = account()
    with pytest.raises(ApplyError, match="caller's own principal"):
        prepare(hand_plan(iam, {user("operator"): INLINE}), clients(iam))
    iam.caller = f"arn:aws:sts::{ACCT}:assumed-role/ops/session-1"
    with pytest.raises(ApplyError, match="caller's own principal"):
        prepare(hand_plan(iam, {role("ops"): INLINE}), clients(iam))
    # bob's managed deny is also attached (by someone) to the caller's group: a new version is refused
    iam.caller = user("operator")
    apply_plan(hand_plan(iam, {user("bob"): MANAGED}), clients(iam), journal_path=tmp_path / "j", lock_dir=tmp_path)
    iam.users["operator"].groups.append("ops")
    iam.groups["ops"].attached.append(f"arn:aws:iam::{ACCT}:policy/deescalate-deny-user-bob")
    bob = hand_plan(iam, {user("bob"): MANAGED})
    (pp,) = bob.principals
    fewer = _consistent(bob, pp.denies[:1])
    mutations = len(iam.mutations)
    with pytest.raises(ApplyError, match="also attached to the caller"):
        prepare(fewer, clients(iam))
    # a hand-made Prepared cannot smuggle a write on the caller past execute
    sneaky = Prepared(calls=(Call(api=Api.PUT_USER_POLICY, principal=user("operator"), params={
        "UserName": "operator", "PolicyName": "deescalate-deny",
        "PolicyDocument": pp.document}, undo=(Call(api=Api.DELETE_USER_POLICY, params={
            "UserName": "operator", "PolicyName": "deescalate-deny"}),)),), notes=(), caller=user("operator"))
    with pytest.raises(ApplyError, match="caller's own principal"):
        execute(sneaky, iam, Journal(tmp_path / "j2"))
    bad = replace(sneaky, calls=(replace(sneaky.calls[0], params={**sneaky.calls[0].params,
                                                                   "PolicyName": "ProdAccess"}),))
    with pytest.raises(JournalError, match="deescalate-"):
        execute(bad, iam, Journal(tmp_path / "j3"))
    assert len(iam.mutations) == mutations


class SlowIAM(StubIAM):
    """Each write takes a while, so two unserialised applies would interleave."""

    def put_user_policy(self, **kw: Any) -> dict[str, Any]:
        time.sleep(0.05)
        return super().put_user_policy(**kw)


def test_concurrent_applies_on_one_journal_are_serialised(tmp_path: Path) -> None:
    iam = SlowIAM()
    for name in ("alice", "bob", "carol", "dave", "operator"):
        iam.add("user", name)
    iam.add("role", "app")
    before = iam.dump()
    journal = tmp_path / "shared.jsonl"
    plans = [hand_plan(iam, {user("alice"): INLINE, user("bob"): INLINE}),
             hand_plan(iam, {user("carol"): INLINE, user("dave"): INLINE})]
    errors: list[BaseException] = []

    def run(plan: Plan) -> None:
        try:
            apply_plan(plan, clients(iam), journal_path=journal, lock_dir=tmp_path / "locks")
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(p,)) for p in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    recs = load_journal(journal)
    assert [r.seq for r in recs] == [1, 2, 3, 4]  # no sequence number reused, no undo record lost
    result = revert_journal(journal, clients(iam), lock_dir=tmp_path / "locks")
    assert result.errors == () and result.made == 4
    assert iam.dump() == before


def test_a_second_apply_waits_then_refuses_while_the_lock_is_held(tmp_path: Path) -> None:
    iam = account()
    plan = hand_plan(iam, {user("alice"): INLINE})
    with locked(journal=None, account_id=ACCT, lock_dir=tmp_path, timeout=1):
        started = time.monotonic()
        with pytest.raises(ApplyError, match="another deescalate apply or revert holds"):
            apply_plan(plan, clients(iam), journal_path=tmp_path / "j.jsonl", lock_dir=tmp_path,
                       lock_timeout=0.3)
        assert time.monotonic() - started >= 0.3
    assert iam.mutations == []
    apply_plan(plan, clients(iam), journal_path=tmp_path / "j.jsonl", lock_dir=tmp_path)
    assert "deescalate-deny" in iam.users["alice"].inline
