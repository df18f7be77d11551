"""revert with a stubbed IAM/STS: --all removes only what deescalate wrote, reports look-alikes, and every
undo re-checks its live target ("ok", "already absent", or refused)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from remediate_cases import ACCT, hand_plan, user
from stub_iam import StubIAM

from deescalate.cli import main
from deescalate.commands import revert_cmd
from deescalate.model import Deny, PolicyPlacement
from deescalate.remediate.apply import apply_plan
from deescalate.remediate.aws import Clients
from deescalate.remediate.journal import Api, Call
from deescalate.remediate.quotas import render_document
from deescalate.remediate.revert import UndoOutcome, run_undo, scan_own_policies

LOOKALIKE = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "Deescalate1", "Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}]})
OURS = json.dumps(render_document([Deny(id="d", principal="p", action="iam:PassRole", resource="*", cuts=(),
                                        techniques=(), why="")]))


def account() -> StubIAM:
    iam = StubIAM()
    for name in ("alice", "bob", "operator"):
        iam.add("user", name)
    iam.add("role", "app")
    iam.add("group", "ops")
    return iam


def test_revert_all_touches_only_what_deescalate_wrote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    iam = account()
    monkeypatch.setattr(revert_cmd, "connect", lambda **_: Clients(iam=iam, sts=iam))
    monkeypatch.setattr(revert_cmd, "lock_dir", lambda: tmp_path)
    # only look-alikes: a Deescalate-Sid deny without our seal, an Allow under our prefix, a managed one
    iam.put_user_policy(UserName="alice", PolicyName="deescalate-deny", PolicyDocument=LOOKALIKE)
    iam.put_group_policy(GroupName="ops", PolicyName="deescalate-notours", PolicyDocument=LOOKALIKE)
    iam.create_policy(PolicyName="deescalate-deny-user-bob", PolicyDocument=LOOKALIKE)
    scan = scan_own_policies(iam)
    assert scan.calls == () and len(scan.foreign) == 3
    before = iam.dump()
    assert main(["revert", "--all", "--yes"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("deescalate did not write it; left alone") == 3
    assert "Nothing to revert." in captured.out and iam.dump() == before
    # with one policy of ours too: it alone is removed, still exit 0
    apply_plan(hand_plan(iam, {user("operator").replace("operator", "bob"): PolicyPlacement.INLINE}),
               Clients(iam=iam, sts=iam), journal_path=tmp_path / "j", lock_dir=tmp_path)
    assert "deescalate-deny" in iam.users["bob"].inline
    assert main(["revert", "--all", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "DeleteUserPolicy UserName=bob PolicyName=deescalate-deny  ok" in out
    assert "deescalate-deny" not in iam.users["bob"].inline and iam.dump() == before


def test_each_undo_rechecks_its_live_target() -> None:
    iam = account()
    put_back = Call(api=Api.PUT_USER_POLICY, principal=user("alice"),
                    params={"UserName": "alice", "PolicyName": "deescalate-deny", "PolicyDocument": OURS})
    delete = Call(api=Api.DELETE_USER_POLICY, principal=user("alice"),
                  params={"UserName": "alice", "PolicyName": "deescalate-deny"})
    assert run_undo(iam, delete) is UndoOutcome.ALREADY_ABSENT
    assert run_undo(iam, put_back) is UndoOutcome.DONE
    assert run_undo(iam, delete) is UndoOutcome.DONE
    iam.put_user_policy(UserName="alice", PolicyName="deescalate-deny", PolicyDocument=LOOKALIKE)
    from deescalate.errors import ApplyError
    with pytest.raises(ApplyError, match="not one deescalate wrote"):
        run_undo(iam, delete)
    with pytest.raises(ApplyError, match="not one deescalate wrote"):
        run_undo(iam, put_back)  # never overwrites a look-alike either
    with pytest.raises(ApplyError, match="caller's own principal"):
        run_undo(iam, put_back, caller=user("alice"))
    managed = f"arn:aws:iam::{ACCT}:policy/deescalate-deny-user-bob"
    gone = Call(api=Api.DELETE_OWN_MANAGED_POLICY, params={"PolicyArn": managed})
    assert run_undo(iam, gone) is UndoOutcome.ALREADY_ABSENT
    detach = Call(api=Api.DETACH_USER_POLICY, principal=user("bob"), params={"UserName": "bob", "PolicyArn": managed})
    assert run_undo(iam, detach) is UndoOutcome.ALREADY_ABSENT


def test_a_journal_of_another_account_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    iam = account()
    apply_plan(hand_plan(iam, {user("alice"): PolicyPlacement.INLINE}), Clients(iam=iam, sts=iam),
               journal_path=tmp_path / "j", lock_dir=tmp_path)
    other = StubIAM(caller="arn:aws:iam::999999999999:user/x")
    monkeypatch.setattr(revert_cmd, "connect", lambda **_: Clients(iam=other, sts=other))
    monkeypatch.setattr(revert_cmd, "lock_dir", lambda: tmp_path)
    assert main(["revert", "--journal", str(tmp_path / "j"), "--yes"]) == 3
    assert f"account(s) {ACCT}" in capsys.readouterr().err and other.mutations == []


def test_an_endpoint_answering_html_is_one_line_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    import http.server
    import threading

    class Html(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html><body>proxy login</body></html>")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Html)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert main(["revert", "--all", "--endpoint-url", url]) == 3
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "not an AWS response" in err and "internal error" not in err
    finally:
        server.shutdown()
