"""`-v/--verbose`: before or after the subcommand, the stages' log on stderr; results unchanged."""

from __future__ import annotations

import logging
import re

import pytest

from deescalate.cli import main

LINE = re.compile(r"^deescalate: \[ *\d+\.\d\ds\] (\w+): (.*)$")


def _log(err: str) -> list[tuple[str, str]]:
    return [(m[1], m[2]) for line in err.splitlines() if (m := LINE.match(line))]


@pytest.mark.parametrize("argv", [["-v", "demo"], ["demo", "-v"], ["--verbose", "demo"], ["demo", "--verbose"]])
def test_verbose_before_or_after_the_subcommand(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    quiet = capsys.readouterr()
    assert _log(quiet.err) == []
    assert main(argv) == 0
    loud = capsys.readouterr()
    assert loud.out == quiet.out  # the report is the same; the log goes to stderr
    log = _log(loud.err)
    stages = {stage for stage, _ in log}
    assert {"snapshot", "analysis", "report", "cli"} <= stages
    messages = [m for _, m in log]
    assert any(m.startswith("read ") and m.endswith("get-account-authorization-details.json (6857 bytes)")
               for m in messages)
    assert any(m.startswith("round 1: edges from 3 source(s)") for m in messages)
    assert any(m.startswith("findings: 2 principal(s) at risk") for m in messages)
    assert messages[-1].startswith("demo: exit 0 after ")


def test_plan_verbose_logs_the_verify_rounds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--demo", "-v"]) == 0
    messages = [m for stage, m in _log(capsys.readouterr().err) if stage == "plan"]
    assert any(re.match(r"verify round 1: 3 deny statement\(s\) on 1 principal\(s\) leave 0 edge\(s\) open", m)
               for m in messages), messages


def test_the_log_handler_does_not_outlive_main(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("deescalate")
    before = list(logger.handlers)
    assert main(["-v", "scan", "--demo", "-v"]) == 1  # -v twice: more detail, same handler
    assert logger.handlers == before
    capsys.readouterr()
    logging.getLogger("deescalate.analysis").info("after main")
    assert "after main" not in capsys.readouterr().err


def test_verbose_on_a_usage_error_is_still_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-v", "plan", "--demo", "--principal", "nobody"]) == 2
    err = capsys.readouterr().err
    assert "deescalate: principal 'nobody' is not a user or role" in err
    assert "Traceback" not in err
