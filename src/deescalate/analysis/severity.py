"""Severity of a finding: one function, one table, so a user can reason about the ranking.

A finding's severity is that of its worst path (the path most dangerous to leave open). A path is
judged by where it ends and whether it is certain:

| path ends at                          | unconditional       | conditional (depends on context) |
|---------------------------------------|---------------------|----------------------------------|
| full admin, in one step               | critical            | high                             |
| full admin, in two or more steps      | high                | medium                           |
| a `--target` principal (not admin)    | medium              | low                              |

"Full admin" is either an administrator principal or the principal making itself admin
(self-escalation, target `admin`). A path is conditional when any of its edges is: its
decision depends on a request context (source IP, MFA, tags, ...) the snapshot cannot supply.
So a one-step path to full admin ranks above a three-step conditional path to a target role.

Over several accounts (an organization snapshot), a path to full admin IN THE MANAGEMENT ACCOUNT
(one of its administrators, or one of its principals making itself admin) controls the whole
organization: it is critical whatever its length, high when conditional.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

from deescalate.arn import account_of
from deescalate.model import ADMIN, AdminVerdict, Edge, Finding, Report


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """Higher is worse: critical 4 ... low 1."""
        return _RANK[self]


_RANK = {Severity.CRITICAL: 4, Severity.HIGH: 3, Severity.MEDIUM: 2, Severity.LOW: 1}

SEVERITIES: tuple[Severity, ...] = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)


def target_only_arns(admins: Iterable[AdminVerdict]) -> frozenset[str]:
    """ARNs that are `--target` crown jewels rather than full administrators."""
    return frozenset(a.arn for a in admins if a.target_only)


def path_severity(path: Sequence[Edge], target_only: frozenset[str], management: str = "") -> Severity:
    """Severity of one path (see the module table). An empty path is treated as one step.
    `management`: the organization's management account, when the report covers several accounts."""
    end = path[-1].target if path else ADMIN
    conditional = any(e.conditional for e in path)
    if end != ADMIN and end in target_only:
        return Severity.LOW if conditional else Severity.MEDIUM
    if management and path:
        # Whose admin: the end principal's account, or for self-escalation the last step's source's.
        owner = account_of(path[-1].source if end == ADMIN else end)
        if owner == management:
            return Severity.HIGH if conditional else Severity.CRITICAL
    one_step = len(path) <= 1
    if conditional:
        return Severity.HIGH if one_step else Severity.MEDIUM
    return Severity.CRITICAL if one_step else Severity.HIGH


def finding_severity(finding: Finding, report: Report) -> Severity:
    """The worst path's severity. Escalation edges leaving the principal count as one-step paths."""
    target_only = target_only_arns(report.admins)
    paths: list[Sequence[Edge]] = list(finding.paths)
    paths.extend((e,) for e in finding.edges)
    if not paths:
        # A finding always has a path; if a producer ever sends none, do not under-rate it.
        return Severity.LOW if finding.conditional else Severity.HIGH
    management = report.management_account_id
    return max((path_severity(p, target_only, management) for p in paths), key=lambda s: s.rank)
