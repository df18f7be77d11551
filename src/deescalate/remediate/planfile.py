"""The plan file: a versioned JSON document a person reads, edits, and hands to `apply`.

Layout (schema_version 1):

    {"schema_version": 1, "kind": "deescalate-plan", "account_id": "...", "snapshot": "...",
     "snapshot_time": "...", "targets": [...], "verified": true, "remaining": [<edge>, ...],
     "principals": [
       {"principal": "arn:...", "placement": "inline", "policy_name": "deescalate-deny",
        "unfixable": null, "minimal": true, "state": ["inline x 1f2e...", ...],
        "denies": [{"id": "d1", "apply": true, "action": "iam:PassRole", "resource": "arn:...",
                    "cuts": ["<edge id>", ...], "techniques": ["iam-..."], "why": "..."}],
        "document": {<the policy document apply writes>}}]}

What a reviewer edits is `apply` on a deny (false keeps that permission). `document` is derived:
`plan --check` and `apply` re-render it from the denies still switched on, so an edit to the
document itself has no effect (the check says so). Unknown keys are an error rather than ignored,
so a typo such as "aply" cannot silently keep a deny switched on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deescalate.arn import parse_arn
from deescalate.errors import MissingInputError, UsageError, empty_file
from deescalate.model import Deny, DenyChoice, Edge, Grant, Plan, PrincipalPlan

SCHEMA_VERSION = 1
KIND = "deescalate-plan"


def edge_to_json(edge: Edge) -> dict[str, Any]:
    """One edge as the plan file writes it (the JSON report adds `conditional`)."""
    return {
        "id": edge.id,
        "source": edge.source,
        "target": edge.target,
        "technique": edge.technique,
        "via": edge.via,
        "description": edge.description,
        "conditions": list(edge.conditions),
        "alternatives": [
            [_grant_to_json(g) for g in alt]
            for alt in edge.alternatives
        ],
    }


def _grant_to_json(g: Grant) -> dict[str, Any]:
    out: dict[str, Any] = {
        "action": g.action, "resource": g.resource, "context": {k: list(v) for k, v in g.context}
    }
    if g.principal:  # a step another principal takes (a composed edge)
        out["principal"] = g.principal
    return out


def deny_to_json(d: Deny) -> dict[str, Any]:
    """One deny as the plan file (and the JSON report's plan) writes it."""
    return {
        "id": d.id,
        "apply": d.apply,
        "action": d.action,
        "resource": d.resource,
        "cuts": list(d.cuts),
        "techniques": list(d.techniques),
        "why": d.why,
        "score": None if d.disruption is None else {"disruption": d.disruption, "narrowness": d.narrowness},
        "alternatives": [
            {"action": c.action, "resource": c.resource,
             "disruption": c.disruption, "narrowness": c.narrowness}
            for c in d.alternatives
        ],
        "usage": d.usage,
    }


def _score_from_json(
    rd: dict[str, Any], where: str
) -> tuple[int | None, int | None, tuple[DenyChoice, ...]]:
    """The planner's score and alternatives of a deny: informational, type-checked, never trusted."""
    score = rd.get("score")
    disruption = narrowness = None
    if score is not None:
        sw = f"{where}.score"
        score = _check_keys(score, {"disruption", "narrowness"}, {"disruption", "narrowness"}, sw)
        disruption, narrowness = _int(score, "disruption", sw), _int(score, "narrowness", sw)
    raw_alts = rd.get("alternatives", [])
    if not isinstance(raw_alts, list):
        raise UsageError(f"{where}.alternatives must be a list")
    alts = []
    for i, ra in enumerate(raw_alts):
        aw = f"{where}.alternatives[{i}]"
        ra = _check_keys(ra, _CHOICE, _CHOICE, aw)
        alts.append(DenyChoice(action=_str(ra, "action", aw), resource=_str(ra, "resource", aw),
                               disruption=_int(ra, "disruption", aw), narrowness=_int(ra, "narrowness", aw)))
    return disruption, narrowness, tuple(alts)


def _int(raw: dict[str, Any], key: str, where: str) -> int:
    value = raw[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise UsageError(f"{where}.{key} must be an integer")
    return value


def edge_from_json(raw: dict[str, Any]) -> Edge:
    return Edge(
        source=raw["source"],
        target=raw["target"],
        technique=raw["technique"],
        via=raw.get("via"),
        description=raw.get("description", ""),
        conditions=tuple(raw.get("conditions", ())),
        alternatives=tuple(
            tuple(
                Grant(
                    action=g["action"],
                    resource=g["resource"],
                    context=tuple((k, tuple(v)) for k, v in g.get("context", {}).items()),
                    principal=g.get("principal", ""),
                )
                for g in alt
            )
            for alt in raw.get("alternatives", ())
        ),
    )


def plan_to_json(plan: Plan) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": KIND,
        "account_id": plan.account_id,
        "snapshot": plan.snapshot,
        "snapshot_time": plan.snapshot_time,
        "targets": list(plan.targets),
        "verified": plan.verified,
        "remaining": [edge_to_json(e) for e in plan.remaining],
        "principals": [
            {
                "principal": p.principal,
                "placement": p.placement,
                "policy_name": p.policy_name,
                "unfixable": p.unfixable,
                "minimal": p.minimal,
                "state": list(p.state),
                "denies": [deny_to_json(d) for d in p.denies],
                "document": json.loads(p.document) if p.document else None,
            }
            for p in plan.principals
        ],
    }


def dumps(plan: Plan) -> str:
    return json.dumps(plan_to_json(plan), indent=2) + "\n"


def write_plan(plan: Plan, path: str | Path) -> None:
    try:
        Path(path).write_text(dumps(plan), encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot write the plan to {path}: {e.strerror}") from e


_TOP = {"schema_version", "kind", "account_id", "snapshot", "snapshot_time", "targets", "verified",
        "remaining", "principals"}
_PRINCIPAL = {"principal", "placement", "policy_name", "unfixable", "minimal", "state", "denies", "document"}
_DENY = {"id", "apply", "action", "resource", "cuts", "techniques", "why", "score", "alternatives", "usage"}
_CHOICE = {"action", "resource", "disruption", "narrowness"}


def _check_keys(raw: Any, allowed: set[str], required: set[str], where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise UsageError(f"{where}: expected a JSON object")
    unknown = set(raw) - allowed
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    missing = required - set(raw)
    if missing:
        raise UsageError(f"{where}: missing key(s) {sorted(missing)}")
    return raw


def _str(raw: dict[str, Any], key: str, where: str) -> str:
    value = raw[key]
    if not isinstance(value, str):
        raise UsageError(f"{where}.{key} must be a string")
    return value


def _principal(raw: dict[str, Any], where: str) -> str:
    """The principal ARN: an IAM user or role (arn:PARTITION:iam::ACCOUNT:user/NAME or role/NAME)."""
    text = _str(raw, "principal", where)
    arn = parse_arn(text)
    if arn is None or arn.service != "iam" or not arn.account or arn.resource_type not in ("user", "role"):
        raise UsageError(f"{where}.principal: {text!r} is not an IAM user or role ARN")
    return text


def plan_from_json(raw: Any, where: str = "plan") -> Plan:
    top = _check_keys(raw, _TOP, {"schema_version", "account_id", "principals"}, where)
    if top["schema_version"] != SCHEMA_VERSION:
        raise UsageError(
            f"{where}: schema_version {top['schema_version']!r} is not supported (this version reads "
            f"{SCHEMA_VERSION}); re-run `deescalate plan`"
        )
    if top.get("kind", KIND) != KIND:
        raise UsageError(f"{where}: kind {top.get('kind')!r} is not a deescalate plan")
    principals: list[PrincipalPlan] = []
    for i, rp in enumerate(top["principals"]):
        pw = f"{where}.principals[{i}]"
        rp = _check_keys(rp, _PRINCIPAL, {"principal", "denies"}, pw)
        principal = _principal(rp, pw)
        denies: list[Deny] = []
        for j, rd in enumerate(rp["denies"]):
            dw = f"{pw}.denies[{j}]"
            rd = _check_keys(rd, _DENY, {"id", "apply", "action", "resource"}, dw)
            if not isinstance(rd["apply"], bool):
                raise UsageError(f"{dw}.apply must be true or false, found {rd['apply']!r}")
            disruption, narrowness, alternatives = _score_from_json(rd, dw)
            denies.append(
                Deny(
                    id=_str(rd, "id", dw),
                    principal=principal,
                    action=_str(rd, "action", dw),
                    resource=_str(rd, "resource", dw),
                    cuts=tuple(rd.get("cuts", ())),
                    techniques=tuple(rd.get("techniques", ())),
                    why=rd.get("why", ""),
                    apply=rd["apply"],
                    disruption=disruption,
                    narrowness=narrowness,
                    alternatives=alternatives,
                    usage=_str(rd, "usage", dw) if "usage" in rd else "",
                )
            )
        document = rp.get("document")
        principals.append(
            PrincipalPlan(
                principal=principal,
                denies=tuple(denies),
                placement=rp.get("placement", "inline"),
                policy_name=rp.get("policy_name", ""),
                document=json.dumps(document, indent=2) if document else "",
                unfixable=rp.get("unfixable"),
                state=tuple(rp.get("state", ())),
                minimal=bool(rp.get("minimal", True)),
            )
        )
    try:
        remaining = tuple(edge_from_json(e) for e in top.get("remaining", ()))
    except (KeyError, TypeError, AttributeError) as e:
        raise UsageError(f"{where}.remaining: malformed edge ({e})") from e
    return Plan(
        account_id=_str(top, "account_id", where),
        snapshot=top.get("snapshot", ""),
        snapshot_time=top.get("snapshot_time"),
        principals=tuple(principals),
        remaining=remaining,
        verified=bool(top.get("verified", False)),
        targets=tuple(top.get("targets", ())),
    )


def read_plan(path: str | Path) -> Plan:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise MissingInputError("plan", path) from e
    except OSError as e:
        raise UsageError(f"cannot read the plan {path}: {e.strerror}") from e
    if not text.strip():
        raise UsageError(empty_file(path))
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise UsageError(f"{path}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from e
    return plan_from_json(raw, where=str(path))
