"""Raw policy JSON -> `Policy`. The only place that knows the document's many spellings.

AWS accepts a string or a list for Action, Resource and Principal values, a single statement
object or a list of them, and returns documents URL-encoded from some APIs
(GetAccountAuthorizationDetails, GetRolePolicy, ...). Everything downstream sees one shape.

A document AWS would reject raises `PolicyError` naming the policy; see the grammar in
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from deescalate.errors import PolicyError
from deescalate.model import (
    Condition,
    Effect,
    Policy,
    PolicyKind,
    PolicyRef,
    PrincipalSpec,
    Statement,
)

VALID_VERSIONS = ("2012-10-17", "2008-10-17")
TOP_LEVEL_KEYS = frozenset({"Version", "Id", "Statement"})
STATEMENT_KEYS = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource",
     "Condition"}
)
PRINCIPAL_TYPES = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})
# Policies whose statements must name a Principal (or NotPrincipal).
RESOURCE_BASED = frozenset({PolicyKind.TRUST, PolicyKind.RESOURCE})


def decode_document(raw: Any, *, where: str) -> Any:
    """Turn a document as an API returns it (object, JSON text, URL-encoded JSON text) into JSON."""
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str):
        raise PolicyError(f"{where}: a policy document must be a JSON object, not {type(raw).__name__}")
    text = raw.strip()
    if text.startswith("%7B") or text.startswith("%7b") or ("%22" in text and not text.startswith("{")):
        text = urllib.parse.unquote(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise PolicyError(
            f"{where}: the policy document is not valid JSON ({e.msg} at line {e.lineno} column {e.colno})"
        ) from e


def parse_policy(raw: Any, ref: PolicyRef, *, where: str | None = None) -> Policy:
    """Parse one policy document. `where` prefixes error messages (file, principal); defaults to the ref."""
    place = where or ref.label()
    doc = decode_document(raw, where=place)
    if not isinstance(doc, dict):
        raise PolicyError(f"{place}: a policy document must be a JSON object")
    unknown = set(doc) - TOP_LEVEL_KEYS
    if unknown:
        raise PolicyError(
            f"{place}: unknown top-level key(s) {sorted(unknown)}; AWS accepts Version, Id, Statement"
        )
    version = doc.get("Version")
    if version is not None and version not in VALID_VERSIONS:
        raise PolicyError(
            f"{place}: Version {version!r} is not one AWS accepts ({' or '.join(VALID_VERSIONS)})"
        )
    if "Statement" not in doc:
        raise PolicyError(f"{place}: the document has no Statement")
    raw_statements = doc["Statement"]
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        raise PolicyError(f"{place}: Statement must be an object or a list of objects")
    statements = tuple(
        _parse_statement(s, i, f"{place}, statement {i}") for i, s in enumerate(raw_statements)
    )
    if ref.kind in RESOURCE_BASED:
        # "You must use the Principal element in resource-based policies":
        # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
        for st in statements:
            if st.principal is None and st.not_principal is None:
                raise PolicyError(
                    f"{place}, {st.label()}: a resource-based policy statement needs Principal or "
                    "NotPrincipal; AWS would reject this policy"
                )
    return Policy(
        ref=ref,
        version=version,
        statements=statements,
        document=json.dumps(doc, separators=(",", ":"), sort_keys=False),
    )


def _parse_statement(raw: Any, index: int, place: str) -> Statement:
    if not isinstance(raw, dict):
        raise PolicyError(f"{place}: a statement must be a JSON object")
    unknown = set(raw) - STATEMENT_KEYS
    if unknown:
        raise PolicyError(f"{place}: unknown key(s) {sorted(unknown)}")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise PolicyError(f"{place}: Sid must be a string")
    effect_raw = raw.get("Effect")
    if effect_raw not in ("Allow", "Deny"):
        raise PolicyError(f"{place}: Effect must be \"Allow\" or \"Deny\", found {effect_raw!r}")
    if "Action" in raw and "NotAction" in raw:
        raise PolicyError(f"{place}: Action and NotAction cannot appear together")
    if "Action" not in raw and "NotAction" not in raw:
        raise PolicyError(f"{place}: a statement needs Action or NotAction")
    if "Resource" in raw and "NotResource" in raw:
        raise PolicyError(f"{place}: Resource and NotResource cannot appear together")
    if "Principal" in raw and "NotPrincipal" in raw:
        raise PolicyError(f"{place}: Principal and NotPrincipal cannot appear together")
    return Statement(
        index=index,
        sid=sid,
        effect=Effect(effect_raw),
        actions=_strings(raw, "Action", place),
        not_actions=_strings(raw, "NotAction", place),
        resources=_strings(raw, "Resource", place),
        not_resources=_strings(raw, "NotResource", place),
        principal=_principal(raw, "Principal", place),
        not_principal=_principal(raw, "NotPrincipal", place),
        conditions=_conditions(raw.get("Condition"), place),
    )


def _strings(raw: dict[str, Any], key: str, place: str) -> tuple[str, ...] | None:
    if key not in raw:
        return None
    value = raw[key]
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        if not value:
            raise PolicyError(f"{place}: {key} must not be an empty list")
        return tuple(value)
    raise PolicyError(f"{place}: {key} must be a string or a list of strings")


def _principal(raw: dict[str, Any], key: str, place: str) -> PrincipalSpec | None:
    if key not in raw:
        return None
    value = raw[key]
    if value == "*":
        return PrincipalSpec(entries=(("*", "*"),))
    if not isinstance(value, dict) or not value:
        raise PolicyError(f"{place}: {key} must be \"*\" or an object such as {{\"AWS\": ...}}")
    entries: list[tuple[str, str]] = []
    for ptype, pvalue in value.items():
        if ptype not in PRINCIPAL_TYPES:
            raise PolicyError(f"{place}: unknown {key} type {ptype!r}")
        values = [pvalue] if isinstance(pvalue, str) else pvalue
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise PolicyError(f"{place}: {key} {ptype} must be a string or a list of strings")
        entries.extend((ptype, v) for v in values)
    return PrincipalSpec(entries=tuple(entries))


def _scalar(value: Any, place: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise PolicyError(f"{place}: condition values must be strings, numbers or booleans")


def _conditions(raw: Any, place: str) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise PolicyError(f"{place}: Condition must be an object")
    out: list[Condition] = []
    for operator, block in raw.items():
        if not isinstance(block, dict):
            raise PolicyError(f"{place}: Condition {operator} must map keys to values")
        for key, value in block.items():
            values = value if isinstance(value, list) else [value]
            out.append(
                Condition(
                    operator=operator,
                    key=key,
                    values=tuple(_scalar(v, f"{place}, Condition {operator} {key}") for v in values),
                )
            )
    return tuple(out)
