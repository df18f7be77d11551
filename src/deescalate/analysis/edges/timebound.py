"""Settle conditions on time that the passing of time has already decided.

The evaluator leaves `aws:CurrentTime` and `aws:TokenIssueTime` unknown (it does not guess the
request time) and returns CONDITIONAL. But time only moves forward: any escalation happens at or
after the snapshot was taken, with credentials issued at most 36 hours before it (the longest
session AWS issues). So `DateLessThan aws:TokenIssueTime 2020-01-01` can never hold for a 2025
snapshot, and `DateGreaterThan aws:TokenIssueTime 2020-01-01` always does (IAM-Vulnerable's
fp5/fn3 tool tests). Conditions on dates after the snapshot stay CONDITIONAL: those are real
time windows.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-tokenissuetime
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date

Only the shapes the evaluator writes are read: each condition of a CONDITIONAL decision is
"allowed if A AND B ..." or "denied if ...", each conjunct `Operator key ["value", ...]`.
- every "allowed if" has a conjunct that can no longer hold (and nothing is "denied if") -> DENY;
- every condition is an "allowed if" whose conjuncts all hold from now on -> ALLOW.
Anything else is left as the evaluator said.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from deescalate.model import Decision, Outcome, Reason

MAX_SESSION = timedelta(hours=36)  # GetSessionToken / GetFederationToken maximum
_OPS = {"datelessthan", "datelessthanequals", "dategreaterthan", "dategreaterthanequals"}
_KEYS = {"aws:currenttime": timedelta(0), "aws:tokenissuetime": MAX_SESSION}


def parse_time(text: str) -> datetime | None:
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text), tz=UTC)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _verdict(conjunct: str, now: datetime) -> bool | None:
    """True: holds for every request from `now` on; False: never holds again; None: depends."""
    parts = conjunct.split(" ", 2)
    if len(parts) != 3:
        return None
    op, key, raw = parts[0].lower(), parts[1].lower(), parts[2]
    if op not in _OPS or key not in _KEYS:
        return None
    try:
        values = json.loads(raw)
    except json.JSONDecodeError:
        return None
    if not isinstance(values, list) or not values:
        return None
    start = now - _KEYS[key]  # the earliest value the key can take from now on
    results: list[bool | None] = []
    for v in values:
        limit = parse_time(str(v))
        if limit is None:
            return None
        if op.startswith("datelessthan"):
            # t < limit for some t >= start: impossible once limit <= start.
            never = limit < start if op.endswith("equals") else limit <= start
            results.append(False if never else None)
        else:
            always = limit < start if op == "dategreaterthan" else limit <= start
            results.append(True if always else None)
    # Several values are ORed.
    if any(r is True for r in results):
        return True
    if all(r is False for r in results):
        return False
    return None


def settle(decision: Decision, now: datetime | None) -> Decision:
    if now is None or decision.outcome is not Outcome.CONDITIONAL or not decision.conditions:
        return decision
    allows: list[list[bool | None]] = []
    for cond in decision.conditions:
        if not cond.startswith("allowed if "):
            return decision  # a "denied if" or another kind of doubt: leave it
        allows.append([_verdict(c, now) for c in cond[len("allowed if ") :].split(" AND ")])
    if all(any(v is False for v in conj) for conj in allows):
        return Decision(outcome=Outcome.DENY, reason=Reason.NO_ALLOW, statements=decision.statements)
    if all(all(v is True for v in conj) for conj in allows):
        return Decision(outcome=Outcome.ALLOW, reason=Reason.ALLOWED, statements=decision.statements)
    return decision
