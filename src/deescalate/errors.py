"""The one error family of the library.

Every failure a user can cause (bad input, bad credentials, an unreachable endpoint, a policy AWS
would reject) is a `DeescalateError` carrying a sentence a person can act on. The library raises
them `from` the underlying exception; `cli.py` catches them once, prints the message to stderr and
exits with the error's exit code. Anything else escaping is a bug.
"""

from __future__ import annotations

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_RUNTIME = 3


class DeescalateError(Exception):
    """A failure with a human diagnostic. `str(err)` is the message shown to the user."""

    exit_code: int = EXIT_RUNTIME

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(DeescalateError):
    """The command line asked for something that cannot be done (exit 2)."""

    exit_code = EXIT_USAGE


class MissingInputError(UsageError):
    """An input named on the command line does not exist: exit 2 whatever its kind (snapshot, plan,
    suppression file, journal, session policy)."""

    def __init__(self, kind: str, path: object) -> None:
        super().__init__(f"{kind} {path}: no such file or directory")


def empty_file(path: object) -> str:
    """The one wording for an input file with nothing in it (rather than a JSON parser's
    "Expecting value (line 1, column 1)")."""
    return f"{path}: empty file"


class PlanError(UsageError):
    """A plan apply refuses before any call: malformed, edited after its check, or unsafe (exit 2)."""


class SnapshotError(DeescalateError):
    """A snapshot file or directory is missing, malformed, or of an unknown format version."""


class PolicyError(DeescalateError):
    """A policy document AWS would reject (names the policy and, where known, its principal)."""


class CollectError(DeescalateError):
    """Collection cannot go on: bad credentials, an unreachable endpoint, a missing region."""


class ApplyError(DeescalateError):
    """Applying or reverting a plan failed; the journal says what was done."""
