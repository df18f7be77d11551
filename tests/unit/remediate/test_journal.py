"""The journal: written before each call, folded into records, and refused whole when forged.

Every forged journal below is one a real apply wrote, then edited the way an attacker would; each
must be refused by `load_journal` and by `revert --journal --yes` (exit 3) with no IAM call made.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from remediate_cases import hand_plan, user
from stub_iam import StubIAM

from deescalate.cli import main
from deescalate.commands import revert_cmd
from deescalate.model import Deny, PolicyPlacement
from deescalate.remediate.apply import execute, prepare
from deescalate.remediate.aws import Clients
from deescalate.remediate.journal import (
    Api,
    Call,
    CallStatus,
    Journal,
    JournalError,
    load_journal,
    read_journal,
    records,
)
from deescalate.remediate.quotas import render_document

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
OWN_DOC = json.dumps(render_document([Deny(id="x", principal="p", action="iam:X", resource="*", cuts=(),
                                           techniques=(), why="")]))


def applied(tmp_path: Path) -> tuple[StubIAM, Path]:
    """A stub account where apply ran: alice (inline) and bob (managed), journalled."""
    iam = StubIAM()
    for name in ("alice", "bob", "admin"):
        iam.add("user", name)
    iam.add("role", "app")
    iam.users["admin"].attached.append(ADMIN)
    plan = hand_plan(iam, {user("alice"): PolicyPlacement.INLINE, user("bob"): PolicyPlacement.MANAGED})
    clients = Clients(iam=iam, sts=iam)
    path = tmp_path / "j.jsonl"
    execute(prepare(plan, clients), iam, Journal(path))
    return iam, path


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def write(path: Path, entries: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))


def test_a_real_journal_folds_and_tolerates_a_cut_off_last_line(tmp_path: Path) -> None:
    _, path = applied(tmp_path)
    recs = load_journal(path)
    assert [(r.seq, r.call.api, r.status) for r in recs] == [
        (1, Api.PUT_USER_POLICY, CallStatus.DONE),
        (2, Api.CREATE_POLICY, CallStatus.DONE),
        (3, Api.ATTACH_USER_POLICY, CallStatus.DONE),
    ]
    assert recs[0].call.undo[0].api is Api.DELETE_USER_POLICY
    assert path.stat().st_mode & 0o777 == 0o600
    with path.open("a") as f:
        f.write('{"seq": 4, "event": "pend')  # the process died mid-line
    assert len(load_journal(path)) == 3
    assert Journal(path).pending(recs[0].call) == 4  # numbering continues after the cut-off line


def _undo(entries: list[dict[str, Any]], seq: int) -> dict[str, Any]:
    return next(e for e in entries if e["seq"] == seq and e["event"] == "pending")["call"]["undo"][0]


def _pending(entries: list[dict[str, Any]], seq: int) -> dict[str, Any]:
    return next(e for e in entries if e["seq"] == seq and e["event"] == "pending")


FORGERIES: dict[str, Callable[[list[dict[str, Any]]], None]] = {
    # the attacks of issue 13, each hidden in an undo (what revert executes)
    "attach an admin policy": lambda es: _undo(es, 3).update(
        api="AttachUserPolicy", params={"UserName": "alice", "PolicyArn": ADMIN}),
    "put an Allow * policy": lambda es: _undo(es, 1).update(
        api="PutUserPolicy", params={"UserName": "alice", "PolicyName": "deescalate-deny",
                                     "PolicyDocument": ALLOW_ALL}),
    "detach AdministratorAccess from an admin": lambda es: _undo(es, 3).update(
        params={"UserName": "admin", "PolicyArn": ADMIN}),
    "create an access key": lambda es: _undo(es, 1).update(api="CreateAccessKey", params={"UserName": "admin"}),
    "overwrite a policy the tool never wrote": lambda es: _undo(es, 1).update(
        api="PutUserPolicy", params={"UserName": "alice", "PolicyName": "prod", "PolicyDocument": OWN_DOC}),
    "undo on another principal": lambda es: _undo(es, 1).update(
        params={"UserName": "admin", "PolicyName": "deescalate-deny"}),
    "a call apply never makes": lambda es: _pending(es, 1)["call"].update(api="DeleteUser"),
    "a group principal": lambda es: (_pending(es, 1).update(principal="arn:aws:iam::123456789012:group/alice"),
                                     _pending(es, 1)["call"].update(principal="arn:aws:iam::123456789012:group/alice")),
    "two accounts in one journal": lambda es: (
        _pending(es, 1).update(principal="arn:aws:iam::999999999999:user/alice"),
        _pending(es, 1)["call"].update(principal="arn:aws:iam::999999999999:user/alice")),
    "a second undo": lambda es: _pending(es, 1)["call"]["undo"].append(_undo(es, 1)),
    "a deleted pending line": lambda es: es.remove(_pending(es, 2)),
    "two applies reusing a seq": lambda es: es.append(dict(_pending(es, 1))),
    "seq as a string": lambda es: es[0].update(seq="1"),
    "seq true": lambda es: es[0].update(seq=True),
    "params not an object": lambda es: _pending(es, 1)["call"].update(params=["UserName"]),
    "a missing field": lambda es: es[0].pop("time"),
    "an unknown field": lambda es: es[0].update(extra=1),
    "an unknown event": lambda es: es[1].update(event="undone"),
    "done twice": lambda es: es.insert(2, dict(es[1])),
    "a restore version not ours": lambda es: _undo(es, 2).update(
        api="DeleteOwnManagedPolicy", params={"PolicyArn": ADMIN}),
}


@pytest.mark.parametrize("attack", sorted(FORGERIES))
def test_a_forged_journal_is_refused_whole_with_no_call_made(
    attack: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    iam, path = applied(tmp_path)
    entries = lines(path)
    FORGERIES[attack](entries)
    write(path, entries)
    with pytest.raises(JournalError):
        load_journal(path)
    before, calls_before = iam.dump(), len(iam.calls)
    monkeypatch.setattr(revert_cmd, "connect", lambda **_: Clients(iam=iam, sts=iam))
    assert main(["revert", "--journal", str(path), "--yes"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("deescalate: ") and "Traceback" not in err and str(path) in err
    assert iam.dump() == before and len(iam.calls) == calls_before  # not even a read


@pytest.mark.parametrize(("raw", "message"), [
    (b'{"seq": 1, "event": "done", "time": "t", "result": {}}\n\xff\xfe\n', "line 2: not UTF-8"),
    (b'not json\n{"seq": 1}\n', "line 1: not valid JSON"),
    (b'[1, 2]\n{}\n', "line 1: not a journal entry"),
    (b'{"seq": 1, "event": "done", "time": "t", "result": {}}\n', "pending line is missing"),
    (b'{"seq": 1, "event": "reverted", "time": "\\ud800"}\n', "lone UTF-16 surrogate"),
    (b"[" * 100_000 + b"]" * 100_000 + b"\n", "line 1"),
])
def test_malformed_journal_lines_are_named(raw: bytes, message: str, tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_bytes(raw)
    with pytest.raises(JournalError, match=message):
        records(read_journal(path))


def test_call_json_round_trip_keeps_the_enum() -> None:
    call = Call(api=Api.PUT_USER_POLICY, params={"UserName": "a"}, principal=user("a"),
                undo=(Call(api=Api.DELETE_USER_POLICY, params={"UserName": "a"}),))
    again = Call.from_json(json.loads(json.dumps(call.to_json())))
    assert again == call and again.api is Api.PUT_USER_POLICY
