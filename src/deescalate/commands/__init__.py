"""One module per subcommand; each exposes `register(subparsers)`. The tuple fixes the help order."""

from __future__ import annotations

from types import ModuleType

from deescalate.commands import (
    apply_cmd,
    collect_cmd,
    demo_cmd,
    explain_cmd,
    export_cmd,
    plan_cmd,
    revert_cmd,
    scan_cmd,
)

COMMANDS: tuple[ModuleType, ...] = (
    collect_cmd,
    scan_cmd,
    explain_cmd,
    plan_cmd,
    apply_cmd,
    revert_cmd,
    export_cmd,
    demo_cmd,
)
