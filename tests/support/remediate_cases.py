"""Plans built by hand for the apply/revert tests: each deny tied to an escalation edge it cuts."""

from __future__ import annotations

import json
from typing import Any

from deescalate.model import Deny, Edge, Grant, Plan, PolicyPlacement, PrincipalPlan
from deescalate.remediate.apply import live_state
from deescalate.remediate.quotas import INLINE_POLICY_NAME, managed_policy_name, render_document

ACCT = "123456789012"


def user(name: str) -> str:
    return f"arn:aws:iam::{ACCT}:user/{name}"


def role(name: str) -> str:
    return f"arn:aws:iam::{ACCT}:role/{name}"


def tied(principal: str, n: int, action: str, resource: str, *, apply: bool = True) -> tuple[Deny, Edge]:
    """A deny and the escalation edge from `principal` it cuts (one grant: `action` on `resource`)."""
    edge = Edge(source=principal, target="ADMIN", technique=f"t-{n}",
                alternatives=((Grant(action=action, resource=resource),),))
    deny = Deny(id=f"d{n}", principal=principal, action=action, resource=resource, cuts=(edge.id,),
                techniques=(edge.technique,), why="test", apply=apply)
    return deny, edge


def principal_plan(principal: str, denies: tuple[Deny, ...], placement: PolicyPlacement, iam: Any) -> PrincipalPlan:
    active = any(d.apply for d in denies)
    name = (INLINE_POLICY_NAME if placement is PolicyPlacement.INLINE else managed_policy_name(principal))
    return PrincipalPlan(principal=principal, denies=denies, placement=placement, policy_name=name,
                         document=json.dumps(render_document(denies)) if active else "",
                         state=(live_state(iam, principal) or ()) if ":group/" not in principal else ())


def hand_plan(iam: Any, placements: dict[str, PolicyPlacement]) -> Plan:
    """Two tied denies per principal (its own inline-policy write, and PassRole on role/app)."""
    out, edges = [], []
    for n, (arn, placement) in enumerate(sorted(placements.items())):
        put = "iam:PutUserPolicy" if ":user/" in arn else "iam:PutRolePolicy"
        d1, e1 = tied(arn, 2 * n, put, arn)
        d2, e2 = tied(arn, 2 * n + 1, "iam:PassRole", role("app"))
        edges += [e1, e2]
        out.append(principal_plan(arn, (d1, d2), placement, iam))
    return Plan(account_id=ACCT, snapshot="hand", snapshot_time=None, principals=tuple(out), verified=True,
                edges=tuple(edges))
