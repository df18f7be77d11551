"""`*`/`?` wildcard matching in linear time, without regular expressions: the one matcher.

IAM patterns (Action, Resource, StringLike values, ArnLike parts) know two wildcards: `*` any run
of characters (including none, and crossing `:` and `/`), `?` exactly one character; nothing else
is special (`[`, `.`, `\\` are literal, unlike `fnmatch` or a regex).
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html

Why not a generated regex: `a*b*a*b*...` compiles to `.*` groups that Python's backtracking engine
tries in every combination; a Resource of `user/` followed by a dozen `*a*b` groups against a long
user path (all within AWS's size limits) ran for minutes. Here a pattern is split at its `*` into
segments; the first must start the value, the last must end it, and each middle segment is taken at
its leftmost occurrence after the previous one (greedy leftmost is optimal: an earlier match
leaves every later segment at least as much room). Each step only moves forward through the value,
so a match costs O(len(value) x longest segment) at worst and O(len(value)) with `str.find` in the
usual case, never exponential.

`Glob` is one pattern; `GlobSet` is many patterns matched at once (exact names in a set, `prefix*`
patterns in one `str.startswith` call, the rest one by one); `arn_like` compares ARNs part by part
for `ArnLike`/`ArnEquals`. Patterns are built from text (`Glob(text)`) or from parts where some
`*`/`?` are literal (`Glob.from_parts`, for policy-variable escapes `${*}` and substituted values).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

# A segment: its text, and the positions in it of `?` wildcards (a `?` elsewhere is literal).
Segment = tuple[str, tuple[int, ...]]


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def _segment_at(seg: Segment, value: str, pos: int) -> bool:
    """Does `seg` match `value` starting exactly at `pos` (the caller checked the length)?"""
    text, qs = seg
    if not qs:
        return value.startswith(text, pos)
    start = 0
    for q in qs:
        if q > start and not value.startswith(text[start:q], pos + start):
            return False
        start = q + 1
    return start >= len(text) or value.startswith(text[start:], pos + start)


def _find(seg: Segment, value: str, pos: int, end: int) -> int:
    """The leftmost i >= pos with `seg` matching value[i:i+len] inside value[:end], or -1."""
    text, qs = seg
    n = len(text)
    if not qs:
        return value.find(text, pos, end)
    last = end - n
    if not text.strip("?") and len(qs) == n:  # only `?`: any n characters
        return pos if pos <= last else -1
    # Anchor the search on the first literal run, then check the rest at each candidate.
    bounds = (-1, *qs, n)
    k = next(i for i in range(len(bounds) - 1) if bounds[i + 1] - bounds[i] > 1)
    off = bounds[k] + 1
    anchor = text[off : bounds[k + 1]]
    i = pos
    while i <= last:
        j = value.find(anchor, i + off, last + off + len(anchor))
        if j < 0:
            return -1
        i = j - off
        if _segment_at(seg, value, i):
            return i
        i += 1
    return -1


class Glob:
    """One `*`/`?` pattern, prepared once; `match(value)` is linear in the value."""

    __slots__ = ("fold", "head", "middle", "min_len", "pattern", "starred", "tail")

    def __init__(self, pattern: str, *, ignore_case: bool = False) -> None:
        self._setup(pattern, [(pattern, True)], ignore_case)

    @classmethod
    def from_parts(cls, parts: Iterable[tuple[str, bool]], *, ignore_case: bool = False) -> Glob:
        """A pattern from (text, wildcards_active) parts: in inactive parts `*`/`?` are literal."""
        parts = list(parts)
        g = cls.__new__(cls)
        g._setup("".join(t for t, _ in parts), parts, ignore_case)
        return g

    def _setup(self, pattern: str, parts: Sequence[tuple[str, bool]], ignore_case: bool) -> None:
        self.pattern = pattern
        self.fold = ignore_case
        segments: list[Segment] = []
        cur: list[str] = []
        qs: list[int] = []
        length = 0
        for text, active in parts:
            if ignore_case:
                text = text.lower()
            for ch in text:
                if active and ch == "*":
                    segments.append(("".join(cur), tuple(qs)))
                    cur, qs, length = [], [], 0
                    continue
                if active and ch == "?":
                    qs.append(length)
                cur.append(ch)
                length += 1
        segments.append(("".join(cur), tuple(qs)))
        self.starred = len(segments) > 1
        self.head = segments[0]
        self.tail = segments[-1] if self.starred else ("", ())
        self.middle = tuple(s for s in segments[1:-1] if s[0])
        self.min_len = sum(len(s[0]) for s in segments)

    def match(self, value: str) -> bool:
        if self.fold:
            value = value.lower()
        n = len(value)
        if n < self.min_len:
            return False
        head = self.head
        if not self.starred:
            return n == len(head[0]) and _segment_at(head, value, 0)
        if not _segment_at(head, value, 0):
            return False
        tail = self.tail
        end = n - len(tail[0])
        if not _segment_at(tail, value, end):
            return False
        pos = len(head[0])
        for seg in self.middle:
            i = _find(seg, value, pos, end)
            if i < 0:
                return False
            pos = i + len(seg[0])
        return True

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r})"


@lru_cache(maxsize=65536)
def glob(pattern: str, ignore_case: bool = False) -> Glob:
    """One prepared `Glob` per distinct pattern (cached: patterns repeat across policies)."""
    return Glob(pattern, ignore_case=ignore_case)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM's `*`/`?` match of `value` against `pattern` (`*` crosses `:` and `/`)."""
    if not has_wildcard(pattern):
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return glob(pattern, ignore_case).match(value)


class GlobSet:
    """Several patterns matched as one: exact names (a set), `prefix*` patterns (one
    `str.startswith` over a tuple), and the others one `Glob` at a time. Patterns are used as
    given (the caller lower-cases both sides for case-insensitive matching)."""

    __slots__ = ("everything", "exact", "globs", "prefixes")

    def __init__(self, patterns: Iterable[str | Glob]) -> None:
        self.everything = False
        exact: set[str] = set()
        prefixes: set[str] = set()
        globs: dict[str, Glob] = {}
        for p in patterns:
            if isinstance(p, Glob):
                globs.setdefault(p.pattern, p)
            elif p == "*":
                self.everything = True
            elif not has_wildcard(p):
                exact.add(p)
            elif p.endswith("*") and not has_wildcard(p[:-1]):
                prefixes.add(p[:-1])
            else:
                globs.setdefault(p, glob(p))
        self.exact = frozenset(exact)
        self.prefixes = tuple(sorted(prefixes))
        self.globs = tuple(globs.values())

    def __bool__(self) -> bool:
        return self.everything or bool(self.exact or self.prefixes or self.globs)

    def match(self, value: str) -> bool:
        if self.everything or value in self.exact:
            return True
        if self.prefixes and value.startswith(self.prefixes):
            return True
        return any(g.match(value) for g in self.globs)


@lru_cache(maxsize=16384)
def _arn_parts(pattern: str) -> tuple[Glob, ...] | None:
    parts = pattern.split(":", 5)
    if len(parts) != 6:
        return None
    return tuple(glob(p) for p in parts)


def arn_like(pattern: str, value: str) -> bool:
    """ArnLike/ArnEquals: part-by-part wildcard match; wildcards do not cross the `:` between the
    six ARN parts (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN)."""
    if pattern == "*":
        return True
    compiled = _arn_parts(pattern)
    values = value.split(":", 5)
    if compiled is None or len(values) != 6:
        return False
    return all(g.match(v) for g, v in zip(compiled, values, strict=True))
