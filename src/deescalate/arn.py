"""ARNs: the one parser (partition, service, region, account, resource type, name and path).

An ARN is `arn:partition:service:region:account-id:resource`; the resource part may itself
contain `:` and `/`, and is `type/name`, `type:name` or a bare name (an S3 bucket).
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
The partition is `aws`, `aws-us-gov`, `aws-cn`, ...: every ARN the tool builds takes it from an
ARN of the account (https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/partitions.html).

Wildcard matching of ARNs is not here but in the one matcher (`deescalate.policy.match`, built on
`deescalate.policy.wildcard`, in linear time); two kinds exist in IAM and they differ:
- `Resource`/`NotResource` and `StringLike`: `*` matches any run of characters (including `:` and
  `/`), `?` exactly one. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
- `ArnLike`/`ArnEquals`: the ARN is compared part by part (split on the first five `:`), and a
  wildcard never crosses a part boundary.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
ARNs compare case-sensitively; actions are matched elsewhere, case-insensitively.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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


def partition_among(*groups: Iterable[str]) -> str:
    """The partition of the first ARN in `groups` (the ARNs of one account), `aws` when none is."""
    for arns in groups:
        for arn in arns:
            parsed = parse_arn(arn)
            if parsed is not None and parsed.partition:
                return parsed.partition
    return "aws"


def name_of(arn: str) -> str:
    """The last `/` segment of an ARN's resource (an IAM user, role, group or policy name);
    of a text that is no ARN, its last `/` segment."""
    parsed = parse_arn(arn)
    return parsed.name if parsed is not None else arn.rsplit("/", 1)[-1]


def service_of(arn: str) -> str:
    """The service of an ARN (`iam`, `kms`, ...; '' when not an ARN)."""
    parsed = parse_arn(arn)
    return parsed.service if parsed is not None else ""


def region_of(arn: str) -> str:
    """The region of an ARN ('' for global services such as IAM, or when not an ARN)."""
    parsed = parse_arn(arn)
    return parsed.region if parsed is not None else ""


__all__ = [
    "Arn",
    "account_of",
    "name_of",
    "parse_arn",
    "partition_among",
    "partition_of",
    "region_of",
    "require_arn",
    "service_of",
]
