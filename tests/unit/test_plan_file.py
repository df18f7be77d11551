"""The plan file and the journal: versioned, strict about what a person may get wrong, tolerant of a cut-off line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from deescalate.errors import ApplyError, UsageError
from deescalate.fingerprint import document_digest, state_diff, state_lines
from deescalate.journal import Call, Journal, read_journal, records
from deescalate.model import Deny, Plan, PrincipalPlan
from deescalate.planfile import plan_from_json, plan_to_json

ARN = "arn:aws:iam::123456789012:user/alice"


def sample() -> dict:
    d = Deny(id="d1", principal=ARN, action="iam:PutUserPolicy", resource=ARN, cuts=("e",), techniques=("t",),
             why="w")
    return plan_to_json(Plan(account_id="123456789012", snapshot="s", snapshot_time=None,
                             principals=(PrincipalPlan(principal=ARN, denies=(d,)),)))


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda r: r.update(schema_version=2), "schema_version 2 is not supported"),
    (lambda r: r["principals"][0]["denies"][0].update(apply="no"), "apply must be true or false"),
    (lambda r: r["principals"][0]["denies"][0].pop("action"), "missing key(s) ['action']"),
    (lambda r: r["principals"][0].update(extra=1), "unknown key(s) ['extra']"),
    (lambda r: r.update(kind="something-else"), "is not a deescalate plan"),
])
def test_malformed_plans_are_usage_errors_naming_the_place(mutate, message) -> None:  # type: ignore[no-untyped-def]
    raw = sample()
    mutate(raw)
    with pytest.raises(UsageError, match=re.escape(message)):
        plan_from_json(raw, where="p.json")


def test_digest_ignores_key_order_and_spacing_and_diff_names_changes() -> None:
    a = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    b = json.loads(json.dumps(a, indent=3, sort_keys=True))
    assert document_digest(a) == document_digest(json.dumps(b))
    old = state_lines(inline={"p": a, "deescalate-deny": a}, managed=["arn:x:policy/m"], boundary=None)
    assert not any("deescalate" in line for line in old)  # our own policies do not count
    new = state_lines(inline={"p": a}, managed=[], boundary="arn:x:policy/b")
    assert state_diff(old, new) == ("- managed arn:x:policy/m", "+ boundary arn:x:policy/b")


def test_journal_folds_events_and_tolerates_a_cut_off_last_line(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    j = Journal(path)
    undo = Call(api="DeleteUserPolicy", params={"UserName": "alice", "PolicyName": "deescalate-deny"})
    s1 = j.pending(Call(api="PutUserPolicy", params={"UserName": "alice"}, principal=ARN, undo=(undo,)))
    j.done(s1)
    s2 = j.pending(Call(api="AttachUserPolicy", params={"UserName": "alice"}, principal=ARN))
    with path.open("a") as f:
        f.write('{"seq": 3, "event": "pend')  # the process died mid-line
    recs = records(read_journal(path))
    assert [(r.seq, r.status) for r in recs] == [(s1, "done"), (s2, "pending")]
    assert recs[0].call.undo == (undo,)
    assert Journal(path).pending(Call(api="X", params={})) == 3  # numbering continues
    path.write_text('not json\n{"seq": 1, "event": "done"}\n')
    with pytest.raises(ApplyError, match="line 1: not valid JSON"):
        read_journal(path)
