"""The journal: written before each call, folded into records, tolerant of a cut-off last line."""

from __future__ import annotations

from pathlib import Path

import pytest

from deescalate.errors import ApplyError
from deescalate.remediate.journal import Call, Journal, read_journal, records

ARN = "arn:aws:iam::123456789012:user/alice"


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
