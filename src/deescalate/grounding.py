"""Grounding in AWS's Service Authorization Reference: the resource a request names, and whether a
deny can ever match a request.

AWS authorizes an action against the resource types the SAR lists for it (`deescalate.sar`). An
action without resource types is authorized against `"*"`: a statement naming any ARN for it never
matches, Allow or Deny. An action with resource types is authorized against ARNs of those types'
formats, so a statement's Resource pattern matches a real request only if it intersects one of them.
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html

Two uses, one rule:
- `request_resource` builds the resource a checker asks the evaluator about: `"*"`, or the ARN
  format of the action's resource type with the parts the checker knows filled in (partition,
  region, account, names) and `*` for the rest (the attacker picks a new resource's name).
- `deny_problem` says why a Deny statement (action pattern, resource pattern) can never match a
  request, or None when it can. `plan --check` and `apply` refuse plans holding such a deny.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

from deescalate import sar
from deescalate.policy.match import action_matches

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")


class GroundingError(ValueError):
    """A checker asked about an action or resource type the SAR does not have (a bug in a checker)."""


def arn_glob(arn_format: str, values: Mapping[str, str] | None = None) -> str:
    """The ARN format with each `${Name}` replaced by `values[Name]`, or by `*` when not given."""
    given = values or {}
    return _PLACEHOLDER.sub(lambda m: given.get(m.group(1), "*"), arn_format)


# Tokens of a pattern: a literal character, "?" (one character), "*" (any run), or SEG (any run
# without ":"). A policy's `*` and `?` are IAM's (they match ":" too); a placeholder of an ARN
# format is SEG, since partitions, regions, accounts and resource ids never contain ":", except
# where a ":" is part of real names: a name ending a format right after a ":" (a Lambda function
# may be qualified, `function:NAME:ALIAS`), paths, object keys and ids that carry a region.
SEG = "\x01"
_FREE_NAMES = ("Path", "ObjectName", "Key", "IdentityPoolId")


def format_tokens(arn_format: str) -> str:
    """An ARN format as a pattern string over the tokens above (literal `*` in it stays `*`)."""
    out: list[str] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(arn_format):
        out.append(arn_format[pos : m.start()])
        name = m.group(1)
        last = m.end() == len(arn_format)
        free = any(k in name for k in _FREE_NAMES) or (last and arn_format[m.start() - 1 : m.start()] == ":")
        free = free and name not in ("Partition", "Region", "Account")
        out.append("*" if free else SEG)
        pos = m.end()
    out.append(arn_format[pos:])
    return "".join(out)


def resource_type(action: str, rtype: str = "") -> sar.ResourceType | None:
    """The resource type a request for `action` is asked on: `rtype` (the SAR's name), or the only
    required type, or the only type; None when the action has none (its resource is "*").

    Raises GroundingError when the action is unknown, `rtype` is not one of its types, or the
    choice is ambiguous (several required types: the checker must name one).
    """
    info = sar.action(action)
    if info is None:
        raise GroundingError(
            f"{action} is not in the Service Authorization Reference ({sar.reference_version()})"
        )
    if not info.resource_types:
        if rtype:
            raise GroundingError(
                f"{action} has no resource types in the SAR; it cannot be asked on {rtype!r}"
            )
        return None
    if rtype:
        for t in info.resource_types:
            if t.name.lower() == rtype.lower():
                return t
        names = ", ".join(t.name for t in info.resource_types)
        raise GroundingError(f"{action} has no resource type {rtype!r} in the SAR (it has: {names})")
    required = [t for t in info.resource_types if t.required]
    if len(required) == 1:
        return required[0]
    if len(info.resource_types) == 1:
        return info.resource_types[0]
    names = ", ".join(t.name for t in (required or info.resource_types))
    raise GroundingError(
        f"{action} has several resource types ({names}): name the one the request is asked on"
    )


def request_resource(
    action: str,
    *,
    account: str,
    region: str = "*",
    partition: str = "aws",
    rtype: str = "",
    names: Mapping[str, str] | None = None,
) -> str:
    """The resource a request for `action` names: "*" for an action without resource types, else
    the ARN format of its resource type (see `resource_type`) with the known parts filled in.

    `names` fills further placeholders by the SAR's names (e.g. {"ClusterName": "prod"}); a part not
    given is `*` (any name: a new resource's name is the attacker's choice).
    """
    t = resource_type(action, rtype)
    if t is None:
        return "*"
    values = {"Partition": partition, "Region": region, "Account": account, **(names or {})}
    return arn_glob(t.arn, values)


def globs_intersect(a: str, b: str) -> bool:
    """Whether some string matches both patterns (`*` any run, `?` one character, SEG any run
    without ":")."""
    return _intersect(a, b)


@functools.lru_cache(maxsize=65536)
def _intersect(a: str, b: str) -> bool:
    # A walk over pairs of positions (i in a, j in b), i.e. the product of the two patterns'
    # automata. Characters worth trying at a pair: the literals at either position, ":" and one
    # character that is in neither pattern (stands for every other character).
    fresh = "\x00"
    seen: set[tuple[int, int]] = set()
    stack = [(0, 0)]
    while stack:
        i, j = stack.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        # a `*` or SEG may match nothing
        if i < len(a) and a[i] in _RUNS:
            stack.append((i + 1, j))
        if j < len(b) and b[j] in _RUNS:
            stack.append((i, j + 1))
        if i == len(a) and j == len(b):
            return True
        if i == len(a) or j == len(b):
            continue
        candidates = {c for c in (a[i], b[j]) if c not in _WILD} | {fresh, ":"}
        for c in candidates:
            na = _step(a, i, c)
            nb = _step(b, j, c)
            if na is not None and nb is not None:
                stack.append((na, nb))
    return False


_RUNS = ("*", SEG)
_WILD = ("*", "?", SEG)


def _step(p: str, i: int, c: str) -> int | None:
    """The position after pattern p at i consumes character c, or None if it cannot."""
    ch = p[i]
    if ch == "*":
        return i
    if ch == SEG:
        return i if c != ":" else None
    if ch in ("?", c):
        return i + 1
    return None


def resource_fits(action: str, resource: str) -> str | None:
    """Why a request or statement naming `resource` for the (exact, known) `action` can never be a
    real request, or None when it can."""
    info = sar.action(action)
    if info is None:
        return f"{action} is not in the Service Authorization Reference"
    if not info.resource_types:
        # Authorized against "*": only a pattern matching the literal "*" applies.
        if resource.replace("*", "") in ("", "?"):
            return None
        return f'{info.full_name} has no resource types in the SAR: AWS authorizes it against "*" only'
    for t in info.resource_types:
        if globs_intersect(resource, format_tokens(t.arn)):
            return None
    formats = "; ".join(f"{t.name}: {t.arn}" for t in info.resource_types)
    return f"{resource} is not an ARN of any resource type of {info.full_name} ({formats})"


@functools.cache
def _lowered_actions() -> tuple[tuple[str, str], ...]:
    return tuple((a.lower(), a) for a in sar.all_actions())


def matching_actions(pattern: str) -> tuple[str, ...]:
    """The SAR actions an action pattern (any case, `*` and `?`) names."""
    low = pattern.lower()
    if not any(c in low for c in "*?"):
        info = sar.action(low)
        return (info.full_name,) if info is not None else ()
    return tuple(a for la, a in _lowered_actions() if action_matches(low, la))


def deny_problem(action: str, resource: str) -> str | None:
    """Why `Deny action on resource` can never match a real request, or None when it can."""
    actions = matching_actions(action)
    if not actions:
        hint = sar.closest_action(action) if not any(c in action for c in "*?") else None
        also = f" (did you mean {hint}?)" if hint else ""
        return (
            f"{action} names no action in the Service Authorization Reference "
            f"({sar.reference_version()}){also}"
        )
    reasons: list[str] = []
    for a in actions:
        why = resource_fits(a, resource)
        if why is None:
            return None
        reasons.append(why)
    if len(reasons) == 1:
        return reasons[0]
    return f"no action matching {action} is ever authorized on {resource}"
