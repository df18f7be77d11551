"""deescalate: find AWS IAM privilege-escalation paths and cut them with minimal, verified denies.

The library's entry points, importable from here (loaded on first use, so `import deescalate` stays
cheap and does no I/O):

    load_snapshot, load_demo              snapshot/   files → Snapshot
    analyze                               analysis/   Snapshot → Report (admins, edges, findings)
    build_plan, check_plan                remediate/  Report → Plan, verified by re-analysis
    read_plan, write_plan                 remediate/  the editable plan file
    connect, prepare, execute             remediate/  Plan → IAM calls with a journal
    revert_calls, revert_all_calls,
    execute_reverts                       remediate/  journal (or the account) → undo calls
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_snapshot": "deescalate.snapshot",
    "load_demo": "deescalate.snapshot",
    "analyze": "deescalate.analysis.analyze",
    "build_plan": "deescalate.remediate.plan",
    "check_plan": "deescalate.remediate.plan",
    "read_plan": "deescalate.remediate.planfile",
    "write_plan": "deescalate.remediate.planfile",
    "connect": "deescalate.remediate.aws",
    "prepare": "deescalate.remediate.apply",
    "execute": "deescalate.remediate.apply",
    "revert_calls": "deescalate.remediate.revert",
    "revert_all_calls": "deescalate.remediate.revert",
    "execute_reverts": "deescalate.remediate.revert",
}

__all__ = [  # noqa: RUF022 (grouped by stage, as above)
    "__version__",
    "load_snapshot", "load_demo",
    "analyze",
    "build_plan", "check_plan", "read_plan", "write_plan",
    "connect", "prepare", "execute",
    "revert_calls", "revert_all_calls", "execute_reverts",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'deescalate' has no attribute {name!r}")
    return getattr(import_module(module), name)
