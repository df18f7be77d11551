"""Condition operators: the table, and three-valued evaluation of one compiled condition.

Rules (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html):
- Several values for one key are ORed; for a negated operator (StringNotEquals, NotIpAddress, ...)
  they are NORed: the negation applies to "matches any of the values".
- A key absent from the request: the condition is false, except for negated operators (true),
  `...IfExists` (true) and `Null` (which tests presence).
- `ForAllValues:` is true when every request value matches (and when the key is absent or empty);
  `ForAnyValue:` is true when at least one does (false when absent or empty).
- Policy variables are replaced in String, ARN and Bool values (2012-10-17 documents only).
Evaluation returns True, False, or None when the answer depends on a key unknowable offline.
An operator AWS does not define raises `PolicyError`: it is never treated as satisfied.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from deescalate.errors import PolicyError
from deescalate.model import Condition
from deescalate.policy.variables import (
    ABSENT,
    RESOURCE_KEY_PREFIXES,
    UNKNOWN,
    Lookup,
    LookupFn,
    Resolved,
    Template,
    parse_template,
    resolve,
)
from deescalate.policy.wildcard import Glob, arn_like, glob

# base operator -> (value type, negated, comparison)
_STRING_OPS: dict[str, tuple[str, bool, str]] = {
    "StringEquals": ("string", False, "eq"),
    "StringNotEquals": ("string", True, "eq"),
    "StringEqualsIgnoreCase": ("string", False, "ieq"),
    "StringNotEqualsIgnoreCase": ("string", True, "ieq"),
    "StringLike": ("string", False, "like"),
    "StringNotLike": ("string", True, "like"),
    "NumericEquals": ("number", False, "eq"),
    "NumericNotEquals": ("number", True, "eq"),
    "NumericLessThan": ("number", False, "lt"),
    "NumericLessThanEquals": ("number", False, "le"),
    "NumericGreaterThan": ("number", False, "gt"),
    "NumericGreaterThanEquals": ("number", False, "ge"),
    "DateEquals": ("date", False, "eq"),
    "DateNotEquals": ("date", True, "eq"),
    "DateLessThan": ("date", False, "lt"),
    "DateLessThanEquals": ("date", False, "le"),
    "DateGreaterThan": ("date", False, "gt"),
    "DateGreaterThanEquals": ("date", False, "ge"),
    "Bool": ("bool", False, "eq"),
    "BinaryEquals": ("binary", False, "eq"),
    "IpAddress": ("ip", False, "in"),
    "NotIpAddress": ("ip", True, "in"),
    "ArnEquals": ("arn", False, "like"),
    "ArnLike": ("arn", False, "like"),
    "ArnNotEquals": ("arn", True, "like"),
    "ArnNotLike": ("arn", True, "like"),
    "Null": ("null", False, "null"),
}
OPERATORS: frozenset[str] = frozenset(_STRING_OPS)
_VARIABLE_TYPES = frozenset({"string", "arn", "bool"})



class UnknownOperator(ValueError):
    pass


def split_operator(operator: str) -> tuple[str | None, str, bool]:
    """`ForAnyValue:StringLikeIfExists` -> ("any", "StringLike", True). Raises UnknownOperator."""
    qualifier: str | None = None
    rest = operator
    if ":" in operator:
        prefix, rest = operator.split(":", 1)
        if prefix == "ForAllValues":
            qualifier = "all"
        elif prefix == "ForAnyValue":
            qualifier = "any"
        else:
            raise UnknownOperator(operator)
    if_exists = False
    if rest.endswith("IfExists") and rest != "IfExists":
        rest = rest[: -len("IfExists")]
        if_exists = True
    if rest not in _STRING_OPS or (if_exists and rest == "Null"):
        raise UnknownOperator(operator)
    return qualifier, rest, if_exists


def _to_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _to_date(text: str) -> float | None:
    t = text.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", t):
        return float(t)  # epoch seconds
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00") if t.endswith("Z") else t)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _to_bytes(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _to_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _to_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        net = _to_network(text)  # a request value written as a /32 still names one address
        return net.network_address if net is not None and net.num_addresses == 1 else None


_CONVERT: dict[str, Callable[[str], Any]] = {
    "number": _to_number,
    "date": _to_date,
    "binary": _to_bytes,
}


class CompiledCondition:
    """One (operator, key, values) compiled once; `evaluate(lookup)` -> True / False / None."""

    __slots__ = (
        "base",
        "cmp",
        "if_exists",
        "key",
        "keys",
        "label",
        "memo",
        "negated",
        "qualifier",
        "resource_dependent",
        "templates",
        "typed",
        "vtype",
    )

    def __init__(self, cond: Condition, *, substitute: bool) -> None:
        self.qualifier, self.base, self.if_exists = split_operator(cond.operator)
        self.vtype, self.negated, self.cmp = _STRING_OPS[self.base]
        self.key = cond.key.lower()
        self.label = f"{cond.operator} {cond.key} {json.dumps(list(cond.values))}"
        subst = substitute and self.vtype in _VARIABLE_TYPES
        self.templates: tuple[Template, ...] = tuple(parse_template(v, substitute=subst) for v in cond.values)
        # Values without variables are converted once, here.
        self.typed: tuple[Any, ...] | None = None
        if not any(t.has_vars for t in self.templates):
            self.typed = tuple(self._convert_policy_value(t.text, None) for t in self.templates)
        # When the caller's context gives none of these keys, the result depends only on the
        # principal (or on the principal and the resource, for resource keys): remember it.
        self.keys = (self.key, *(k for t in self.templates for k in t.variables()))
        self.resource_dependent = any(k.startswith(RESOURCE_KEY_PREFIXES) for k in self.keys)
        self.memo: dict[object, bool | None] = {}

    def _convert_policy_value(self, text: str, resolved: Resolved | None) -> Any:
        vt = self.vtype
        if vt == "string":
            if self.cmp == "like":
                if resolved is None:
                    return glob(text)
                if resolved.glob is not None:
                    return resolved.glob
                if resolved.shape == "suffix":
                    return Glob.from_parts([(text[:-1], False), ("*", True)])
                return Glob.from_parts([(text, False)])
            if self.cmp == "ieq":
                return text.lower()
            return text
        if vt == "arn":
            return text
        if vt == "bool":
            return text.lower()
        if vt == "ip":
            return _to_network(text)
        if vt == "null":
            return text.lower()
        return _CONVERT[vt](text)

    def _policy_values(self, lookup: LookupFn) -> tuple[Any, ...] | Lookup:
        """The policy values, typed; UNKNOWN when a variable depends on the context, ABSENT when
        one cannot be resolved (then the whole condition fails)."""
        if self.typed is not None:
            return self.typed
        out: list[Any] = []
        for t in self.templates:
            if not t.has_vars:
                out.append(self._convert_policy_value(t.text, None))
                continue
            r = resolve(t, lookup)
            if isinstance(r, Lookup):
                return r
            out.append(self._convert_policy_value(r.literal_text, r))
        return tuple(out)

    def _match_one(self, value: str, policy_values: tuple[Any, ...]) -> bool | None:
        """Does one request value match any policy value (before negation)? None when the value is
        not of the operator's type (not an ARN, not an address, not a number, ...): it then
        satisfies neither the operator nor its negation."""
        vt, cmp = self.vtype, self.cmp
        if vt == "string":
            if cmp == "eq":
                return value in policy_values
            if cmp == "ieq":
                return value.lower() in policy_values
            return any(p.match(value) for p in policy_values)
        if vt == "arn":
            if not _is_arn(value):
                return None
            return any(arn_like(p, value) for p in policy_values)
        if vt == "bool":
            # Only "true" is true: any other request value counts as false.
            return ("true" if value.lower() == "true" else "false") in policy_values
        if vt == "ip":
            addr = _to_address(value)
            if addr is None:
                return None
            return any(n is not None and addr.version == n.version and addr in n for n in policy_values)
        if vt == "binary":
            b = _to_bytes(value)
            return None if b is None else b in policy_values
        conv = _CONVERT[vt](value)
        if conv is None:
            return None
        for p in policy_values:
            if p is None:
                continue
            if (
                (cmp == "eq" and conv == p)
                or (cmp == "lt" and conv < p)
                or (cmp == "le" and conv <= p)
                or (cmp == "gt" and conv > p)
                or (cmp == "ge" and conv >= p)
            ):
                return True
        return False

    def _satisfies(self, value: str, policy_values: tuple[Any, ...]) -> bool:
        """One request value against the operator, negation included (a wrong-typed value never
        satisfies it, negated or not)."""
        m = self._match_one(value, policy_values)
        return m is not None and m != self.negated

    def evaluate(self, lookup: LookupFn) -> bool | None:
        mk = lookup.resource_memo_key if self.resource_dependent else lookup.memo_key
        given = lookup.given
        if mk is None or (given and any(k in given for k in self.keys)):
            return self._evaluate(lookup)
        memo = self.memo
        if mk in memo:
            return memo[mk]
        if len(memo) > 100_000:
            memo.clear()
        result = memo[mk] = self._evaluate(lookup)
        return result

    def _evaluate(self, lookup: LookupFn) -> bool | None:
        found = lookup(self.key)
        if found is UNKNOWN:
            return None
        present = not isinstance(found, Lookup) and len(found) > 0
        if self.vtype == "null":
            if not present and self.qualifier is not None:
                # Set operators on a missing key: ForAllValues true, ForAnyValue false
                # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html).
                return self.qualifier == "all"
            # Null: "true" means the key must be absent, "false" that it must be present.
            wanted = self.typed if self.typed is not None else ()
            return any((w == "true") != present for w in wanted)
        if not present and self.if_exists:
            return True
        pvals = self._policy_values(lookup)
        if pvals is UNKNOWN:
            return None
        if isinstance(pvals, Lookup):
            # A policy variable that cannot be resolved: the condition fails, negated or not
            # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html).
            return False
        if not present:
            if self.qualifier == "all":
                return True
            if self.qualifier == "any":
                return False
            return self.negated
        assert not isinstance(found, Lookup)
        if self.qualifier == "all":
            return all(self._satisfies(v, pvals) for v in found)
        if self.qualifier == "any":
            return any(self._satisfies(v, pvals) for v in found)
        if self.negated:
            # Negated operator on several request values: none may match (and each must be of the
            # operator's type).
            return all(self._satisfies(v, pvals) for v in found)
        # A single-valued operator on several request values: true when any matches.
        return any(self._match_one(v, pvals) for v in found)


def _is_arn(value: str) -> bool:
    return value.startswith("arn:") and value.count(":") >= 5


def compile_condition(cond: Condition, *, substitute: bool, where: str) -> CompiledCondition:
    try:
        return CompiledCondition(cond, substitute=substitute)
    except UnknownOperator as e:
        raise PolicyError(
            f"{where}: unknown condition operator {cond.operator!r} (on key {cond.key}); "
            "AWS would reject this policy, and deescalate will not guess what it means"
        ) from e


__all__ = ["ABSENT", "OPERATORS", "CompiledCondition", "compile_condition", "split_operator"]
