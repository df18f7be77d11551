"""The IAM names and ARNs apply and revert accept: strictly checked, since plans and journals are files
anyone may have edited.

A principal apply may write to is an IAM user or role:
`arn:PARTITION:iam::ACCOUNT:user|role/PATH/NAME`, with a 12-digit account, a path of printable
ASCII between slashes (at most 512 characters) and a name of letters, digits and `+=,.@_-` (at
most 64 characters). A policy apply writes is named `deescalate-…` (letters, digits, `+=,.@_-`, at
most 128 characters); its managed form lives at `arn:PARTITION:iam::ACCOUNT:policy/NAME` with the
partition and account of the principal it is for.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html#reference_iam-quotas-names
https://docs.aws.amazon.com/IAM/latest/APIReference/API_User.html (and API_Role.html, API_Policy.html)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from deescalate.model import POLICY_PREFIX
from deescalate.remediate.quotas import managed_policy_name


class PrincipalKind(StrEnum):
    """The two kinds of principal apply writes denies on (never groups: a group deny reaches everyone)."""

    USER = "user"
    ROLE = "role"

    @property
    def api(self) -> str:
        """The word in the IAM API names: PutUserPolicy, GetRole, ..."""
        return "User" if self is PrincipalKind.USER else "Role"

    @property
    def name_key(self) -> str:
        return f"{self.api}Name"


_NAME = r"[A-Za-z0-9+=,.@_-]"
_PRINCIPAL_RE = re.compile(
    r"arn:(aws[a-z-]{0,20}):iam::(\d{12}):(user|role)(/(?:[\x21-\x7e]{0,510}/)?)(" + _NAME + r"{1,64})\Z"
)
_POLICY_NAME_RE = re.compile(_NAME + r"{1,128}\Z")
_VERSION_RE = re.compile(r"v[1-9][0-9]{0,5}\Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class IamPrincipal:
    arn: str
    partition: str
    account: str
    kind: PrincipalKind
    path: str
    name: str


def iam_principal(arn: object) -> IamPrincipal | None:
    """The parts of an IAM user or role ARN, or None for anything else (groups, STS, junk)."""
    if not isinstance(arn, str):
        return None
    m = _PRINCIPAL_RE.match(arn)
    if m is None:
        return None
    partition, account, kind, path, name = m.groups()
    return IamPrincipal(arn=arn, partition=partition, account=account, kind=PrincipalKind(kind),
                        path=path, name=name)


def is_own_policy_name(name: object) -> bool:
    """A valid IAM policy name under our prefix."""
    if not isinstance(name, str):
        return False
    return name.startswith(POLICY_PREFIX) and _POLICY_NAME_RE.match(name) is not None


def own_managed_arn(principal: IamPrincipal) -> str:
    """The ARN of the customer managed deny policy apply creates for `principal`."""
    return f"arn:{principal.partition}:iam::{principal.account}:policy/{managed_policy_name(principal.arn)}"


def is_version_id(value: object) -> bool:
    return isinstance(value, str) and _VERSION_RE.match(value) is not None
