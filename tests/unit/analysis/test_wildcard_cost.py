"""A shared conditional `Allow * on *` must not make the analysis quadratic again (issue 12).

benchmarks/shapes.py's `mfa-wildcard` account turns its most attached shared policy into
`Allow * on * if aws:MultiFactorAuthPresent`: before holders were summarised
(analysis/edges/wildcards.py) every holder had a conditional edge to every other, and 4x the
principals cost about 16x the work (1,000 principals: 96 s). The guard is a ratio between two
sizes of a deterministic work count — the evaluator's decisions and prefilter questions plus the
edges built — and, loosely, of CPU time.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from deescalate.analysis.analyze import analyze
from deescalate.analysis.edges.base import EdgeContext
from deescalate.model import Snapshot
from deescalate.policy.evaluate import Authorizer

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"
SMALL, LARGE = 150, 600  # 4x the principals


@pytest.fixture(scope="module")
def accounts() -> Iterator[Callable[[str, int], Snapshot]]:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from generate_account import snapshot

        cache: dict[tuple[str, int], Snapshot] = {}

        def get(shape: str, n: int) -> Snapshot:
            if (shape, n) not in cache:
                cache[(shape, n)] = snapshot(n, seed=1, shape=shape)
            return cache[(shape, n)]

        yield get
    finally:
        sys.path.remove(str(BENCHMARKS))


def _work(snap: Snapshot, monkeypatch: pytest.MonkeyPatch) -> int:
    """Evaluator decisions + prefilter questions + edges built during one analysis."""
    count = [0]

    def counted(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            count[0] += 1
            return fn(*args, **kwargs)

        return wrapper

    with monkeypatch.context() as m:
        m.setattr(Authorizer, "decide", counted(Authorizer.decide))
        m.setattr(Authorizer, "may_allow", counted(Authorizer.may_allow))
        m.setattr(EdgeContext, "edge", counted(EdgeContext.edge))
        analyze(snap)
    return count[0]


def _cpu(snap: Snapshot) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        analyze(snap)
        best = min(best, time.process_time() - started)
    return best


def test_mfa_wildcard_work_is_about_linear(
    accounts: Callable[[str, int], Snapshot], monkeypatch: pytest.MonkeyPatch
) -> None:
    small, large = accounts("mfa-wildcard", SMALL), accounts("mfa-wildcard", LARGE)
    work_small, work_large = _work(small, monkeypatch), _work(large, monkeypatch)
    # Linear would be 4x; quadratic was about 16x.
    assert work_large <= 6 * work_small, (work_small, work_large)


def test_mfa_wildcard_cpu_is_about_linear(accounts: Callable[[str, int], Snapshot]) -> None:
    small, large = accounts("mfa-wildcard", SMALL), accounts("mfa-wildcard", LARGE)
    cpu_small, cpu_large = _cpu(small), _cpu(large)
    # Generous: a loaded 2-core machine; quadratic was about 16x.
    assert cpu_large <= 10 * cpu_small, (cpu_small, cpu_large)


def test_mfa_wildcard_holders_are_summarised(accounts: Callable[[str, int], Snapshot]) -> None:
    """Every holder still reaches admin, and none has an edge into another holder that only the
    conditional wildcard allows."""
    snap = accounts("mfa-wildcard", SMALL)
    report = analyze(snap)
    at_risk = {f.principal for f in report.findings}
    edges_into_findings = [e for e in report.edges if e.target in at_risk]
    sources = {e.source for e in edges_into_findings}
    # Before: every holder had edges into every other (about 200 sources here); now only the
    # principals whose own unconditional policies allow a take-over.
    assert len(sources) < len(at_risk) // 4, len(sources)
    assert len(at_risk) > 100
