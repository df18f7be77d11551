"""The HTML report opened in headless Chromium: it renders, logs no error, fetches nothing.

Chromium is driven over the DevTools protocol (a pipe, see cdp_pipe.py): console messages,
exceptions and every network request are recorded, the DOM is queried, and a screenshot is kept
under test-artifacts/ for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cdp_pipe import chromium, open_page
from report_fixtures import EVIL_NAME, sample_report

from deescalate.report import render

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium() is None, reason="headless chromium is not installed (apt-get install chromium)"),
]

CHECKS = {
    "title": "document.title",
    "svg_nodes": "document.querySelectorAll('svg g.node').length",
    "svg_edges": "document.querySelectorAll('svg g.edge').length",
    "edge_labels": "Array.from(document.querySelectorAll('svg text.technique')).map(t => t.textContent)",
    "svg_width": "document.querySelector('svg') ? document.querySelector('svg').getBoundingClientRect().width : 0",
    "scripts": "document.querySelectorAll('script').length",
    "finding_rows": "document.querySelectorAll('#findings tr').length - 1",
    "body_text": "document.body.innerText",
}


def check_page(html: str, name: str, tmp_path: Path):
    page = tmp_path / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    url = page.resolve().as_uri()
    got = open_page(url, CHECKS)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"{name}.png").write_bytes(got.screenshot)
    (ARTIFACTS / f"{name}.html").write_text(html, encoding="utf-8")
    assert got.screenshot.startswith(b"\x89PNG")
    assert got.console_errors == []
    assert got.exceptions == []
    assert got.requests == [url]  # the page itself, nothing else
    assert got.values["scripts"] == 0
    return got


def test_fixture_report_renders_safely(tmp_path: Path) -> None:
    got = check_page(render("html", sample_report(with_plan=True)), "fixture-report", tmp_path)
    v = got.values
    assert v["svg_nodes"] == 8  # 5 at risk, Admin, prod-data, the self-escalation node
    assert v["svg_edges"] == 7
    assert sorted(v["edge_labels"]) == sorted(
        ["sts-001", "lambda-001", "cloudformation-001", "iam-005", "ec2-001", "iam-012", "iam-007"])
    assert v["svg_width"] > 500
    assert v["finding_rows"] == 5
    assert EVIL_NAME in v["body_text"]  # the script tag is visible text, never executed


def test_the_harness_sees_errors_and_requests(tmp_path: Path) -> None:
    # The checks above are only worth something if a bad page fails them.
    bad = tmp_path / "bad.html"
    bad.write_text('<img src="http://127.0.0.1:9/x.png"><script>console.error("boom"); throw new Error("x")</script>')
    got = open_page(bad.resolve().as_uri(), {"two": "1+1"})
    assert any("boom" in m for m in got.console_errors)
    assert got.exceptions
    assert "http://127.0.0.1:9/x.png" in got.requests
    assert got.values["two"] == 2


def test_demo_report_in_the_browser(tmp_path: Path) -> None:
    from deescalate.cli import main

    out = tmp_path / "demo.html"
    assert main(["demo", "--format", "html", "-o", str(out), "--with-plan", "--fail-on", "none"]) == 0
    got = check_page(out.read_text(encoding="utf-8"), "demo-report", tmp_path)
    v = got.values
    assert v["svg_nodes"] >= 3 and v["svg_edges"] >= 4  # the demo: A -> B, B -> C twice, B -> D
    assert v["finding_rows"] >= 2
    assert "Remediation plan" in v["body_text"]
