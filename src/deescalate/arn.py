"""ARNs: splitting them into their six parts, and wildcard patterns (`*`, `?`) compiled once.

An ARN is `arn:partition:service:region:account-id:resource`; the resource part may itself
contain `:` and `/`. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html

Two kinds of wildcard matching exist in IAM and they differ:
- `Resource`/`NotResource` and `StringLike`: `*` matches any run of characters (including `:` and
  `/`), `?` exactly one. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
- `ArnLike`/`ArnEquals`: the ARN is compared part by part (split on the first five `:`), and a
  wildcard never crosses a part boundary.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
ARNs compare case-sensitively; actions are matched elsewhere, case-insensitively.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True, kw_only=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def parse_arn(text: str) -> Arn | None:
    """The six parts of an ARN, or None when `text` is not an ARN."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return Arn(partition=parts[1], service=parts[2], region=parts[3], account=parts[4], resource=parts[5])


def account_of(arn: str) -> str:
    """The account id of an ARN ('' when the ARN has none, as S3 bucket ARNs, or is not an ARN)."""
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 and parts[0] == "arn" else ""


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def wildcard_regex_source(pattern: str) -> str:
    """Regex source (without anchors) for a `*`/`?` pattern where `*` may cross any character."""
    out: list[str] = []
    for ch in pattern:
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return "".join(out)


@lru_cache(maxsize=65536)
def compile_wildcard(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """One compiled, anchored regex per distinct pattern (cached: patterns repeat across policies)."""
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile(wildcard_regex_source(pattern) + r"\Z", flags)


def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    if not has_wildcard(pattern):
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return compile_wildcard(pattern, ignore_case).match(value) is not None


@lru_cache(maxsize=16384)
def _arn_part_patterns(pattern: str) -> tuple[re.Pattern[str], ...] | None:
    parts = pattern.split(":", 5)
    if len(parts) != 6:
        return None
    return tuple(compile_wildcard(p) for p in parts)


@lru_cache(maxsize=65536)
def arn_like(pattern: str, value: str) -> bool:
    """ArnLike/ArnEquals: part-by-part wildcard match; wildcards do not cross `:` part boundaries."""
    if pattern == "*":
        return True
    compiled = _arn_part_patterns(pattern)
    values = value.split(":", 5)
    if compiled is None or len(values) != 6:
        return False
    return all(c.match(v) is not None for c, v in zip(compiled, values, strict=True))
