"""Renderers: one module per output format, each turning the same `Report` into text.

Every renderer is `render(report, *, gate=None, color=False, options=RenderOptions()) -> str`.
`gate` (from `deescalate.report.gate.evaluate`) tells which findings are suppressed and which
suppressions expired; without it every finding is shown as active. Only the text renderer uses
`color`; `options` (see `common.RenderOptions`) says how much detail the reports for people show
and where the snapshot defines each principal (for SARIF). `write` sends a report to a text stream;
the JSON report is written piece by piece, never held whole in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from deescalate.errors import UsageError
from deescalate.gctune import fewer_full_collections
from deescalate.model import Report
from deescalate.report.common import DEFAULT_OPTIONS, Detail, RenderOptions, SourceLocation
from deescalate.report.gate import GateResult

__all__ = ["DEFAULT_OPTIONS", "FORMATS", "Detail", "RenderOptions", "SourceLocation", "render",
           "renderer", "write"]

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


def render(fmt: str, report: Report, *, gate: GateResult | None = None, color: bool = False,
           options: RenderOptions = DEFAULT_OPTIONS) -> str:
    return renderer(fmt)(report, gate=gate, color=color, options=options)


@fewer_full_collections()  # the report's objects are built while the analysis is still held
def write(fmt: str, report: Report, out: TextIO, *, gate: GateResult | None = None, color: bool = False,
          options: RenderOptions = DEFAULT_OPTIONS) -> None:
    """Write the report to `out`: JSON as it is produced (piece by piece), the others rendered whole."""
    if fmt == "json":
        from deescalate.report import json_report

        json_report.write(report, out, gate=gate, options=options)
        return
    out.write(render(fmt, report, gate=gate, color=color, options=options))
