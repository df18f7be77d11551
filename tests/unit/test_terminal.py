"""terminal.clean: the one sanitiser for human-facing lines."""

from __future__ import annotations

import pytest

from deescalate.cli import main
from deescalate.terminal import clean


@pytest.mark.parametrize("bad", ["\x1b", "\x07", "\u202e", "\u2066", "\r", "\x9b", "\ud800", "\u200b"])
def test_control_and_bidi_characters_become_question_marks(bad: str) -> None:
    assert clean(f"user/a{bad}b") == "user/a" + "?" * len(bad) + "b"
    assert clean("line 1\nline 2\tx", keep_newlines=True) == "line 1\nline 2\tx"
    assert clean("line 1\nline 2") == "line 1?line 2"


def test_an_error_message_naming_a_hostile_file_is_cleaned(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["revert", "--journal", "/nonexistent/\x1b]0;pwned\x07.jsonl"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err and "?]0;pwned?" in err
