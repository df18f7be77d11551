"""A toy analysis for planner tests: fixed edges, cut by whatever deny statements the snapshot holds.

It reads the snapshot the verifier built (the real deny policy documents, inline or managed), so a
plan verifies here only if its rendered documents really deny the grants. It also models undoing
the fix: a principal listed in `can_undo` gets an X-RemoveDeny self-escalation edge as soon as a
`deescalate-…` policy exists on it, cut only by denying DeleteUserPolicy/PutUserPolicy on itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from deescalate.model import ADMIN, Edge, Effect, Finding, Grant, Report, Snapshot
from deescalate.policy.match import action_matches, resource_matches


def grant(action: str, resource: str) -> Grant:
    return Grant(action=action, resource=resource)


def edge(source: str, technique: str, *alternatives: Iterable[tuple[str, str]], target: str = ADMIN,
         via: str | None = None) -> Edge:
    return Edge(
        source=source,
        target=target,
        technique=technique,
        via=via,
        alternatives=tuple(tuple(grant(a, r) for a, r in alt) for alt in alternatives),
    )


def denied_pairs(snapshot: Snapshot, arn: str) -> list[tuple[str, str]]:
    principal = snapshot.users.get(arn) or snapshot.roles.get(arn)
    assert principal is not None
    policies = list(principal.inline_policies)
    policies += [snapshot.policies[a].document for a in principal.managed_policy_arns if a in snapshot.policies]
    out = []
    for pol in policies:
        for st in pol.statements:
            if st.effect is Effect.DENY:
                out += [(a, r) for a in st.actions or () for r in st.resources or ()]
    return out


def _denied(pairs: list[tuple[str, str]], g: Grant) -> bool:
    return any(action_matches(a, g.action) and resource_matches(r, g.resource) for a, r in pairs)


@dataclass
class ToyAnalysis:
    edges: list[Edge]
    can_undo: set[str] = field(default_factory=set)
    # Like the real analysis: X-RemoveDeny's alternatives are "delete the deny policy, then escalate
    # another way", listing the later way's grants too, though the policy being deleted denies them.
    undo_then: bool = False
    calls: int = 0

    def __call__(self, snapshot: Snapshot) -> Report:
        self.calls += 1
        live: dict[str, list[Edge]] = {}
        for e in self._all_edges(snapshot):
            pairs = denied_pairs(snapshot, e.source)
            # For undoing the fix only the removal itself can be blocked (the rest is gone with it).
            checked = (lambda alt: alt[:1]) if e.technique == "X-RemoveDeny" else (lambda alt: alt)
            alts = tuple(alt for alt in e.alternatives if not any(_denied(pairs, g) for g in checked(alt)))
            if alts or not e.alternatives:
                live.setdefault(e.source, []).append(Edge(
                    source=e.source, target=e.target, technique=e.technique, via=e.via, alternatives=alts))
        findings = tuple(
            Finding(principal=p, techniques=tuple(sorted({e.technique for e in es})), paths=((es[0],),),
                    edges=tuple(es))
            for p, es in sorted(live.items())
        )
        return Report(account_id=snapshot.account_id, admins=(), findings=findings,
                      edges=tuple(e for es in live.values() for e in es))

    def _all_edges(self, snapshot: Snapshot) -> list[Edge]:
        out = list(self.edges)
        for arn in sorted(self.can_undo):
            principal = snapshot.users.get(arn)
            if principal and (
                any(p.ref.name.startswith("deescalate-") for p in principal.inline_policies)
                or any("deescalate-" in a for a in principal.managed_policy_arns)
            ):
                removals = [("iam:DeleteUserPolicy", arn), ("iam:PutUserPolicy", arn), ("iam:DetachUserPolicy", arn)]
                if self.undo_then:
                    later = [[(g.action, g.resource) for g in alt] for e in self.edges if e.source == arn
                             for alt in e.alternatives]
                    out.append(edge(arn, "X-RemoveDeny", *[[r, *w] for r in removals for w in later]))
                else:
                    out.append(edge(arn, "X-RemoveDeny", *[[r] for r in removals]))
        return out
