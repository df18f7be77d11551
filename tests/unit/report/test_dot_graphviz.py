"""The DOT output through Graphviz's own parser: it must accept it, crafted names included."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from report_fixtures import EVIL_NAME, sample_report

from deescalate.report import render

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is not installed")


def test_graphviz_accepts_the_dot_and_keeps_labels_as_text() -> None:
    out = render("dot", sample_report())
    svg = subprocess.run(["dot", "-Tsvg"], input=out, capture_output=True, text=True, timeout=60, check=False)
    assert svg.returncode == 0, svg.stderr
    assert svg.stderr == ""
    assert svg.stdout.count('class="node"') == 8
    assert svg.stdout.count('class="edge"') == 7
    # Graphviz escapes the crafted name into SVG text; nothing of it becomes markup.
    assert "<script>" not in svg.stdout
    assert EVIL_NAME.replace("<", "&lt;").replace(">", "&gt;") in svg.stdout  # the tooltip: the full ARN
