"""The HTML report is a Jinja2 template with autoescape on: no account string can add markup.

The strongest check: render the same report twice, once with every string of the account made
hostile and once made harmless in the same places, and require the two pages to have exactly the
same elements and attributes. Any template variable that is not escaped would let the hostile
run add an element or an attribute, and the structures would differ.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from types import MappingProxyType
from typing import Any

from report_fixtures import sample_report

from deescalate.model import ADMIN, ChangeSummary, OpenedEdge
from deescalate.report import render
from deescalate.report.gate import Suppression, evaluate
from deescalate.report.html_report import environment

TEMPLATES = Path(__file__).resolve().parents[3] / "src/deescalate/report/templates"
HOSTILE = "\"'><script>alert(1)</script><img src=x onerror=alert(2)><!--{{ 7*7 }}{% raw %}&amp;"
HARMLESS = "_" * len(HOSTILE)


def _mark(value: Any, suffix: str) -> Any:
    """Every plain string of a report tree, with `suffix` appended (the self-escalation marker kept)."""
    if type(value) is str:
        return value if value == ADMIN else value + suffix
    if isinstance(value, tuple):
        return tuple(_mark(v, suffix) for v in value)
    if isinstance(value, Mapping):
        return MappingProxyType({_mark(k, suffix): _mark(v, suffix) for k, v in value.items()})
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{
            f.name: _mark(getattr(value, f.name), suffix) for f in dataclasses.fields(value) if f.init
        })
    return value


class _Structure(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.shape: list[tuple[str, tuple[str, ...]]] = []
        self.attr_values: list[str] = []
        self.text: list[str] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.shape.append((tag, tuple(name for name, _ in attrs)))
        self.attr_values += [v or "" for _, v in attrs]

    def handle_endtag(self, tag: str) -> None:
        self.shape.append(("/" + tag, ()))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def _parse(page: str) -> _Structure:
    p = _Structure()
    p.feed(page)
    return p


def _report(suffix: str) -> Any:
    r = _mark(sample_report(with_plan=True), suffix)
    # a Terraform change too (scan --terraform-plan), so its section is rendered
    deployer = next(f for f in r.findings if "deployer" in f.principal)
    change = ChangeSummary(
        plan="tfplan.json" + suffix, introduced=(deployer.principal,), resolved=("gone" + suffix,),
        opened=(OpenedEdge(edge=deployer.edges[0].id, addresses=("aws_iam_role_policy.p" + suffix,)),),
        locations=MappingProxyType({"aws_iam_role_policy.p" + suffix: "main.tf:12" + suffix}),
    )
    r = dataclasses.replace(r, change=change)
    # suppress one finding so the suppressed table (reasons, labels) is rendered too
    carol = next(f.principal for f in r.findings if "carol" in f.principal)
    gate = evaluate(r, suppressions=[Suppression(principal=carol, technique="*", reason="ok" + suffix)])
    return r, gate


def test_no_account_string_can_add_an_element_or_attribute() -> None:
    bad, bad_gate = _report(HOSTILE)
    good, good_gate = _report(HARMLESS)
    hostile = _parse(render("html", bad, gate=bad_gate))
    harmless = _parse(render("html", good, gate=good_gate))
    assert hostile.shape == harmless.shape  # same elements, same attributes, same order
    assert hostile.comments == harmless.comments == []
    assert "script" not in {tag for tag, _ in hostile.shape}
    text = "".join(hostile.text)
    assert text.count(HOSTILE) >= 20  # shown as text, over and over: principals, vias, reasons, notes...
    assert any(HOSTILE in v for v in hostile.attr_values)  # titles and tooltips carry it, escaped


def test_templates_never_turn_escaping_off() -> None:
    env = environment()
    assert env.autoescape is True
    names = env.list_templates()
    assert {"report.html.j2", "macros.html.j2", "report.css"} <= set(names)
    for path in TEMPLATES.iterdir():
        source = path.read_text(encoding="utf-8")
        assert not re.search(r"\|\s*safe\b|autoescape\s+false|Markup\(|\|\s*e\b", source), path.name


def test_the_wheel_would_carry_the_templates() -> None:
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parents[3]
    data = tomllib.loads((root / "pyproject.toml").read_text())
    globs = data["tool"]["setuptools"]["package-data"]["deescalate"]
    package = root / "src/deescalate"
    for path in TEMPLATES.iterdir():
        rel = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatchcase(rel, g) for g in globs), rel
    assert any(d.startswith("Jinja2") for d in data["project"]["dependencies"])
