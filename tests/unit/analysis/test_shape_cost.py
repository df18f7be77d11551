"""Every account shape's analysis stays about linear in principals + edges (issue 12).

benchmarks/shapes.py's shapes (mfa-wildcard has its own guard, test_wildcard_cost.py) at two sizes
4x apart. The guard is a ratio, not a time limit: the work of one analysis (evaluator decisions,
prefilter questions, edges built: tests/support/work_count.py) per principal + edge found may grow
by at most 1.6x between the sizes, and so, more loosely, may CPU time. A cost quadratic in the
principals on a shape whose edges grow linearly makes that about 4x. (The `replicated` shape's
edges are themselves quadratic: its copies' `iam:*` automation roles can take over every copy's
admins; per principal + edge its work stays flat.)
"""

from __future__ import annotations

import pytest
from work_count import analysis_work, best_cpu, generated

from deescalate.analysis.analyze import analyze
from deescalate.model import Snapshot

SHAPES = ("default", "groups", "groups-ro", "iam-writers", "chains", "mesh", "replicated")
SMALL, LARGE = 150, 600


def _size(snap: Snapshot) -> int:
    """Principals + edges: what the work may grow with."""
    return len(snap.users) + len(snap.roles) + len(analyze(snap).edges)


@pytest.mark.parametrize("shape", SHAPES)
def test_work_per_principal_and_edge_stays_flat(shape: str, monkeypatch: pytest.MonkeyPatch) -> None:
    small, large = generated(shape, SMALL), generated(shape, LARGE)
    per_small = analysis_work(small, monkeypatch) / _size(small)
    per_large = analysis_work(large, monkeypatch) / _size(large)
    assert per_large <= 1.6 * per_small, (shape, per_small, per_large)


@pytest.mark.parametrize("shape", SHAPES)
def test_cpu_per_principal_and_edge_stays_flat(shape: str) -> None:
    small, large = generated(shape, SMALL), generated(shape, LARGE)
    best_cpu(small, runs=2)  # warm the caches the first analysis fills (SAR, compiled policies)
    per_small = best_cpu(small, runs=2) / _size(small)
    per_large = best_cpu(large, runs=2) / _size(large)
    # Generous (a loaded 2-core machine): quadratic in the principals makes this about 4x.
    assert per_large <= 2.5 * per_small, (shape, per_small, per_large)
