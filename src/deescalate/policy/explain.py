"""Decisions as data and as text: what `deescalate explain` prints (the library never prints)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from deescalate import sar
from deescalate.errors import UsageError
from deescalate.model import Decision, Outcome, Snapshot, StatementMatch


def statement_json(m: StatementMatch) -> dict[str, Any]:
    ref = m.policy
    return {
        "policy": ref.arn or ref.name,
        "kind": ref.kind.value,
        "name": ref.name,
        "arn": ref.arn,
        "version": ref.version,
        "attached_to": ref.attached_to,
        "statement": m.statement_index,
        "sid": m.sid,
        "effect": m.effect.value,
        "unresolved": list(m.unresolved),
    }


def decision_json(
    decision: Decision,
    *,
    principal: str,
    action: str,
    resource: str,
    context: Mapping[str, str | Sequence[str]] | None = None,
    complete_context: bool = False,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "principal": principal,
        "action": action,
        "resource": resource,
        "context": {k: (v if isinstance(v, str) else list(v)) for k, v in (context or {}).items()},
        "decision": decision.outcome.value,
        "reason": decision.reason.value,
        "statements": [statement_json(m) for m in decision.statements],
        "conditions": list(decision.conditions),
        "detail": decision.detail,
    }
    if complete_context:
        out["complete_context"] = True
    return out


def statement_text(m: StatementMatch) -> str:
    where = m.policy.label()
    sid = f" ({m.sid})" if m.sid else ""
    line = f"{m.effect.value:<5}  {where}, statement {m.statement_index}{sid}"
    if m.unresolved:
        line += "\n         depends on: " + "; ".join(m.unresolved)
    return line


_REASON_TEXT = {
    "allowed": "allowed",
    "explicit deny": "an explicit Deny statement applies",
    "no allow": "no policy allows it (implicit deny)",
    "scp": "a service control policy level does not allow it",
    "rcp": "a resource control policy level does not allow it",
    "boundary": "the permissions boundary does not allow it",
    "session policy": "the session policy does not allow it",
    "protected resource": "AWS does not let anyone make this change, whatever the policies say",
}


def decision_text(decision: Decision, *, principal: str, action: str, resource: str) -> str:
    reason = _REASON_TEXT.get(decision.reason.value, decision.reason.value)
    if decision.outcome is Outcome.CONDITIONAL:
        reason = "allowed only if the conditions below hold"
    lines = [f"{decision.outcome.value.upper()}: {principal} {action} on {resource}", f"reason: {reason}"]
    if decision.detail:
        lines.append(f"detail: {decision.detail}")
    if decision.statements:
        lines.append("statements:")
        lines.extend("  " + statement_text(m) for m in decision.statements)
    if decision.conditions:
        lines.append("conditions (not knowable from the snapshot):")
        lines.extend(f"  {c}" for c in decision.conditions)
    return "\n".join(lines)


def resolve_principal(snapshot: Snapshot, name: str) -> str:
    """A user/role ARN of the snapshot, given its ARN or its unique name. UsageError otherwise."""
    if name in snapshot.users or name in snapshot.roles:
        return name
    matches = [arn for arn, u in snapshot.users.items() if u.name == name]
    matches += [arn for arn, r in snapshot.roles.items() if r.name == name]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UsageError(f"principal {name!r} is ambiguous: {', '.join(sorted(matches))}; give the ARN")
    where = f" {snapshot.source}" if snapshot.source else ""
    raise UsageError(
        f"principal {name!r} is not a user or role in the snapshot{where} "
        f"({len(snapshot.users)} users, {len(snapshot.roles)} roles); give a user or role ARN"
    )


def parse_context(pairs: Sequence[str]) -> dict[str, str | list[str]]:
    """`KEY=VALUE` pairs; a key given twice becomes multi-valued; `KEY=` alone means absent."""
    out: dict[str, list[str]] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--context {pair!r}: expected KEY=VALUE, e.g. aws:SourceIp=203.0.113.7")
        values = out.setdefault(key.strip(), [])
        if value:
            values.append(value)
    return {k: (v[0] if len(v) == 1 else v) for k, v in out.items()}


def check_action(action: str, where: str = "--action") -> None:
    """A request's action must be one AWS knows (its Service Authorization Reference): a typo such
    as `iam:PassRol` would otherwise be answered "implicit deny". UsageError naming the closest
    known action otherwise."""
    service, sep, name = action.partition(":")
    if not sep or not service or not name:
        hint = sar.closest_action(action)
        raise UsageError(
            f"{where} {action!r}: an action is service:Name, e.g. iam:PassRole"
            + (f"; did you mean {hint}?" if hint else "")
        )
    if sar.is_known(action):
        return
    hint = sar.closest_action(action)
    raise UsageError(
        f"{where} {action!r} is not an action in AWS's Service Authorization Reference "
        f"({sar.reference_version()})" + (f"; did you mean {hint}?" if hint else "")
    )
