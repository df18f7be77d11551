"""Who is an administrator: a deterministic test over a principal's own policies, with its reason.

The rule (docs/analysis.md explains it with examples):

A principal is an administrator when it is allowed every action on every resource, exactly as a
holder of AdministratorAccess in the same account is:

1. one of its identity policies (inline, attached managed — the default version —, or of one of
   its groups) holds an Allow statement of Action "*" on Resource "*" with no Condition;
2. if it has a permissions boundary, the boundary holds such a statement too (the boundary caps
   identity policies: https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html);
3. no Deny statement without a Condition sits in any of those policies or the boundary (an
   explicit Deny always wins:
   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
   A Deny that has a Condition (MFA required, a source IP, a region) restricts *how* the admin
   works, not *what* it can do: it is tolerated and named in the reason.

SCPs and RCPs apply alike to every principal of an account, so they cut an administrator no more
than they cut AdministratorAccess itself: they are not part of the test. (An SCP that singles out
principals by aws:PrincipalArn is a known blind spot, documented.)

No sampling: the test reads statements, so the same snapshot always gives the same verdict.
`iam:*` alone fails rule 1; such a principal is a self-escalation finding, not an admin.
"""

from __future__ import annotations

from collections.abc import Iterator

from deescalate.model import Effect, Policy, Role, Snapshot, Statement, User

ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"


def identity_policies(snapshot: Snapshot, principal: User | Role) -> Iterator[Policy]:
    """Every identity policy that applies to the principal (the default version of managed ones)."""
    yield from principal.inline_policies
    for arn in principal.managed_policy_arns:
        mp = snapshot.policies.get(arn)
        if mp is not None:
            yield mp.document
    if isinstance(principal, User):
        for garn in principal.group_arns:
            group = snapshot.groups.get(garn)
            if group is None:
                continue
            yield from group.inline_policies
            for arn in group.managed_policy_arns:
                mp = snapshot.policies.get(arn)
                if mp is not None:
                    yield mp.document


def grants_everything(st: Statement) -> bool:
    """An Allow of every action on every resource, unconditionally (AdministratorAccess's statement)."""
    return (
        st.effect is Effect.ALLOW
        and not st.conditions
        and st.actions is not None
        and ("*" in st.actions or "*:*" in st.actions)
        and st.resources is not None
        and "*" in st.resources
    )


def full_policy(policies: list[Policy]) -> tuple[Policy, Statement] | None:
    for pol in policies:
        for st in pol.statements:
            if grants_everything(st):
                return pol, st
    return None


def denies(policies: list[Policy]) -> tuple[list[tuple[Policy, Statement]], list[tuple[Policy, Statement]]]:
    """(unconditional Deny statements, conditional Deny statements) in the policies."""
    hard: list[tuple[Policy, Statement]] = []
    soft: list[tuple[Policy, Statement]] = []
    for pol in policies:
        for st in pol.statements:
            if st.effect is Effect.DENY:
                (soft if st.conditions else hard).append((pol, st))
    return hard, soft


def boundary_policy(snapshot: Snapshot, arn: str) -> Policy | None:
    mp = snapshot.policies.get(arn)
    return mp.document if mp is not None else None


def boundary_caps(snapshot: Snapshot, principal: User | Role) -> str | None:
    """Why the principal's boundary keeps it below admin whatever its identity policies say, or None.

    This is what decides whether changing one's own policies (PutUserPolicy on oneself, ...) leads
    to admin: a boundary that does not allow everything still caps the new policy.
    """
    if principal.boundary_arn is None:
        return None
    if principal.boundary_arn == ADMINISTRATOR_ACCESS:
        return None
    doc = boundary_policy(snapshot, principal.boundary_arn)
    if doc is None:
        return f"its permissions boundary {principal.boundary_arn} is not in the snapshot"
    if full_policy([doc]) is None:
        return f"its permissions boundary {principal.boundary_arn} does not allow every action"
    hard, _ = denies([doc])
    if hard:
        return f"its permissions boundary {principal.boundary_arn} has a Deny ({hard[0][1].label()})"
    return None


def admin_reason(snapshot: Snapshot, principal: User | Role) -> str | None:
    """The reason the principal is an administrator, or None when it is not."""
    policies = list(identity_policies(snapshot, principal))
    full = full_policy(policies)
    if full is None:
        return None
    cap = boundary_caps(snapshot, principal)
    if cap is not None:
        return None
    if principal.boundary_arn is not None:
        doc = boundary_policy(snapshot, principal.boundary_arn)
        if doc is not None:
            policies.append(doc)
    hard, soft = denies(policies)
    if hard:
        return None
    pol, st = full
    reason = f'allows "*" on "*" without condition ({pol.ref.label()}, {st.label()}) and no Deny applies'
    if principal.boundary_arn is not None:
        reason += f"; its boundary {principal.boundary_arn} allows everything too"
    if soft:
        names = ", ".join(f"{p.ref.label()} {s.label()}" for p, s in soft[:3])
        reason += f"; conditional Deny statements only restrict the context ({names})"
    return reason


def is_admin(snapshot: Snapshot, arn: str) -> bool:
    principal = snapshot.users.get(arn) or snapshot.roles.get(arn)
    return principal is not None and admin_reason(snapshot, principal) is not None


def policy_grants_admin(policies: list[Policy]) -> bool:
    """Whether these policies alone would make their holder admin (used for groups and new versions)."""
    return full_policy(policies) is not None and not denies(policies)[0]
