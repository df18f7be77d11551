"""A plan's later rounds keep the solutions of the groups whose edges did not change and the policies
of the principals whose denies did not (remediate/plan.py `_SolveMemo`), and still write the plan
that solving everything again in every round writes."""

from __future__ import annotations

from typing import Any

import pytest
from work_count import generated

import deescalate.remediate.plan as plan_module
from deescalate.analysis.analyze import analyze
from deescalate.remediate.plan import build_plan, default_analyze
from deescalate.remediate.planfile import dumps


class _Counting(plan_module._SolveMemo):
    """The memo as `build_plan` uses it, counting the groups it was asked to solve."""

    asked: int = 0

    def solve(self, *args: Any, **kwargs: Any) -> Any:
        type(self).asked += 1
        return super().solve(*args, **kwargs)


class _Forgetful(plan_module._SolveMemo):
    """Forgets everything before each question: every round solves and renders everything again."""

    def solve(self, *args: Any, **kwargs: Any) -> Any:
        self.drafts.clear()
        return super().solve(*args, **kwargs)

    def plan(self, *args: Any, **kwargs: Any) -> Any:
        self.plans.clear()
        return super().plan(*args, **kwargs)


@pytest.mark.parametrize("shape", ["default", "groups", "iam-writers", "chains"])
def test_kept_solutions_give_the_plan_a_full_solve_gives(shape: str, monkeypatch: pytest.MonkeyPatch) -> None:
    snap = generated(shape, 150)
    report = analyze(snap)
    solved: list[int] = []
    real_solve_all = plan_module._solve_all

    def counted(*args: Any, **kwargs: Any) -> Any:
        out = real_solve_all(*args, **kwargs)
        memo = args[4] if len(args) > 4 else kwargs.get("memo")
        solved.append(memo.solved if memo is not None else -1)
        return out

    monkeypatch.setattr(plan_module, "_SolveMemo", _Counting)
    monkeypatch.setattr(plan_module, "_solve_all", counted)
    _Counting.asked = 0
    kept = build_plan(snap, report, default_analyze())
    assert len(solved) > 1, "one round only: nothing could be kept"
    assert sum(solved) < _Counting.asked, "every group was solved again: the memo kept nothing"

    monkeypatch.setattr(plan_module, "_SolveMemo", _Forgetful)
    fresh = build_plan(snap, report, default_analyze())
    assert kept.verified
    assert dumps(kept) == dumps(fresh)
