"""The import rules of docs/architecture.md, checked over the source with `ast`.

The pipeline reads top to bottom: collect → snapshot → policy → analysis → remediate → report,
with cli.py and commands/ on top and the shared vocabulary (errors, arn, model, sar, grounding)
underneath. A folder imports only folders above it in this list, never one below.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "deescalate"

# Each area and the areas it may import (besides itself). Areas are top-level modules or folders.
FOUNDATION = {"errors": set(), "arn": {"errors"}, "model": {"arn", "errors"}, "sar": {"errors"},
              "terminal": set(), "files": set(), "gctune": set()}
BASE = {"errors", "arn", "model", "sar", "terminal", "files", "gctune"}
ALLOWED: dict[str, set[str]] = {
    **FOUNDATION,
    "grounding": BASE | {"policy"},
    "policy": BASE,
    "snapshot": BASE | {"policy"},
    "collect": BASE | {"snapshot"},
    "analysis": BASE | {"policy", "grounding", "snapshot"},
    "remediate": BASE | {"policy", "grounding", "analysis"},
    "report": BASE | {"policy", "analysis", "remediate"},
}
# Only these modules talk to AWS (the read side and the write side).
BOTO = ("deescalate.collect.", "deescalate.remediate.aws")
# Only the command line prints, exits or reads the environment.
FRONT = ("deescalate.cli", "deescalate.commands", "deescalate.__main__")


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import, `from deescalate import x` as deescalate.x."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "deescalate":  # a module, or the package's own __version__
                yield from (
                    (node.lineno, "deescalate" if a.name.startswith("__") else f"deescalate.{a.name}")
                    for a in node.names
                )
            else:
                yield node.lineno, node.module


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


MODULES = dict(_modules())


def test_the_rules_name_every_area() -> None:
    areas = {_area(m) for m in MODULES} - {"", "cli", "commands", "__main__"}
    assert areas == set(ALLOWED), "a new top-level module or folder needs its row in ALLOWED and the doc"


@pytest.mark.parametrize("area", sorted(ALLOWED))
def test_each_area_imports_only_what_is_above_it(area: str) -> None:
    wrong = [
        f"{module}:{line} imports {target}"
        for module, tree in MODULES.items()
        if _area(module) == area
        for line, target in _imports(tree)
        if target.startswith("deescalate")
        and _area(target) not in ALLOWED[area] | {area}
        and target != "deescalate"
    ]
    assert not wrong, "\n".join(wrong)


def test_only_collect_and_remediate_aws_use_boto3() -> None:
    wrong = [
        f"{module}:{line} imports {target}"
        for module, tree in MODULES.items()
        for line, target in _imports(tree)
        if target.split(".")[0] in ("boto3", "botocore") and not module.startswith(BOTO)
    ]
    assert not wrong, "\n".join(wrong)


def test_nothing_uses_fnmatch() -> None:
    # fnmatch reads [...] as a character class; IAM does not: every match goes through policy/match.py.
    wrong = [f"{m}:{line}" for m, tree in MODULES.items() for line, t in _imports(tree) if t == "fnmatch"]
    assert not wrong, "\n".join(wrong)


def test_the_library_never_prints_exits_or_reads_the_environment() -> None:
    wrong: list[str] = []
    for module, tree in MODULES.items():
        if module.startswith(FRONT):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("print", "exit", "input"):
                wrong.append(f"{module}:{node.lineno} calls {node.func.id}")
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and (
                (node.value.id, node.attr) in {("sys", "exit"), ("os", "environ"), ("os", "getenv"), ("sys", "stdout")}
            ):
                wrong.append(f"{module}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not wrong, "\n".join(wrong)


def test_no_function_level_imports_below_the_command_line() -> None:
    """Imports inside functions hide cycles; only the command line (start-up time) and the
    package's lazy exports use them."""
    wrong: list[str] = []
    for module, tree in MODULES.items():
        if module.startswith(FRONT) or module in ("deescalate", "deescalate.report"):
            continue
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                wrong += [f"{module}:{line} imports {t}" for line, t in _imports(fn) if t.startswith("deescalate")]
    assert not wrong, "\n".join(wrong)


def test_the_checker_fails_on_a_violation() -> None:
    tree = ast.parse("from deescalate.report import text\nimport boto3\nfrom deescalate import sar\n")
    assert [t for _, t in _imports(tree)] == ["deescalate.report", "boto3", "deescalate.sar"]
    assert _area("deescalate.report.text") == "report" not in ALLOWED["analysis"]
