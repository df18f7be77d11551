"""Reports that stay readable at scale: summaries first, each finding cut to its shortest paths with
a count of the rest, `--detail full` for everything, JSON written piece by piece, renderers linear."""

from __future__ import annotations

import io
import json
import time
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from report_fixtures import ACCT, ADMIN_ROLE, e, sample_report

from deescalate.analysis.severity import Severity
from deescalate.cli import main
from deescalate.model import ADMIN, AdminVerdict, Finding, Report
from deescalate.report import Detail, RenderOptions, render, write
from deescalate.report.common import digest
from deescalate.report.json_report import report_obj
from deescalate.sar import reference_version

ROOT = Path(__file__).resolve().parents[3]
REPORT_SCHEMA = json.loads((ROOT / "schemas/report.schema.json").read_text())
BIG = f"arn:aws:iam::{ACCT}:role/big"


def _admins(n: int) -> list[str]:
    return [f"arn:aws:iam::{ACCT}:role/admin{i:04}" for i in range(n)]


def wide_report(paths: int = 12, edges: int = 40) -> Report:
    """One role with many paths (one per admin, lengths 1 or 2) and many other escalation edges."""
    admins = _admins(paths)
    mid = f"arn:aws:iam::{ACCT}:role/mid"
    ps = []
    for i, a in enumerate(admins):
        if i % 3 == 0:
            ps.append((e(BIG, a, "iam-002", "iam:CreateAccessKey"),))
        else:
            ps.append((e(BIG, mid, "sts-001", "sts:AssumeRole"), e(mid, a, "ec2-001", "iam:PassRole")))
    others = [e(BIG, f"arn:aws:iam::{ACCT}:user/u{i:05}", "iam-006" if i % 2 else "iam-002", "x:Y")
              for i in range(edges)]
    direct = [p[0] for p in ps if len(p) == 1]
    finding = Finding(principal=BIG, techniques=("ec2-001", "iam-002", "iam-006", "sts-001"),
                      paths=tuple(ps), edges=(*direct, *others))
    return Report(account_id=ACCT, admins=tuple(AdminVerdict(arn=a, reason="*") for a in admins),
                  findings=(finding,), edges=(*direct, *others), source="wide")


def test_digest_shows_the_shortest_paths_and_counts_the_rest() -> None:
    f = wide_report().findings[0]
    d = digest(f, Severity.CRITICAL)
    assert [len(p) for p in d.paths] == [1, 1, 1]  # the 4 one-step paths come first; 3 shown
    assert d.more_paths == 12 - 3
    assert len(d.other_edges) == 3
    assert {x.technique for x in d.other_edges} == {"iam-002", "iam-006"}  # one per technique first
    shown = {x.id for p in d.paths for x in p} | {x.id for x in d.other_edges}
    assert d.more_edges == len({x.id for x in f.edges} - shown) == 4 + 40 - 3 - 3
    full = digest(f, d.severity, RenderOptions(detail=Detail.FULL))
    assert len(full.paths) == 12 and full.more_paths == 0 and full.more_edges == 0
    assert len(full.other_edges) == 40


def test_text_opens_with_a_summary_and_counts_what_it_leaves_out() -> None:
    out = render("text", wide_report())
    head, _, body = out.partition("Administrators (")
    assert "Summary" in head and "1 principal(s) at risk (1 critical, 0 high, 0 medium, 0 low)" in head
    assert f"CRITICAL  {BIG}" in head and "Techniques (principals at risk using each):" in head
    assert f"AWS Service Authorization Reference: {reference_version()}" in head
    assert body.count("    path ") == 3
    assert "... 9 more paths and 38 more escalation edges (--detail full lists them)" in body
    full = render("text", wide_report(), options=RenderOptions(detail=Detail.FULL))
    assert full.count("    path ") == 12 and "more path" not in full
    assert full.count("      - ") == 40


def test_top_findings_are_capped_in_the_summary() -> None:
    r = sample_report()
    out = render("text", r, options=RenderOptions(top=2))
    assert "Top findings (2 of 5):" in out
    assert render("html", r, options=RenderOptions(top=2)).count("<li><span class=\"sev") == 2


def test_html_summary_and_graph_show_only_the_shown_paths() -> None:
    r = wide_report(paths=30, edges=300)
    page = render("html", r)
    assert 'id="summary"' in page and "9 more paths" not in page
    assert "27 more paths and 304 more escalation edges not shown" in page
    # drawn: big, mid, the admins its 3 shown paths reach and its 3 shown other edges' targets
    assert page.count('<g class="edge">') == 3 + 3
    full = render("html", r, options=RenderOptions(detail=Detail.FULL))
    assert full.count('<g class="edge">') == len({x.id for p in r.findings[0].paths for x in p}
                                                  | {x.id for x in r.findings[0].edges})
    assert f"AWS Service Authorization Reference: {reference_version()}" in page  # the footer


def test_json_is_streamed_and_identical_to_the_whole_object() -> None:
    one = wide_report()
    r = Report(account_id=ACCT, admins=one.admins, edges=one.edges, source="many",
               findings=tuple(replace(one.findings[0], principal=f"{BIG}{i}") for i in range(20)))
    writes: list[str] = []

    class Recorder(io.StringIO):
        def write(self, s: str) -> int:
            writes.append(s)
            return super().write(s)

    buf = Recorder()
    write("json", r, buf, options=RenderOptions(detail=Detail.SUMMARY))
    text = buf.getvalue()
    assert text == json.dumps(report_obj(r), indent=2) + "\n"
    doc = json.loads(text)
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(doc)
    assert len(doc["findings"][0]["edges"]) == 44  # every edge whatever --detail says
    assert len(doc["findings"][0]["paths"]) == 12
    assert doc["tool"]["service_authorization_reference"] == reference_version()
    assert max(len(s) for s in writes) < len(text) / 10  # written a finding at a time, not whole


def test_detail_and_max_paths_through_the_cli(capsys) -> None:
    assert main(["demo", "--max-paths", "1"]) == 0
    out = capsys.readouterr().out
    assert "... 1 more path and 1 more escalation edge (--detail full lists them)" in out  # roleB
    assert main(["demo", "--detail", "full", "--max-paths", "1"]) == 0
    assert "more path" not in capsys.readouterr().out
    assert main(["demo", "--max-paths", "0"]) == 2
    assert "expected 1 or more" in capsys.readouterr().err


def test_version_names_the_service_authorization_reference(capsys) -> None:
    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("deescalate ") and f"AWS Service Authorization Reference: {reference_version()}" in out


def _best(fn, runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


@pytest.mark.parametrize("fmt", ["text", "sarif", "html", "json"])
def test_renderers_stay_linear_in_the_edges_of_a_finding(fmt: str) -> None:
    # A ratio between two sizes (best of 5 each), not a wall-clock limit: 4x the edges must cost well
    # under 16x (what a quadratic renderer pays); linear is about 4x.
    small, large = wide_report(paths=80, edges=3000), wide_report(paths=320, edges=12000)
    t_small = _best(lambda: render(fmt, small))
    t_large = _best(lambda: render(fmt, large))
    assert t_large / t_small < 10, (t_small, t_large)


def test_every_reported_self_escalation_keeps_its_node() -> None:
    selfie = e(BIG, ADMIN, "iam-005", "iam:PutRolePolicy")
    r = Report(account_id=ACCT, admins=(AdminVerdict(arn=ADMIN_ROLE, reason="*"),),
               findings=(Finding(principal=BIG, techniques=("iam-005",), paths=((selfie,),), edges=(selfie,)),),
               edges=(selfie,))
    page = render("html", r)
    assert 'class="node self-admin"' in page and "admin (self-escalation)" in render("text", r)
