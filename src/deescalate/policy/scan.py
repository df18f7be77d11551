"""Evaluating a group of compiled statements for one request: the three-valued Allow result.

Deny matches go to shared lists (any certain Deny decides the request); Allow matches are kept per
group (identity, boundary, session, each SCP/RCP level, the resource policy) for combining.
"""

from __future__ import annotations

from collections.abc import Sequence

from deescalate.model import StatementMatch
from deescalate.policy.compiled import CompiledPolicy, CompiledStatement, Request, merge
from deescalate.policy.match import Caller, Via

NO, MAYBE, YES = 0, 1, 2


class Scan:
    """Allow results of one group of policies."""

    __slots__ = ("labels", "matches", "tri")

    def __init__(self, tri: int = NO) -> None:
        self.tri = tri
        self.matches: list[StatementMatch] = []
        self.labels: list[str] = []


ALLOWED_LEVEL = Scan(YES)  # shared, never mutated: a guardrail level with an Allow-all


# A guardrail level (SCP/RCP) for one service: an unconditional Allow-all present?, its Deny and
# its other Allow statements. With the Allow-all (FullAWSAccess) only the Denies need evaluating.
Guard = tuple[bool, tuple[CompiledStatement, ...], tuple[CompiledStatement, ...]]


def guard(policies: Sequence[CompiledPolicy], service: str) -> Guard:
    stmts = merge(policies, service)
    return (
        any(s.trivial for s in stmts),
        tuple(s for s in stmts if s.is_deny),
        tuple(s for s in stmts if not s.is_deny and not s.trivial),
    )


def guards(levels: Sequence[Sequence[CompiledPolicy]], service: str) -> tuple[Guard, ...]:
    """The levels for one service; () when every level has an Allow-all and no Deny for it (the
    usual FullAWSAccess-only levels): then each level allows with nothing to report, as if absent."""
    out = tuple(guard(lv, service) for lv in levels)
    return () if all(g[0] and not g[1] for g in out) else out


def scan_guard(
    level: Guard,
    req: Request,
    caller: Caller | None,
    denies: list[StatementMatch],
    deny_maybe: list[StatementMatch],
) -> Scan:
    trivial, deny_st, allow_st = level
    if deny_st:
        scan(deny_st, req, caller, denies, deny_maybe)
    return ALLOWED_LEVEL if trivial else scan(allow_st, req, caller, denies, deny_maybe)


def scan(
    statements: Sequence[CompiledStatement],
    req: Request,
    caller: Caller | None,
    denies: list[StatementMatch],
    deny_maybe: list[StatementMatch],
) -> Scan:
    """Evaluate statements: Deny matches go to the shared lists, Allow matches into the result."""
    out = Scan()
    for st in statements:
        if st.trivial:  # Allow * on * without conditions (FullAWSAccess): no need to evaluate
            out.matches.append(st.certain)
            out.tri = YES
            continue
        r = st.evaluate(req, caller)
        if r is None:
            continue
        unresolved = r[0]
        if st.is_deny:
            (deny_maybe if unresolved else denies).append(st.match(unresolved))
        elif unresolved:
            out.matches.append(st.match(unresolved))
            out.labels.append(" AND ".join(unresolved))
            out.tri = max(out.tri, MAYBE)
        else:
            out.matches.append(st.certain)
            out.tri = YES
    return out


def scan_resource(
    statements: Sequence[CompiledStatement],
    req: Request,
    caller: Caller,
    denies: list[StatementMatch],
    deny_maybe: list[StatementMatch],
) -> dict[Via, Scan]:
    """A resource-based (or trust) policy: its Allows split by how the Principal named the caller."""
    by_via: dict[Via, Scan] = {}
    for st in statements:
        r = st.evaluate(req, caller)
        if r is None:
            continue
        unresolved, via = r
        if st.is_deny:
            (deny_maybe if unresolved else denies).append(st.match(unresolved))
            continue
        g = by_via.get(via)
        if g is None:
            g = by_via[via] = Scan()
        g.matches.append(st.match(unresolved))
        if unresolved:
            g.labels.append(" AND ".join(unresolved))
            g.tri = max(g.tri, MAYBE)
        else:
            g.tri = YES
    return by_via
