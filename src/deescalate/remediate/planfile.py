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

plus `"edges"` (the escalation edges the denies were solved against; a deny naming none of them in
`cuts` is hand-written, "manual") and `"digest"`: SHA-256 over the canonical JSON of everything
else in the file, written by `plan` and `plan --check`.

What a reviewer edits is `apply` on a deny (false keeps that permission), then runs `plan --check`,
which re-renders the documents, re-verifies, and records the result with a new digest.
`read_checked_plan` (what apply reads) refuses a file whose digest is missing or does not match:
any edit after the check, however consistent (denies and document edited together, a placement or
policy name changed), is refused, and the library's own checks (`safety.vet_plan`) stand behind it.
Unknown keys, wrong types, lone surrogates and JSON nested too deeply are errors naming the key
(UsageError, exit 2), never a traceback; a typo such as "aply" cannot silently keep a deny on.
The file is written 0600.
"""

from __future__ import annotations

import hashlib
import json
import reprlib
from collections.abc import Callable
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any

from deescalate.arn import parse_arn
from deescalate.errors import MissingInputError, PlanError, UsageError, empty_file
from deescalate.files import (
    NOT_REGULAR,
    NotRegularFileError,
    has_lone_surrogate,
    read_regular,
    too_long,
    write_private,
)
from deescalate.model import Deny, DenyChoice, Edge, Grant, Plan, PolicyPlacement, PrincipalPlan

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
    alts = []
    for i, ra in enumerate(_list(rd, "alternatives", where)):
        aw = f"{where}.alternatives[{i}]"
        ra = _check_keys(ra, _CHOICE, _CHOICE, aw)
        alts.append(DenyChoice(action=_str(ra, "action", aw), resource=_str(ra, "resource", aw),
                               disruption=_int(ra, "disruption", aw), narrowness=_int(ra, "narrowness", aw)))
    return disruption, narrowness, tuple(alts)


def _int(raw: dict[str, Any], key: str, where: str) -> int:
    value = raw[key]
    if not isinstance(value, int) or isinstance(value, bool):
        raise PlanError(f"{where}.{key} must be an integer")
    return value


def edge_from_json(raw: Any, where: str = "edge") -> Edge:
    e = _check_keys(raw, _EDGE, {"source", "target", "technique"}, where)
    alternatives = []
    for i, alt in enumerate(_list(e, "alternatives", where)):
        grants = []
        for j, g in enumerate(alt if isinstance(alt, list) else _bad(f"{where}.alternatives[{i}]", "a list")):
            gw = f"{where}.alternatives[{i}][{j}]"
            g = _check_keys(g, {"action", "resource", "context", "principal"}, {"action", "resource"}, gw)
            context = g.get("context", {})
            if not isinstance(context, dict) or not all(
                isinstance(v, list) and all(isinstance(x, str) for x in v) for v in context.values()
            ):
                raise PlanError(f"{gw}.context must map keys to lists of strings")
            grants.append(Grant(action=_str(g, "action", gw), resource=_str(g, "resource", gw),
                                context=tuple((k, tuple(v)) for k, v in context.items()),
                                principal=_str(g, "principal", gw, "")))
        alternatives.append(tuple(grants))
    via = e.get("via")
    if via is not None and not isinstance(via, str):
        raise PlanError(f"{where}.via must be a string or null")
    return Edge(
        source=_str(e, "source", where),
        target=_str(e, "target", where),
        technique=_str(e, "technique", where),
        via=via,
        description=_str(e, "description", where, ""),
        conditions=_strs(e, "conditions", where),
        alternatives=tuple(alternatives),
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
        "edges": [edge_to_json(e) for e in plan.edges],
        "principals": [
            {
                "principal": p.principal,
                "placement": str(p.placement),
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


def plan_digest(raw: dict[str, Any]) -> str:
    """SHA-256 of the plan's canonical JSON (keys sorted, no spaces, ASCII), the digest key left out."""
    body = {k: v for k, v in raw.items() if k != "digest"}
    try:
        text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    except (RecursionError, ValueError, TypeError) as e:
        raise PlanError(f"the plan cannot be digested ({type(e).__name__}): nested too deeply, "
                        "or not JSON") from e
    return hashlib.sha256(text.encode()).hexdigest()


# Values written on one line: an edge (of "edges" / "remaining") and a deny's long lists. The rest
# is indented as json.dumps(indent=2) would (what a reviewer reads and edits: denies, documents).
# json.dumps with an indent runs Python's pure encoder: a plan of 60,000 edges of a dozen
# alternatives each took 26 s and 692 MiB that way; one line per edge (the C encoder) takes 12.7 s
# and 485 MiB, its digest included (docs/remediation.md).
_ONE_LINE_ITEMS = frozenset({"edges", "remaining"})
_ONE_LINE = frozenset({"cuts", "alternatives", "techniques", "conditions"})


def _key_text(k: object) -> str:
    """A non-string key as json.dumps turns it into one (and the same error for other types)."""
    if k is None or isinstance(k, (bool, int, float)):
        return json.dumps(k)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(k).__name__}")


# Leaves by exact type, written as json.dumps writes them (subclasses take the general path).
_LEAF: dict[type, Callable[[Any], str]] = {
    str: encode_basestring_ascii,
    int: int.__repr__,
    bool: lambda b: "true" if b else "false",
    type(None): lambda _: "null",
    float: json.dumps,  # NaN / Infinity / repr: the encoder's own rules (floats are rare here)
}


def layout_json(
    value: Any,
    indent: str,
    out: list[str],
    *,
    one_line: frozenset[str] = frozenset(),
    one_line_items: frozenset[str] = frozenset(),
    flat_items: bool = False,
) -> None:
    """Append `value` as json.dumps(value, indent=2) writes it, each line after the first
    indented by `indent` too — but keys in `one_line` and the items of top-level keys in
    `one_line_items` written on one line (the C encoder). With neither, the bytes are exactly
    json.dumps(value, indent=2)'s with "\n" replaced by "\n" + indent, in a fraction of the time
    (that encoder passes every value up a chain of generators, one per level)."""
    leaf = _LEAF.get(type(value))
    if leaf is not None:
        out.append(leaf(value))
    elif isinstance(value, dict) and value:
        inner = indent + "  "
        out.append("{")
        sep = "\n" + inner
        for k, v in value.items():
            out.append(sep + encode_basestring_ascii(k if isinstance(k, str) else _key_text(k)) + ": ")
            sep = ",\n" + inner
            leaf = _LEAF.get(type(v))
            if leaf is not None:
                out.append(leaf(v))
            elif k in one_line:
                out.append(json.dumps(v))
            else:
                layout_json(v, inner, out, one_line=one_line, one_line_items=one_line_items,
                            flat_items=k in one_line_items and indent == "")
        out.append("\n" + indent + "}")
    elif isinstance(value, (list, tuple)) and value:
        inner = indent + "  "
        out.append("[")
        sep = "\n" + inner
        for v in value:
            out.append(sep)
            sep = ",\n" + inner
            leaf = _LEAF.get(type(v))
            if leaf is not None:
                out.append(leaf(v))
            elif flat_items:
                out.append(json.dumps(v))
            else:
                layout_json(v, inner, out, one_line=one_line, one_line_items=one_line_items)
        out.append("\n" + indent + "]")
    else:
        out.append(json.dumps(value))


def dumps(plan: Plan) -> str:
    """The plan file's text: indented, with each edge and each deny's lists on one line."""
    raw = plan_to_json(plan)
    raw["digest"] = plan_digest(raw)
    out: list[str] = []
    layout_json(raw, "", out, one_line=_ONE_LINE, one_line_items=_ONE_LINE_ITEMS)
    return "".join(out) + "\n"


def write_plan(plan: Plan, path: str | Path) -> None:
    try:
        write_private(path, dumps(plan))
    except OSError as e:
        raise UsageError(f"cannot write the plan to {path}: {e.strerror}") from e


_TOP = {"schema_version", "kind", "account_id", "snapshot", "snapshot_time", "targets", "verified",
        "remaining", "edges", "principals", "digest"}
_PRINCIPAL = {"principal", "placement", "policy_name", "unfixable", "minimal", "state", "denies", "document"}
_DENY = {"id", "apply", "action", "resource", "cuts", "techniques", "why", "score", "alternatives", "usage"}
_CHOICE = {"action", "resource", "disruption", "narrowness"}
_EDGE = {"id", "source", "target", "technique", "via", "description", "conditions", "alternatives"}


def _bad(where: str, what: str) -> Any:
    raise PlanError(f"{where} must be {what}")


def _check_keys(raw: Any, allowed: set[str], required: set[str], where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise PlanError(f"{where}: expected a JSON object")
    unknown = set(raw) - allowed
    if unknown:
        raise PlanError(f"{where}: unknown key(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    missing = required - set(raw)
    if missing:
        raise PlanError(f"{where}: missing key(s) {sorted(missing)}")
    return raw


def _str(raw: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise PlanError(f"{where}.{key} must be a string")
    return value


def _principal(raw: dict[str, Any], where: str) -> str:
    """The principal ARN: an IAM user or role (arn:PARTITION:iam::ACCOUNT:user/NAME or role/NAME)."""
    text = _str(raw, "principal", where)
    arn = parse_arn(text)
    if arn is None or arn.service != "iam" or not arn.account or arn.resource_type not in ("user", "role"):
        raise PlanError(f"{where}.principal: {text!r} is not an IAM user or role ARN")
    return text


def _opt_str(raw: dict[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise PlanError(f"{where}.{key} must be a string or null")
    return value


def _bool(raw: dict[str, Any], key: str, where: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise PlanError(f"{where}.{key} must be true or false, found {reprlib.repr(value)}"[:200])
    return value


def _list(raw: dict[str, Any], key: str, where: str) -> list[Any]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise PlanError(f"{where}.{key} must be a list")
    return value


def _strs(raw: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = _list(raw, key, where)
    if not all(isinstance(v, str) for v in values):
        raise PlanError(f"{where}.{key} must be a list of strings")
    return tuple(values)


def _placement(raw: dict[str, Any], where: str) -> PolicyPlacement:
    value = raw.get("placement", "inline")
    if not isinstance(value, str) or value not in PolicyPlacement._value2member_map_:
        raise PlanError(f"{where}.placement {reprlib.repr(value)} is not one of "
                        f"{', '.join(p.value for p in PolicyPlacement)}"[:300])
    return PolicyPlacement(value)


def plan_from_json(raw: Any, where: str = "plan") -> Plan:
    top = _check_keys(raw, _TOP, {"schema_version", "account_id", "principals"}, where)
    if has_lone_surrogate(top):
        raise PlanError(f"{where}: holds a lone UTF-16 surrogate (\\ud800-\\udfff), which no name can hold")
    if top["schema_version"] != SCHEMA_VERSION:
        raise PlanError(
            f"{where}: schema_version {reprlib.repr(top['schema_version'])} is not supported "
            f"(this version reads "
            f"{SCHEMA_VERSION}); re-run `deescalate plan`"[:300]
        )
    if top.get("kind", KIND) != KIND:
        raise PlanError(f"{where}: kind {reprlib.repr(top.get('kind'))} is not a deescalate plan"[:200])
    principals: list[PrincipalPlan] = []
    for i, rp in enumerate(_list(top, "principals", where)):
        pw = f"{where}.principals[{i}]"
        rp = _check_keys(rp, _PRINCIPAL, {"principal", "denies"}, pw)
        principal = _principal(rp, pw)
        denies: list[Deny] = []
        for j, rd in enumerate(_list(rp, "denies", pw)):
            dw = f"{pw}.denies[{j}]"
            rd = _check_keys(rd, _DENY, {"id", "apply", "action", "resource"}, dw)
            disruption, narrowness, alternatives = _score_from_json(rd, dw)
            denies.append(
                Deny(
                    id=_str(rd, "id", dw),
                    principal=principal,
                    action=_str(rd, "action", dw),
                    resource=_str(rd, "resource", dw),
                    cuts=_strs(rd, "cuts", dw),
                    techniques=_strs(rd, "techniques", dw),
                    why=_str(rd, "why", dw, ""),
                    apply=_bool(rd, "apply", dw, True),
                    disruption=disruption,
                    narrowness=narrowness,
                    alternatives=alternatives,
                    usage=_str(rd, "usage", dw, ""),
                )
            )
        document = rp.get("document")
        if document is not None and not isinstance(document, dict):
            raise PlanError(f"{pw}.document must be a JSON object or null")
        try:
            document_text = json.dumps(document, indent=2) if document else ""
        except (RecursionError, ValueError) as e:
            raise PlanError(f"{pw}.document is nested too deeply") from e
        principals.append(
            PrincipalPlan(
                principal=principal,
                denies=tuple(denies),
                placement=_placement(rp, pw),
                policy_name=_str(rp, "policy_name", pw, ""),
                document=document_text,
                unfixable=_opt_str(rp, "unfixable", pw),
                state=_strs(rp, "state", pw),
                minimal=_bool(rp, "minimal", pw, True),
            )
        )
    return Plan(
        account_id=_str(top, "account_id", where),
        snapshot=_str(top, "snapshot", where, ""),
        snapshot_time=_opt_str(top, "snapshot_time", where),
        principals=tuple(principals),
        remaining=tuple(edge_from_json(e, f"{where}.remaining[{i}]")
                        for i, e in enumerate(_list(top, "remaining", where))),
        edges=tuple(edge_from_json(e, f"{where}.edges[{i}]")
                    for i, e in enumerate(_list(top, "edges", where))),
        verified=_bool(top, "verified", where, False),
        targets=_strs(top, "targets", where),
    )


def _read_raw(path: str | Path) -> Any:
    try:
        data = read_regular(path)
    except FileNotFoundError as e:
        raise MissingInputError("plan", path) from e
    except NotRegularFileError as e:
        raise PlanError(f"{path}: {NOT_REGULAR}") from e
    except OSError as e:
        raise UsageError(f"cannot read the plan {path}: {e.strerror}") from e
    if not data.strip():
        raise UsageError(empty_file(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PlanError(f"{path}: not UTF-8 (a bad byte at offset {e.start})") from e
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise PlanError(f"{path}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from e
    except RecursionError as e:
        raise PlanError(f"{path}: JSON nested too deeply to read") from e
    except ValueError as e:  # a number of more digits than int() converts
        raise PlanError(f"{path}: holds a number too long to read ({too_long(e)})") from e


def read_plan(path: str | Path) -> Plan:
    """A plan file, every key and type checked; its digest is not required (what `plan --check` reads)."""
    return plan_from_json(_read_raw(path), where=str(path))


def read_checked_plan(path: str | Path) -> Plan:
    """A plan file exactly as `plan` or `plan --check` wrote it (its digest matches): what apply reads."""
    raw = _read_raw(path)
    plan = plan_from_json(raw, where=str(path))
    digest = raw.get("digest")
    if not isinstance(digest, str) or digest != plan_digest(raw):
        raise PlanError(
            f"{path}: the plan was edited after it was checked (its digest does not match its content). "
            f"Run `deescalate plan --check {path} SNAPSHOT` first (it re-verifies the edit and records "
            "the result in the plan)"
        )
    return plan
