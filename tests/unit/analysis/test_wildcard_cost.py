"""A shared conditional `Allow * on *` must not make the analysis quadratic again (issue 12).

benchmarks/shapes.py's `mfa-wildcard` account turns its most attached shared policy into
`Allow * on * if aws:MultiFactorAuthPresent`: before holders were summarised
(analysis/edges/wildcards.py) every holder had a conditional edge to every other, and 4x the
principals cost about 16x the work (1,000 principals: 96 s). The guard is a ratio between two
sizes of a deterministic work count — the evaluator's decisions and prefilter questions plus the
edges built — and, loosely, of CPU time.
"""

from __future__ import annotations

import pytest
from work_count import analysis_work, best_cpu, generated

from deescalate.analysis.analyze import analyze

SMALL, LARGE = 150, 600  # 4x the principals


def test_mfa_wildcard_work_is_about_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    small, large = generated("mfa-wildcard", SMALL), generated("mfa-wildcard", LARGE)
    work_small, work_large = analysis_work(small, monkeypatch), analysis_work(large, monkeypatch)
    # Linear would be 4x; quadratic was about 16x.
    assert work_large <= 6 * work_small, (work_small, work_large)


def test_mfa_wildcard_cpu_is_about_linear() -> None:
    small, large = generated("mfa-wildcard", SMALL), generated("mfa-wildcard", LARGE)
    cpu_small, cpu_large = best_cpu(small, runs=3), best_cpu(large, runs=3)
    # Generous: a loaded 2-core machine; quadratic was about 16x.
    assert cpu_large <= 10 * cpu_small, (cpu_small, cpu_large)


def test_mfa_wildcard_holders_are_summarised() -> None:
    """Every holder still reaches admin, and none has an edge into another holder that only the
    conditional wildcard allows."""
    snap = generated("mfa-wildcard", SMALL)
    report = analyze(snap)
    at_risk = {f.principal for f in report.findings}
    edges_into_findings = [e for e in report.edges if e.target in at_risk]
    sources = {e.source for e in edges_into_findings}
    # Before: every holder had edges into every other (about 200 sources here); now only the
    # principals whose own unconditional policies allow a take-over.
    assert len(sources) < len(at_risk) // 4, len(sources)
    assert len(at_risk) > 100
