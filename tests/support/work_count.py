"""A deterministic count of the analysis's work, for tests that guard against quadratic cost.

Wall-clock limits fail on a loaded machine and pass on a fast one; a count of the expensive steps
does neither. `analysis_work` counts the evaluator's decisions, equivalence keys and prefilter
questions (`Authorizer.decide`, `Authorizer.equivalence`, `Authorizer.may_allow`; the analysis asks
a key for each new request and decides once per key) and the edges built (`EdgeContext.edge`) during one
`analyze`; `generated` builds benchmarks/generate_account.py's accounts (benchmarks/shapes.py),
cached per (shape, size) for the test session.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from deescalate.analysis.analyze import analyze
from deescalate.analysis.edges.base import EdgeContext
from deescalate.model import Snapshot
from deescalate.policy.evaluate import Authorizer

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@lru_cache(maxsize=16)
def generated(shape: str, n: int) -> Snapshot:
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    from generate_account import snapshot

    result: Snapshot = snapshot(n, seed=1, shape=shape)
    return result


def counting(monkeypatch: pytest.MonkeyPatch, targets: list[tuple[Any, str]]) -> list[int]:
    """Wrap each (owner, attribute) so every call adds one to the returned counter."""
    count = [0]

    def counted(fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            count[0] += 1
            return fn(*args, **kwargs)

        return wrapper

    for owner, name in targets:
        monkeypatch.setattr(owner, name, counted(getattr(owner, name)))
    return count


ANALYSIS_STEPS: list[tuple[Any, str]] = [
    # equivalence: asked for each new context-free request, which then takes one decide per class
    (Authorizer, "decide"), (Authorizer, "equivalence"), (Authorizer, "may_allow"), (EdgeContext, "edge"),
]


def analysis_work(snap: Snapshot, monkeypatch: pytest.MonkeyPatch) -> int:
    """Evaluator decisions + prefilter questions + edges built during one analysis."""
    with monkeypatch.context() as m:
        count = counting(m, ANALYSIS_STEPS)
        analyze(snap)
    return count[0]


def best_cpu(snap: Snapshot, *, runs: int) -> float:
    """The least CPU time of `runs` analyses of `snap` (the others are disturbed by the machine)."""
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        analyze(snap)
        best = min(best, time.process_time() - started)
    return best
