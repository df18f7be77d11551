"""gctune.fewer_full_collections: no automatic full collection inside, the thresholds back after."""

from __future__ import annotations

import gc
import io
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from deescalate.analysis.analyze import analyze
from deescalate.errors import UsageError
from deescalate.gctune import NEVER, fewer_full_collections
from deescalate.remediate.plan import build_plan, default_analyze
from deescalate.report import write
from deescalate.snapshot import demo_path
from deescalate.snapshot.load import load_snapshot

# A full collection after every other young one. CPython also skips a full collection while the
# objects promoted since the last one are under a quarter of the old generation, so the tests
# freeze what exists first (gc.freeze: out of every generation), which leaves that generation empty.
FREQUENT = (10, 1, 1)


@pytest.fixture
def frequent() -> Iterator[list[int]]:
    """Frequent full collections from here on; yields the generations collected meanwhile."""
    before = gc.get_threshold()
    collected: list[int] = []

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            collected.append(int(info["generation"]))

    gc.freeze()
    gc.set_threshold(*FREQUENT)
    gc.collect()  # every generation's count back to 0
    gc.callbacks.append(count)
    try:
        yield collected
    finally:
        gc.callbacks.remove(count)
        gc.set_threshold(*before)
        gc.unfreeze()


def test_the_thresholds_inside_and_after() -> None:
    before = gc.get_threshold()
    with fewer_full_collections():
        assert gc.get_threshold() == (before[0], before[1], NEVER)
        with fewer_full_collections():  # nested: the outer use keeps them
            pass
        assert gc.get_threshold()[2] == NEVER
    assert gc.get_threshold() == before


def test_an_exception_restores_the_thresholds() -> None:
    before = gc.get_threshold()
    with pytest.raises(ValueError), fewer_full_collections():
        raise ValueError("boom")
    assert gc.get_threshold() == before


def test_uses_from_several_threads_restore_the_thresholds_once_all_end() -> None:
    before = gc.get_threshold()
    inside = threading.Barrier(4)
    leave = threading.Event()

    def use() -> None:
        with fewer_full_collections():
            inside.wait()
            leave.wait()

    threads = [threading.Thread(target=use) for _ in range(3)]
    for t in threads:
        t.start()
    inside.wait()
    assert gc.get_threshold()[2] == NEVER
    leave.set()
    for t in threads:
        t.join()
    assert gc.get_threshold() == before


def test_the_control_sees_full_collections(frequent: list[int]) -> None:
    """Without the context manager these thresholds give full collections, so the test below
    would see one if a library call did not suppress them."""
    kept = [[i] for i in range(2_000)]
    assert 2 in frequent
    del kept


@pytest.mark.parametrize("name", ["load_snapshot", "analyze", "build_plan", "report.write"])
def test_the_heavy_library_calls_make_no_full_collection(name: str, frequent: list[int]) -> None:
    snapshot = load_snapshot(demo_path())
    report = analyze(snapshot)
    calls: dict[str, Callable[[], object]] = {
        "load_snapshot": lambda: load_snapshot(demo_path()),
        "analyze": lambda: analyze(snapshot),
        "build_plan": lambda: build_plan(snapshot, report, default_analyze()),
        "report.write": lambda: write("json", report, io.StringIO()),
    }
    call = calls[name]
    gc.freeze()  # what was built too
    gc.collect()
    frequent.clear()
    call()
    assert gc.get_threshold() == FREQUENT  # restored
    assert frequent, "the call allocated too little to tell"
    assert 2 not in frequent, f"{name} ran a full collection"


def test_a_live_scan_collects_with_the_interpreters_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    """`scan --region`: collection (boto3 clients and their reference cycles) keeps the default
    full collections; only the analysis of what it wrote runs without them."""
    import deescalate.collect
    from deescalate.cli import main

    seen: list[tuple[int, int, int]] = []

    def fake_collect(*_args: object, **_kwargs: object) -> None:
        seen.append(gc.get_threshold())
        raise UsageError("stop here")

    monkeypatch.setattr(deescalate.collect, "collect", fake_collect)
    before = gc.get_threshold()
    assert main(["scan", "--region", "us-east-1"]) == UsageError.exit_code
    assert seen == [before]
    assert gc.get_threshold() == before
