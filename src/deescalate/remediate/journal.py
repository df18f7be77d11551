"""The apply journal: one JSON object per line, written *before* each AWS call and after it.

Every call apply makes is a `Call` (API name, parameters, and the calls that undo it, worked out
from the live state read just before). Its life in the journal:

    {"seq": 3, "event": "pending", "time": ..., "principal": ..., "call": {...}, "undo": [{...}]}
    {"seq": 3, "event": "done", "time": ..., "result": {...}}      or   "event": "failed", "error": ...
    {"seq": 3, "event": "reverted", "time": ...}                   (written by revert)

A pending entry without a `done` is a call that may or may not have reached AWS (the process died,
the network failed): revert undoes it anyway, and every undo call tolerates "already gone". The
file is appended to and flushed+fsynced line by line, so an interruption loses at most the line
being written. Lines are self-contained; `seq` keeps growing across runs of apply on one journal.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deescalate.errors import ApplyError
from deescalate.model import EMPTY_MAP


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """One IAM API call (PascalCase name, as in the AWS API reference) and how to undo it."""

    api: str
    params: Mapping[str, Any]
    principal: str = ""
    undo: tuple[Call, ...] = ()
    note: str = ""
    result: Mapping[str, Any] = field(default_factory=lambda: EMPTY_MAP)

    def to_json(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "params": dict(self.params),
            "principal": self.principal,
            "note": self.note,
            "undo": [u.to_json() for u in self.undo],
        }

    @staticmethod
    def from_json(raw: Mapping[str, Any]) -> Call:
        return Call(
            api=raw["api"],
            params=dict(raw["params"]),
            principal=raw.get("principal", ""),
            note=raw.get("note", ""),
            undo=tuple(Call.from_json(u) for u in raw.get("undo", ())),
        )

    def render(self) -> str:
        """The call as a person reads it: `iam:PutUserPolicy UserName=alice ...` and documents indented."""
        simple = " ".join(f"{k}={v}" for k, v in self.params.items() if k != "PolicyDocument")
        text = f"iam:{self.api} {simple}".rstrip()
        if self.note:
            text += f"    # {self.note}"
        doc = self.params.get("PolicyDocument")
        if doc:
            pretty = json.dumps(json.loads(doc), indent=2)
            text += "\n    PolicyDocument:\n" + "\n".join("      " + line for line in pretty.splitlines())
        return text


def default_journal_path(plan_path: str | Path) -> Path:
    p = Path(plan_path)
    return p.with_name(p.stem + ".journal.jsonl")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Journal:
    """Append-only writer; each line is on disk before the call it announces is made."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        entries = read_journal(self.path) if self.path.exists() else []
        self._seq = max((int(e.get("seq", 0)) for e in entries), default=0)

    def _write(self, entry: dict[str, Any]) -> None:
        try:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(entry, sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise ApplyError(
                f"cannot write the journal {self.path}: {e.strerror}; nothing more was changed"
            ) from e

    def pending(self, call: Call) -> int:
        self._seq += 1
        self._write(
            {
                "seq": self._seq,
                "event": "pending",
                "time": _now(),
                "principal": call.principal,
                "call": call.to_json(),
            }
        )
        return self._seq

    def done(self, seq: int, result: Mapping[str, Any] | None = None) -> None:
        self._write({"seq": seq, "event": "done", "time": _now(), "result": dict(result or {})})

    def failed(self, seq: int, error: str) -> None:
        self._write({"seq": seq, "event": "failed", "time": _now(), "error": error})

    def reverted(self, seq: int) -> None:
        self._write({"seq": seq, "event": "reverted", "time": _now()})


def read_journal(path: str | Path) -> list[dict[str, Any]]:
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise ApplyError(f"cannot read the journal {p}: {e.strerror}") from e
    out: list[dict[str, Any]] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as e:
            if n == len(lines):
                continue  # a last line cut short by an interruption: its call was never made
            raise ApplyError(f"{p}, line {n}: not valid JSON ({e.msg})") from e
        if not isinstance(entry, dict) or "seq" not in entry or "event" not in entry:
            raise ApplyError(f"{p}, line {n}: not a journal entry")
        out.append(entry)
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalRecord:
    seq: int
    call: Call
    status: str  # "pending" | "done" | "failed" | "reverted"
    result: Mapping[str, Any]


def records(entries: list[dict[str, Any]]) -> list[JournalRecord]:
    """Fold the lines into one record per call, in the order the calls were made."""
    calls: dict[int, Call] = {}
    status: dict[int, str] = {}
    results: dict[int, Mapping[str, Any]] = {}
    for e in entries:
        seq = int(e["seq"])
        if e["event"] == "pending":
            calls[seq] = Call.from_json(e["call"])
            status[seq] = "pending"
        elif seq in calls:
            status[seq] = e["event"]
            if e["event"] == "done":
                results[seq] = e.get("result", {})
    return [
        JournalRecord(seq=s, call=calls[s], status=status[s], result=results.get(s, {}))
        for s in sorted(calls)
    ]
