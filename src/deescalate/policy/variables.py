"""Policy variables (`${aws:username}`), their defaults and escapes, and the request-context lookup.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
- Variables are replaced only in documents with `"Version": "2012-10-17"`; in older documents the
  text `${aws:username}` is taken literally.
- `${key, 'default'}` uses the default when the key is absent; `''` inside a default is one quote.
- `${*}`, `${?}` and `${$}` stand for a literal `*`, `?` and `$` (not wildcards).
- A variable whose key is absent (and has no default), or is multi-valued, cannot be replaced: the
  Resource or condition value it sits in matches nothing.

A `Template` is a string split into parts: wildcard-active text (`*`/`?` are wildcards), literal
text (escapes and substituted values: never wildcards) and variables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final

from deescalate.policy.wildcard import Glob


class Lookup(Enum):
    """Why a context key has no value: known to be absent, or not knowable offline."""

    ABSENT = "absent"
    UNKNOWN = "unknown"


ABSENT: Final = Lookup.ABSENT
UNKNOWN: Final = Lookup.UNKNOWN

Value = tuple[str, ...] | Lookup

# (kind, text-or-key, default, written form): ("pat", text, None, text) wildcard-active text,
# ("lit", text, None, text) literal text, ("var", key_lower, default or None, "${...}")
Part = tuple[str, str, str | None, str]

_VAR = re.compile(r"\$\{([^}]*)\}")
_VAR_BODY = re.compile(r"^\s*([^\s,']+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?$")


# Keys whose value comes from the resource rather than the principal (memo keys depend on it).
RESOURCE_KEY_PREFIXES = ("aws:resource", "iam:resourcetag/")


@dataclass(frozen=True, slots=True)
class Template:
    text: str  # as written
    parts: tuple[Part, ...]
    has_vars: bool

    def variables(self) -> tuple[str, ...]:
        return tuple(p[1] for p in self.parts if p[0] == "var")

    @property
    def resource_dependent(self) -> bool:
        return any(k.startswith(RESOURCE_KEY_PREFIXES) for k in self.variables())


def parse_template(text: str, *, substitute: bool) -> Template:
    """Split `text` into parts. With `substitute` False (old Version) the whole text is a pattern."""
    if not substitute or "${" not in text:
        return Template(text, (("pat", text, None, text),), False)
    parts: list[Part] = []
    pos = 0
    has_vars = False
    for m in _VAR.finditer(text):
        if m.start() > pos:
            chunk = text[pos : m.start()]
            parts.append(("pat", chunk, None, chunk))
        body = m.group(1)
        if body in ("*", "?", "$"):
            parts.append(("lit", body, None, m.group(0)))
        else:
            vm = _VAR_BODY.match(body)
            has_vars = True
            if vm is None:
                # Malformed variable: AWS cannot replace it, so the value matches nothing.
                parts.append(("var", "", None, m.group(0)))
            else:
                default = vm.group(2).replace("''", "'") if vm.group(2) is not None else None
                parts.append(("var", vm.group(1).lower(), default, m.group(0)))
        pos = m.end()
    if pos < len(text):
        parts.append(("pat", text[pos:], None, text[pos:]))
    return Template(text, tuple(parts), has_vars)


class Resolved:
    """A template with its variables replaced: the plain text, the shape of its wildcards ("none",
    "suffix" for one final `*`, or "glob") for cheap matching, and the matcher for "glob"."""

    __slots__ = ("glob", "literal_text", "shape")

    def __init__(self, literal_text: str, shape: str = "glob", glob: Glob | None = None) -> None:
        self.literal_text = literal_text
        self.shape = shape
        self.glob = glob


def resolve(template: Template, lookup: LookupFn) -> Resolved | Lookup:
    """Replace the variables. ABSENT: a variable cannot be replaced; UNKNOWN: depends on context."""
    parts: list[tuple[str, bool]] = []  # (text, wildcards active)
    wild: list[int] = []  # positions (in the text) of active wildcards
    length = 0
    for part in template.parts:
        kind = part[0]
        if kind == "pat":
            wild.extend(length + i for i, ch in enumerate(part[1]) if ch in "*?")
            parts.append((part[1], True))
            length += len(part[1])
        elif kind == "lit":
            parts.append((part[1], False))
            length += len(part[1])
        else:
            key, default = part[1], part[2]
            value = lookup(key) if key else ABSENT
            if value is UNKNOWN:
                return UNKNOWN
            if isinstance(value, Lookup) or len(value) != 1:
                if default is None:
                    return ABSENT
                chosen = default
            else:
                chosen = value[0]
            parts.append((chosen, False))
            length += len(chosen)
    text = "".join(t for t, _ in parts)
    if not wild:
        return Resolved(text, "none")
    if wild == [len(text) - 1] and text.endswith("*"):
        return Resolved(text, "suffix")
    return Resolved(text, "glob", Glob.from_parts(parts))


class LookupFn:
    """Case-insensitive request-context lookup: given keys first, then what the snapshot derives.

    `closed_keys`/`closed_prefixes` name keys the snapshot knows completely: absent from `derived`
    means absent from the request. Any other key not given by the caller is UNKNOWN.
    Keys are stored lower-cased: condition key names are case-insensitive
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html).
    """

    __slots__ = (
        "closed_keys",
        "closed_prefixes",
        "complete",
        "derived",
        "given",
        "memo_key",
        "resource_derived",
        "resource_memo_key",
    )

    # Set by the subclass that carries the request (`compiled.Request`), once per decision.
    given: Mapping[str, tuple[str, ...]]  # the caller's context
    derived: Mapping[str, tuple[str, ...]]  # what the snapshot says of the principal
    resource_derived: Mapping[str, tuple[str, ...]] | None  # ... and of the resource
    closed_keys: frozenset[str]
    closed_prefixes: tuple[str, ...]
    # Memo keys for condition results. A condition whose keys the caller's context does not give
    # depends only on the snapshot: on the principal (`memo_key`), and on the principal and the
    # resource (`resource_memo_key`) for resource keys. None when the context changes which keys
    # are closed (a request via a service): then nothing is remembered.
    memo_key: object
    resource_memo_key: object
    # A complete request context (`explain --complete-context`): a key not given is absent, as in
    # AWS's own policy simulator, never unknown.
    complete: bool

    def __call__(self, key: str) -> Value:
        v = self.given.get(key)
        if v is not None:
            return v if v else ABSENT
        v = self.derived.get(key)
        if v is not None:
            return v if v else ABSENT
        if self.resource_derived:
            v = self.resource_derived.get(key)
            if v is not None:
                return v if v else ABSENT
        if key in self.closed_keys or key.startswith(self.closed_prefixes):
            return ABSENT
        return ABSENT if self.complete else UNKNOWN


def normalise_context(context: Mapping[str, str | Sequence[str]] | None) -> dict[str, tuple[str, ...]]:
    """Lower-case keys, tuple values. An empty sequence means "known to be absent"."""
    if not context:
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for k, v in context.items():
        out[k.lower()] = (v,) if isinstance(v, str) else tuple(v)
    return out
