"""The commands shown in README.md and docs/*.md run, and print what the docs show.

A command is a `$ ...` line of a fenced code block (a line ending in `\\` continues it); the lines
after it, up to the next `$` line, are its output as shown (`[exit N]` is its exit code; a `...`
line stands for any lines; `#` lines are the docs' comments). A command runs here when it can
offline: it uses the demo account (`deescalate demo`, `--demo`) and no AWS (`collect`, `apply`,
`revert`, `--endpoint-url`, `--profile`), and every other program it names is installed. The
commands of one block run in order in one fresh directory (a later one may read what an earlier
one wrote); once one cannot run, the rest of its block is left out too. Also: the README's two
set-up commands, the test command .ci/run runs, and every install instruction's package name.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NEEDS_AWS = re.compile(r"--endpoint-url|--profile|\bdeescalate (collect|apply|revert)\b")
TOOLS = ("jq", "dot")


@dataclass(frozen=True)
class Shown:
    file: Path
    line: int  # 1-based line of the `$`
    command: str
    output: tuple[str, ...]
    exit_code: int | None


def _blocks(path: Path) -> list[tuple[int, list[str]]]:
    out: list[tuple[int, list[str]]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            start = i + 1
            j = start
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append((start + 1, lines[start:j]))
            i = j + 1
        else:
            i += 1
    return out


def _commands(path: Path, first: int, block: list[str]) -> list[Shown]:
    shown: list[Shown] = []
    i = 0
    while i < len(block):
        if not block[i].startswith("$ "):
            i += 1
            continue
        line_no = first + i
        command = block[i][2:]
        while command.endswith("\\") and i + 1 < len(block):
            i += 1
            command = command[:-1] + " " + block[i].strip()
        i += 1
        output: list[str] = []
        code = None
        while i < len(block) and not block[i].startswith("$ "):
            m = re.fullmatch(r"\[exit (\d+)\]|exit (\d+)", block[i])
            if m:
                code = int(m[1] or m[2])
            elif not block[i].startswith("# "):
                output.append(block[i])
            i += 1
        while output and not output[-1].strip():
            output.pop()
        shown.append(Shown(path, line_no, command, tuple(output), code))
    return shown


def _runnable(command: str) -> bool:
    if "#" in command:  # "# d1 edited ...": a step done by hand before it
        return False
    if NEEDS_AWS.search(command) or not re.search(r"\bdeescalate demo\b|--demo\b", command):
        return False
    return all(shutil.which(tool) for tool in TOOLS if re.search(rf"\b{tool}\b", command))


def _runs() -> list[list[Shown]]:
    runs = []
    for path in DOCS:
        for first, block in _blocks(path):
            kept: list[Shown] = []
            for shown in _commands(path, first, block):
                if not shown.command.lstrip().startswith(("deescalate", "jq")) and not kept:
                    break
                if not _runnable(shown.command) and shown.command.lstrip().startswith("deescalate"):
                    break
                kept.append(shown)
            if any(s.command.lstrip().startswith("deescalate") for s in kept):
                runs.append(kept)
    return runs


RUNS = _runs()


def _matches(expected: tuple[str, ...], actual: list[str]) -> bool:
    if "..." not in expected:
        return list(expected) == actual
    pattern = "".join(r"(?:.*\n)*?" if e == "..." else re.escape(e) + r"\n" for e in expected)
    return re.fullmatch(pattern, "".join(a + "\n" for a in actual)) is not None


def test_the_docs_show_commands_that_run_here() -> None:
    assert len(RUNS) >= 5, [f"{r[0].file.name}:{r[0].line}" for r in RUNS]


@pytest.mark.parametrize("run", RUNS, ids=[f"{r[0].file.name}:{r[0].line}" for r in RUNS])
def test_docs_command_prints_what_the_docs_show(run: list[Shown], tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "NO_COLOR": "1", "COLUMNS": "100"}
    for shown in run:
        # An input file the docs had from elsewhere (not written by an earlier command): stop here.
        words = shown.command.split()
        inputs = [w for k, w in enumerate(words) if re.fullmatch(r"[\w./-]+\.(json|ya?ml|jsonl)", w)
                  and (k == 0 or words[k - 1] not in {"-o", ">"})]
        if any(not (tmp_path / w).exists() for w in inputs if not w.startswith(("/", "."))):
            break
        done = subprocess.run(["bash", "-c", shown.command + " 2>&1"], cwd=tmp_path, env=env, text=True,
                              capture_output=True, timeout=300, check=False)
        actual = done.stdout.rstrip("\n").split("\n") if done.stdout.strip() else []
        where = f"{shown.file.relative_to(ROOT)}:{shown.line}: $ {shown.command}"
        if shown.output and not _matches(shown.output, actual):
            diff = "\n".join(difflib.unified_diff(list(shown.output), actual, "as the docs show",
                                                  "as it runs now", lineterm=""))
            pytest.fail(f"{where}\nthe output differs from the docs:\n{diff}", pytrace=False)
        if shown.exit_code is not None:
            assert done.returncode == shown.exit_code, f"{where}: exit {done.returncode}, docs say {shown.exit_code}"


# --------------------------------------------------------------------------- set-up and install


def _setup_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```\n(.*?)\n```", section, flags=re.S)


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    demo, tests = _setup_commands()
    assert demo.startswith("python3 -m venv .venv && ") and demo.endswith(" && deescalate demo")
    assert tests.startswith("python3 -m venv .venv && ") and tests.endswith(" && pytest")
    assert tests in (ROOT / ".ci/run").read_text(encoding="utf-8")


def test_every_install_instruction_names_the_distribution() -> None:
    files = [*DOCS, ROOT / "docs/github-actions.yml"]
    for path in files:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for m in re.finditer(r"pip install ([^`\n]*)", line):
                args = m[1]
                if re.match(r"-e ('?\.(\[dev\])?'?)( |$)", args):
                    continue  # from the clone: the project's own pyproject names it
                if args.startswith("deescalate`") or "unrelated project" in line:
                    continue  # the warning about the other project's name
                assert "iam-deescalate" in args, f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
