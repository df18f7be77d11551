"""Combining the gates' three-valued results into a Decision, and decisions as shared values.

The rules are those of `evaluate.py`'s docstring (AWS's evaluation logic,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
identity side (identity policies AND boundary AND session policy) OR the resource-based policy in
the same account, AND both across accounts; a required trust/key policy must allow in every case;
then every SCP and RCP level must allow. `Authorizer.decide` settles the common case (same
account, no resource policy, boundary or session) itself and calls `combine` for the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

from deescalate.model import Decision, Outcome, Reason, StatementMatch
from deescalate.policy.match import Via
from deescalate.policy.scan import MAYBE, NO, YES, Scan
from deescalate.policy.subjects import PrincipalView, TargetView

# Decisions without statements are values: share one of each.
DENIED = {r: Decision(outcome=Outcome.DENY, reason=r) for r in Reason}
NO_ALLOW = DENIED[Reason.NO_ALLOW]


# Kinds of shared decision (`Decisions.shared`): outcome and reason. ALLOWED_UNLESS is CONDITIONAL
# on Denies alone, its conditions built from them.
ALLOWED, EXPLICIT_DENY, CONDITIONAL, ALLOWED_UNLESS = 0, 1, 2, 3
_KINDS = (
    (Outcome.ALLOW, Reason.ALLOWED),
    (Outcome.DENY, Reason.EXPLICIT_DENY),
    (Outcome.CONDITIONAL, Reason.ALLOWED),
    (Outcome.CONDITIONAL, Reason.ALLOWED),
)


class Decisions:
    """Decisions with statements, shared: a frozen `Decision` costs more to build than to look up,
    and most requests end in one of a few (the same statements of the same shared policies).

    Keyed by the identities of the `StatementMatch` objects (which compiled statements keep, one per
    statement and unresolved tuple); the decision holds them, so an id in a key cannot be reused.
    """

    __slots__ = ("_table",)

    LIMIT = 200_000

    def __init__(self) -> None:
        self._table: dict[tuple[int, tuple[int, ...], tuple[str, ...]], Decision] = {}

    def shared(
        self,
        kind: int,
        statements: Sequence[StatementMatch],
        conditions: tuple[str, ...] = (),
        deny_maybe: Sequence[StatementMatch] = (),
    ) -> Decision:
        """`deny_maybe` (ALLOWED_UNLESS): the Denies that may apply, the last of `statements`; the
        conditions follow from them, so they are built only when the decision is new."""
        key = (kind, tuple(map(id, statements)), conditions)
        hit = self._table.get(key)
        if hit is None:
            if len(self._table) >= self.LIMIT:
                self._table.clear()
            if deny_maybe:
                conditions = tuple(dict.fromkeys(denied_if(deny_maybe)))
            outcome, reason = _KINDS[kind]
            hit = self._table[key] = Decision(
                outcome=outcome, reason=reason, statements=tuple(statements), conditions=conditions
            )
        return hit


def guard_denied(reason: Reason, levels: list[Scan], names: tuple[str, ...]) -> Decision:
    """SCP or RCP denial naming the first level (`names`, root first) where nothing allows."""
    kind = "SCP" if reason is Reason.SCP else "RCP"
    where = next((names[i] for i, g in enumerate(levels) if g.tri == NO and i < len(names)), "a level")
    return Decision(
        outcome=Outcome.DENY,
        reason=reason,
        detail=f"no {kind} attached to {where} allows it (an {kind} must allow at every level)",
    )


def combine(
    decisions: Decisions,
    p: PrincipalView,
    target: TargetView,
    *,
    identity: Scan,
    boundary: Scan | None,
    session: Scan | None,
    scps: list[Scan],
    rcps: list[Scan],
    by_via: dict[Via, Scan],
    deny_maybe: list[StatementMatch],
    scp_names: tuple[str, ...],
    rcp_names: tuple[str, ...],
    complete: bool = False,
) -> Decision:
    """The decision when no certain Deny applied (`deny_maybe`: Denies that apply under conditions).

    `complete`: what the snapshot lacks (a managed policy or boundary, another account's resource
    policy) allows nothing, so no gate is MAYBE (the scans are already definite)."""
    labels: list[str] = []
    b_tri = YES if boundary is None else boundary.tri
    if p.boundary_missing is not None:
        b_tri, labels = (NO, []) if complete else (MAYBE, [p.boundary_missing])
    s_tri = YES if session is None else session.tri
    id_tri = identity.tri
    if id_tri == NO and p.missing and not complete:
        id_tri = MAYBE
        labels.extend(p.missing)
    i_tri = min(id_tri, b_tri, s_tri)
    d_tri = by_via[Via.DIRECT].tri if Via.DIRECT in by_via else NO
    r_tri = by_via[Via.ROLE].tri if Via.ROLE in by_via else NO
    a_tri = by_via[Via.ACCOUNT].tri if Via.ACCOUNT in by_via else NO
    limited = min(r_tri, b_tri, s_tri)  # a grant to the role ARN still meets boundary and session
    cross = bool(target.account) and target.account != p.caller.account
    if target.unknown_other_account and not complete:
        # The resource is in another account the snapshot does not hold: its policy is unknown.
        res_tri = MAYBE
        labels.append(f"the resource-based policy of {target.label} (account {target.account}) allows it")
        allowed = min(i_tri, res_tri)
    elif cross:
        res_tri = max(d_tri, r_tri, a_tri)
        allowed = min(i_tri, res_tri)
    elif target.mandatory:
        res_tri = max(d_tri, limited, a_tri)
        allowed = max(d_tri, limited, min(a_tri, i_tri))
    else:
        res_tri = max(d_tri, limited)
        allowed = max(i_tri, d_tri, limited)
    scp_tri = YES
    for g in scps:
        scp_tri = min(scp_tri, g.tri)
    rcp_tri = YES
    for g in rcps:
        rcp_tri = min(rcp_tri, g.tri)
    final = min(allowed, scp_tri, rcp_tri)

    if final == NO:
        if scp_tri == NO:
            return guard_denied(Reason.SCP, scps, scp_names)
        if rcp_tri == NO:
            return guard_denied(Reason.RCP, rcps, rcp_names)
        if (target.mandatory or cross) and res_tri == NO:
            why = "a cross-account request needs it" if cross else "it is required"
            what = target.label
            if target.policy is None:
                what += " (no resource-based policy)"
            return Decision(
                outcome=Outcome.DENY,
                reason=Reason.NO_ALLOW,
                detail=f"{what} does not allow this principal; {why}",
            )
        side = max(identity.tri, r_tri)
        if side > NO and b_tri == NO and p.boundary is not None:
            return Decision(
                outcome=Outcome.DENY,
                reason=Reason.BOUNDARY,
                detail=f"permissions boundary {p.boundary.policy.ref.arn or p.boundary.policy.ref.name} "
                "does not allow it",
            )
        if side > NO and s_tri == NO:
            return Decision(
                outcome=Outcome.DENY,
                reason=Reason.SESSION_POLICY,
                detail="no session policy allows it",
            )
        return NO_ALLOW

    statements: list[StatementMatch] = list(identity.matches)
    for g in by_via.values():
        statements.extend(g.matches)
    if boundary is not None:
        statements.extend(boundary.matches)
    if session is not None:
        statements.extend(session.matches)
    statements.extend(deny_maybe)
    if final == YES:
        # Only Denies that may apply stand between the request and an Allow.
        if deny_maybe:
            return decisions.shared(ALLOWED_UNLESS, statements, deny_maybe=deny_maybe)
        return decisions.shared(ALLOWED, statements)
    conditions: list[str] = []
    if final == MAYBE:
        groups = [identity, *by_via.values(), *scps, *rcps]
        groups += [g for g in (boundary, session) if g is not None]
        for g in groups:
            if g.tri == MAYBE:
                conditions.extend(f"allowed if {lab}" for lab in g.labels)
        conditions.extend(labels)
    conditions.extend(denied_if(deny_maybe))
    return decisions.shared(CONDITIONAL, statements, tuple(dict.fromkeys(conditions)))


def denied_if(deny_maybe: Sequence[StatementMatch]) -> list[str]:
    return [f"denied if {' AND '.join(m.unresolved)}" for m in deny_maybe]
