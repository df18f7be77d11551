"""ARNs: the one parser (partition, service, region, account, resource type, name and path),
and wildcard patterns (`*`, `?`) compiled once.

An ARN is `arn:partition:service:region:account-id:resource`; the resource part may itself
contain `:` and `/`, and is `type/name`, `type:name` or a bare name (an S3 bucket).
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
The partition is `aws`, `aws-us-gov`, `aws-cn`, ...: every ARN the tool builds takes it from an
ARN of the account (https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/partitions.html).

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

from deescalate.errors import SnapshotError


@dataclass(frozen=True, slots=True, kw_only=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"

    @property
    def resource_type(self) -> str:
        """`user` in `user/path/name`, `log-group` in `log-group:g`; '' for a bare name."""
        if self.service == "s3" and not self.account:
            return ""  # arn:aws:s3:::bucket/key: the bucket is no type
        cut = _type_cut(self.resource)
        return self.resource[:cut] if cut >= 0 else ""

    @property
    def resource_id(self) -> str:
        """The resource part after its type: `path/name` in `user/path/name`."""
        if not self.resource_type:
            return self.resource
        return self.resource[len(self.resource_type) + 1 :]

    @property
    def name(self) -> str:
        """The last `/` segment of the resource: an IAM user, role, group or policy name."""
        return self.resource.rsplit("/", 1)[-1]

    @property
    def path(self) -> str:
        """The IAM path between the type and the name (`/` when none): `/a/b/` in `role/a/b/Name`."""
        middle = self.resource_id.rsplit("/", 1)[0] if "/" in self.resource_id else ""
        return f"/{middle}/" if middle else "/"


def _type_cut(resource: str) -> int:
    cuts = [i for i in (resource.find("/"), resource.find(":")) if i >= 0]
    return min(cuts) if cuts else -1


def parse_arn(text: str) -> Arn | None:
    """The six parts of an ARN, or None when `text` is not an ARN."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return Arn(partition=parts[1], service=parts[2], region=parts[3], account=parts[4], resource=parts[5])


def require_arn(text: str, what: str, error: type[Exception] = SnapshotError) -> Arn:
    """`parse_arn`, or `error` naming `what` (a file and field, a principal) in one line."""
    arn = parse_arn(text)
    if arn is None or not arn.partition or not arn.service:
        raise error(f"{what}: {text!r} is not an ARN (arn:partition:service:region:account:resource)")
    return arn


def account_of(arn: str) -> str:
    """The account id of an ARN ('' when the ARN has none, as S3 bucket ARNs, or is not an ARN)."""
    parsed = parse_arn(arn)
    return parsed.account if parsed is not None else ""


def partition_of(arn: str, default: str = "aws") -> str:
    """The partition of an ARN (`aws`, `aws-us-gov`, `aws-cn`, ...), `default` when not an ARN."""
    parsed = parse_arn(arn)
    return parsed.partition if parsed is not None and parsed.partition else default


def region_of(arn: str) -> str:
    """The region of an ARN ('' for global services such as IAM, or when not an ARN)."""
    parsed = parse_arn(arn)
    return parsed.region if parsed is not None else ""


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
