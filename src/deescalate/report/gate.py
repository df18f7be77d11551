"""The CI gate: suppressions (accepted risks) and the `--fail-on` threshold → an exit code.

`--fail-on` takes a mode or a severity:

- `any` (default): every finding that is not suppressed fails the gate, certain or conditional.
- `conditional`: findings that hold only under a request condition the snapshot cannot settle
  (source IP, MFA, tags, ...) are tolerated: they are reported, but only *certain* findings fail.
- `none`: never fail on findings (report only).
- `critical`, `high`, `medium`, `low`: fail on findings of that severity or worse
  (see `deescalate.analysis.severity` for the definition).

A suppression file accepts known risks. Each entry names a principal ARN pattern (`*` and `?`
wildcards, case-sensitive as ARNs are), a technique id (or `*`), a mandatory reason and an optional
expiry date. A finding leaves the gate when every one of its paths and escalation edges goes
through a suppressed technique for that principal; it is then listed as suppressed, with the
reasons. An expired entry is not honoured: it is reported as a warning (and in the report).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

from deescalate.analysis.severity import Severity, finding_severity
from deescalate.errors import EXIT_CLEAN, EXIT_FINDINGS, MissingInputError, UsageError, empty_file
from deescalate.files import read_regular, too_long
from deescalate.model import Edge, Finding, Report
from deescalate.policy.match import resource_matches


class FailOn(StrEnum):
    ANY = "any"
    CONDITIONAL = "conditional"
    NEW = "new"  # only findings a change (scan --terraform-plan) introduces
    NONE = "none"
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


FAIL_ON_CHOICES: tuple[str, ...] = tuple(f.value for f in FailOn)


@dataclass(frozen=True, slots=True, kw_only=True)
class Suppression:
    principal: str  # ARN pattern, `*` and `?` wildcards
    technique: str  # technique id or "*"
    reason: str
    expires: dt.date | None = None
    where: str = ""  # "FILE entry N", for messages

    def expired(self, today: dt.date) -> bool:
        # An entry is honoured through its expiry day, not after it.
        return self.expires is not None and self.expires < today

    def covers(self, principal: str, technique: str) -> bool:
        if self.technique != "*" and self.technique.lower() != technique.lower():
            return False
        return resource_matches(self.principal, principal)

    def label(self) -> str:
        until = f" until {self.expires.isoformat()}" if self.expires else ""
        return f"{self.principal} / {self.technique}{until}: {self.reason}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SuppressedFinding:
    finding: Finding
    severity: Severity
    by: tuple[Suppression, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class GateResult:
    fail_on: FailOn
    active: tuple[Finding, ...]  # findings not suppressed, in report order
    severities: dict[str, Severity]  # principal ARN -> severity, for every finding
    failing: tuple[Finding, ...]  # active findings at or above the threshold
    suppressed: tuple[SuppressedFinding, ...]
    expired: tuple[Suppression, ...]  # entries ignored because their date has passed
    unused: tuple[Suppression, ...]  # live entries that matched no finding
    exit_code: int

    def warnings(self) -> tuple[str, ...]:
        out = [f"expired suppression not honoured ({s.where}): {s.label()}" for s in self.expired]
        out += [f"suppression matched no finding ({s.where}): {s.label()}" for s in self.unused]
        return tuple(out)


# --------------------------------------------------------------------------- the file


def load_suppressions(path: str | Path) -> tuple[Suppression, ...]:
    """Read a YAML or JSON suppression file. A malformed file is a usage error naming the entry."""
    p = Path(path)
    try:
        text = read_regular(p).decode("utf-8")
    except FileNotFoundError as e:
        raise MissingInputError("suppression file", p) from e
    except UnicodeDecodeError as e:
        raise UsageError(f"suppression file {p} is not UTF-8 (a bad byte at offset {e.start})") from e
    except OSError as e:
        raise UsageError(f"cannot read suppression file {p}: {e.strerror or e}") from e
    if not text.strip():
        raise UsageError(empty_file(p))
    data: Any
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise UsageError(f"suppression file {p} is not valid JSON: {e}") from e
        except RecursionError as e:
            raise UsageError(f"suppression file {p} is JSON nested too deeply to read") from e
        except ValueError as e:  # a number of more digits than int() converts
            raise UsageError(f"suppression file {p} holds a number too long to read ({too_long(e)})") from e
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise UsageError(f"suppression file {p} is not valid YAML: {e}") from e
    return parse_suppressions(data, where=str(p))


def parse_suppressions(data: Any, *, where: str) -> tuple[Suppression, ...]:
    if data is None:
        return ()
    if isinstance(data, dict):
        version = data.get("version", 1)
        if version != 1:
            raise UsageError(f"{where}: unknown suppression file version {version!r} (expected 1)")
        data = data.get("suppressions", [])
    if not isinstance(data, list):
        raise UsageError(f"{where}: expected a list of suppressions (or a mapping with 'suppressions')")
    out: list[Suppression] = []
    for i, entry in enumerate(data, start=1):
        at = f"{where} entry {i}"
        if not isinstance(entry, dict):
            raise UsageError(f"{at}: expected a mapping with principal, technique, reason")
        unknown = set(entry) - {"principal", "technique", "reason", "expires"}
        if unknown:
            raise UsageError(f"{at}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
        principal = entry.get("principal")
        reason = entry.get("reason")
        technique = entry.get("technique", "*")
        if not isinstance(principal, str) or not principal.strip():
            raise UsageError(f"{at}: 'principal' (an ARN pattern) is required")
        if not isinstance(reason, str) or not reason.strip():
            raise UsageError(f"{at}: 'reason' is required: say why this risk is accepted")
        if not isinstance(technique, str) or not technique.strip():
            raise UsageError(f"{at}: 'technique' must be a technique id or '*'")
        out.append(
            Suppression(
                principal=principal.strip(),
                technique=technique.strip(),
                reason=reason.strip(),
                expires=_date(entry.get("expires"), at),
                where=at,
            )
        )
    return tuple(out)


def _date(value: Any, at: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise UsageError(f"{at}: 'expires' must be a date like 2026-12-31, not {value!r}")


# --------------------------------------------------------------------------- the gate


def _all_paths(finding: Finding) -> tuple[tuple[Edge, ...], ...]:
    return tuple(finding.paths) + tuple((e,) for e in finding.edges)


def _fails(finding: Finding, severity: Severity, fail_on: FailOn, introduced: frozenset[str]) -> bool:
    match fail_on:
        case FailOn.ANY:
            return True
        case FailOn.NEW:
            return finding.principal in introduced
        case FailOn.CONDITIONAL:
            return not finding.conditional
        case FailOn.NONE:
            return False
        case FailOn.CRITICAL | FailOn.HIGH | FailOn.MEDIUM | FailOn.LOW:
            return severity.rank >= Severity(fail_on.value).rank
    raise AssertionError(fail_on)  # pragma: no cover


def evaluate(
    report: Report,
    *,
    fail_on: FailOn = FailOn.ANY,
    suppressions: Sequence[Suppression] = (),
    today: dt.date | None = None,
) -> GateResult:
    """Split findings into active and suppressed, and decide the exit code."""
    day = today or dt.date.today()
    live = [s for s in suppressions if not s.expired(day)]
    expired = tuple(s for s in suppressions if s.expired(day))
    used: set[int] = set()
    active: list[Finding] = []
    suppressed: list[SuppressedFinding] = []
    severities: dict[str, Severity] = {}
    for f in report.findings:
        sev = finding_severity(f, report)
        severities[f.principal] = sev
        paths = _all_paths(f)
        by: list[Suppression] = []
        covered_all = bool(paths)
        for path in paths:
            hit = next((s for e in path for s in live if s.covers(f.principal, e.technique)), None)
            if hit is None:
                covered_all = False
                break
            if hit not in by:
                by.append(hit)
        if covered_all:
            used.update(id(s) for s in by)
            suppressed.append(SuppressedFinding(finding=f, severity=sev, by=tuple(by)))
        else:
            active.append(f)
    introduced = frozenset(report.change.introduced) if report.change is not None else frozenset()
    failing = tuple(f for f in active if _fails(f, severities[f.principal], fail_on, introduced))
    return GateResult(
        fail_on=fail_on,
        active=tuple(active),
        severities=severities,
        failing=failing,
        suppressed=tuple(suppressed),
        expired=expired,
        unused=tuple(s for s in live if id(s) not in used),
        exit_code=EXIT_FINDINGS if failing else EXIT_CLEAN,
    )
