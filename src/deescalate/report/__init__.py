"""Renderers: one module per output format, each turning the same `Report` into text.

Every renderer is `render(report, *, gate=None, color=False) -> str`. `gate` (from
`deescalate.report.gate.evaluate`) tells which findings are suppressed and which suppressions expired;
without it every finding is shown as active. Only the text renderer uses `color`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from deescalate.errors import UsageError
from deescalate.model import Report
from deescalate.report.gate import GateResult


class Renderer(Protocol):
    def __call__(self, report: Report, *, gate: GateResult | None = None, color: bool = False) -> str: ...


FORMATS: tuple[str, ...] = ("text", "json", "sarif", "html", "mermaid", "dot")


def renderer(fmt: str) -> Callable[..., str]:
    """The render function of a format name (imported on demand: most runs need one format)."""
    match fmt:
        case "text":
            from deescalate.report import text

            return text.render
        case "json":
            from deescalate.report import json_report

            return json_report.render
        case "sarif":
            from deescalate.report import sarif

            return sarif.render
        case "html":
            from deescalate.report import html_report

            return html_report.render
        case "mermaid":
            from deescalate.report import diagram

            return diagram.render_mermaid
        case "dot":
            from deescalate.report import diagram

            return diagram.render_dot
    raise UsageError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")


def render(fmt: str, report: Report, *, gate: GateResult | None = None, color: bool = False) -> str:
    return renderer(fmt)(report, gate=gate, color=color)
