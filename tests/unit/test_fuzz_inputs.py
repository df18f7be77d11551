"""A seeded, time-bounded fuzzer over the three files the tool reads: snapshots, plans, journals.

10,000 generated inputs in all (4,000 snapshots, 3,000 plans, 3,000 journals), each a valid file
mutated at random (a value replaced by another type, control characters, lone surrogates, deep
nesting, short ARNs, keys dropped or added, bytes flipped). Every input must load or be refused
with a `DeescalateError` (one line, a documented exit code), never another exception; every 25th
goes through the command line too, which must exit with a documented code. A SIGALRM bound fails a
test that hangs. The seed is fixed, so a failure names an input that reproduces.
"""

from __future__ import annotations

import copy
import json
import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from remediate_cases import hand_plan, user
from snapshot_samples import details
from stub_iam import StubIAM

from deescalate.cli import main
from deescalate.commands import apply_cmd, revert_cmd
from deescalate.errors import DeescalateError
from deescalate.model import PolicyPlacement
from deescalate.remediate.apply import apply_plan
from deescalate.remediate.aws import Clients
from deescalate.remediate.journal import load_journal
from deescalate.remediate.planfile import plan_digest, plan_from_json, plan_to_json
from deescalate.remediate.safety import vet_plan
from deescalate.snapshot import load_snapshot

SEED = 13
NASTY = ["", "\x1b[2J", "\u202e", "\x07", "\ud800", "arn:aws:iam", "arn:aws:iam::1:role/x", "*",
         "[" * 3000 + "]" * 3000, "deescalate-deny", "a" * 5000, "Deescalate1", "null", "0"]


def _value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(9)
    if pick == 0:
        return rng.choice(NASTY)
    if pick == 1:
        return rng.randint(-2, 2**40)
    if pick == 2:
        return rng.choice([True, False, None, 1.5])
    if pick == 3 and depth < 3:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    if pick == 4 and depth < 3:
        keys = [*NASTY, "Arn", "seq", "api"]
        return {rng.choice(keys): _value(rng, depth + 1) for _ in range(rng.randrange(3))}
    if pick == 5:
        nested: Any = "x"
        for _ in range(rng.randrange(1, 1500)):
            nested = [nested]
        return nested
    return "".join(rng.choice("ab:/*?\x00\x1b\u202e\ud800é{}\"\\") for _ in range(rng.randrange(12)))


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if len(path) > 12:  # inside a nesting the fuzzer itself made
        return
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*path, i))


def mutate(rng: random.Random, doc: Any, rounds: int = 3) -> Any:
    """A copy of `doc` with a few random values replaced, keys dropped or added."""
    out = copy.deepcopy(doc)
    for _ in range(rng.randint(1, rounds)):
        paths = [p for p in _paths(out) if p]
        if not paths:
            return _value(rng)
        path = rng.choice(paths)
        parent = out
        for key in path[:-1]:
            parent = parent[key]
        action = rng.randrange(4)
        if action == 0 and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == 1 and isinstance(parent, dict):
            parent[rng.choice(NASTY)] = _value(rng)
        else:
            parent[path[-1]] = _value(rng)
    return out


def _dumps(doc: Any) -> str:
    try:
        return json.dumps(doc)
    except RecursionError:
        return "[" * 100_000 + "]" * 100_000


@contextmanager
def bounded(seconds: int) -> Iterator[None]:
    def hang(signum: int, frame: Any) -> None:
        raise TimeoutError(f"a fuzz test ran over {seconds}s: an input hangs the tool")
    old = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def run_all(n: int, make: Callable[[int], Any], check: Callable[[Any], None]) -> None:
    for i in range(n):
        item = make(i)
        try:
            check(item)
        except DeescalateError:
            pass
        except Exception as e:
            raise AssertionError(f"input {i} (seed {SEED}) raised {type(e).__name__}: {e!r}"[:2000]) from e


def test_snapshots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(SEED)
    base = details()
    path = tmp_path / "gaad.json"
    started = time.monotonic()

    def check(i: int) -> None:
        doc = mutate(rng, base)
        raw = _dumps(doc).encode("utf-8", "surrogatepass")
        if rng.random() < 0.1:  # flip bytes: invalid UTF-8, truncation
            cut = rng.randrange(len(raw) + 1)
            raw = raw[:cut] + bytes([rng.randrange(256)]) + raw[cut + 1:]
        path.write_bytes(raw)
        if i % 25 == 0:
            assert main(["scan", str(path), "--format", "json"]) in (0, 1, 2, 3)
            err = capsys.readouterr().err
            assert "Traceback" not in err and "internal error" not in err, err
        else:
            load_snapshot(path)

    with bounded(120):
        run_all(4000, lambda i: i, check)
    assert time.monotonic() - started < 120


def test_plan_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(SEED + 1)
    iam = StubIAM()
    for name in ("alice", "bob"):
        iam.add("user", name)
    iam.add("role", "app")
    base = plan_to_json(hand_plan(iam, {user("alice"): PolicyPlacement.INLINE,
                                        user("bob"): PolicyPlacement.MANAGED}))
    monkeypatch.setattr(apply_cmd, "connect", lambda **_: Clients(iam=iam, sts=iam))
    monkeypatch.setattr(apply_cmd, "lock_dir", lambda: tmp_path)
    path = tmp_path / "plan.json"
    before = iam.dump()

    def check(i: int) -> None:
        raw = mutate(rng, base)
        if isinstance(raw, dict) and rng.random() < 0.5:
            raw["digest"] = plan_digest(raw)  # a consistent forgery (PlanError if it cannot be digested)
        if i % 25 == 0:
            path.write_text(_dumps(raw), encoding="utf-8", errors="surrogatepass")
            assert main(["apply", str(path)]) in (0, 2, 3)
            err = capsys.readouterr().err
            assert "Traceback" not in err and "internal error" not in err, err
        else:
            vet_plan(plan_from_json(raw))

    with bounded(120):
        run_all(3000, lambda i: i, check)
    assert iam.dump() == before and iam.mutations == []  # dry runs and refusals only


def test_journals(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(SEED + 2)
    iam = StubIAM()
    for name in ("alice", "bob"):
        iam.add("user", name)
    iam.add("role", "app")
    journal = tmp_path / "real.jsonl"
    apply_plan(hand_plan(iam, {user("alice"): PolicyPlacement.INLINE, user("bob"): PolicyPlacement.MANAGED}),
               Clients(iam=iam, sts=iam), journal_path=journal, lock_dir=tmp_path)
    lines = [json.loads(x) for x in journal.read_text().splitlines()]
    monkeypatch.setattr(revert_cmd, "connect", lambda **_: Clients(iam=iam, sts=iam))
    monkeypatch.setattr(revert_cmd, "lock_dir", lambda: tmp_path)
    path = tmp_path / "j.jsonl"
    after_apply = iam.dump()

    def check(i: int) -> None:
        forged = mutate(rng, lines)
        items = forged if isinstance(forged, list) else [forged]
        data = "".join(_dumps(x) + "\n" for x in items).encode("utf-8", "surrogatepass")
        if rng.random() < 0.1:
            cut = rng.randrange(len(data) + 1)
            data = data[:cut] + bytes([rng.randrange(256)]) + data[cut + 1:]
        path.write_bytes(data)
        if i % 25 == 0:
            assert main(["revert", "--journal", str(path)]) in (0, 2, 3)  # dry run
            err = capsys.readouterr().err
            assert "Traceback" not in err and "internal error" not in err, err
        else:
            load_journal(path)

    with bounded(120):
        run_all(3000, lambda i: i, check)
    assert iam.dump() == after_apply  # nothing forged was ever replayed


# --------------------------------------------------------------------------- not a file, too long a number

_NOT_REGULAR = "not a regular file (a named pipe, socket or device); refused"
_TOO_LONG = "holds a number too long to read (Exceeds the limit (4300 digits) for integer string conversion)"


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error" not in err and "Traceback" not in err, err
    return err


def _pipe_and_number_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[StubIAM, Path, Path]:
    iam = StubIAM()
    iam.add("user", "alice")
    plan = tmp_path / "plan.json"
    plan.write_text(_dumps(plan_to_json(hand_plan(iam, {user("alice"): PolicyPlacement.INLINE}))))
    journal = tmp_path / "j.jsonl"
    apply_plan(hand_plan(iam, {user("alice"): PolicyPlacement.INLINE}), Clients(iam=iam, sts=iam),
               journal_path=journal, lock_dir=tmp_path)
    for mod in (apply_cmd, revert_cmd):
        monkeypatch.setattr(mod, "connect", lambda **_: Clients(iam=iam, sts=iam))
        monkeypatch.setattr(mod, "lock_dir", lambda: tmp_path)
    return iam, plan, journal


def test_a_named_pipe_is_refused_not_waited_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, plan, journal = _pipe_and_number_setup(tmp_path, monkeypatch)
    gaad, tf, sup = tmp_path / "gaad.json", tmp_path / "tf.json", tmp_path / "sup.json"
    for p in (gaad, plan, journal, tf, sup):
        p.unlink(missing_ok=True)
        os.mkfifo(p)
    real = tmp_path / "real.json"
    real.write_text(json.dumps(details()))
    with bounded(20):  # before: each of these waited forever for a writer
        assert main(["scan", str(gaad)]) == 3
        assert _one_line(capsys) == f"deescalate: {gaad}: {_NOT_REGULAR}\n"
        assert main(["scan", str(real), "--terraform-plan", str(tf)]) in (2, 3)
        assert _NOT_REGULAR in _one_line(capsys)
        assert main(["scan", str(real), "--suppressions", str(sup)]) == 2
        assert _NOT_REGULAR in _one_line(capsys)
        assert main(["apply", str(plan)]) == 2
        assert f"{plan}: {_NOT_REGULAR}" in _one_line(capsys)
        assert main(["revert", "--journal", str(journal)]) == 3
        assert f"{journal}: {_NOT_REGULAR}" in _one_line(capsys)


def test_a_number_past_pythons_digit_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, plan, journal = _pipe_and_number_setup(tmp_path, monkeypatch)
    huge = "9" * 5000
    gaad = tmp_path / "gaad.json"
    gaad.write_text('{"UserDetailList": [], "Extra": ' + huge + "}")
    assert main(["scan", str(gaad)]) == 3
    assert _one_line(capsys) == f"deescalate: {gaad}: {_TOO_LONG}\n"
    plan.write_text(plan.read_text().replace('"schema_version": 1', '"schema_version": ' + huge, 1))
    assert huge in plan.read_text()
    assert main(["apply", str(plan)]) == 2
    assert f"{plan}: {_TOO_LONG}" in _one_line(capsys)
    lines = journal.read_text().splitlines()
    journal.write_text("\n".join([lines[0].replace('"seq": 1', '"seq": ' + huge, 1), *lines[1:]]) + "\n")
    assert huge in journal.read_text()
    assert main(["revert", "--journal", str(journal)]) == 3
    assert f"{journal}, line 1: {_TOO_LONG}" in _one_line(capsys)
