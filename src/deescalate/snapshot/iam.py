"""IAM responses -> users, groups, roles, managed policies and instance profiles of the model.

Reads the output of GetAccountAuthorizationDetails (the collector's file or the plain
`aws iam get-account-authorization-details` output, which are the same JSON) plus the per-user
extras the collector adds (access keys, login profile, MFA devices).
Response shape: https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from deescalate.arn import Arn, account_of, name_of, parse_arn
from deescalate.errors import PolicyError
from deescalate.model import (
    Group,
    InstanceProfile,
    ManagedPolicy,
    Policy,
    PolicyKind,
    PolicyRef,
    Role,
    User,
)
from deescalate.policy.parse import parse_policy
from deescalate.snapshot.where import (
    At,
    as_object,
    get_list,
    get_objects,
    get_opt_int,
    get_opt_object,
    get_str,
    get_tags,
)

_ACCOUNT = re.compile(r"[0-9]{12}\Z")
DETAIL_KEYS = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


@dataclass(frozen=True, slots=True, kw_only=True)
class IamPart:
    users: dict[str, User]
    groups: dict[str, Group]
    roles: dict[str, Role]
    policies: dict[str, ManagedPolicy]
    instance_profiles: dict[str, InstanceProfile]


def looks_like_details(doc: Any) -> bool:
    return isinstance(doc, dict) and any(k in doc for k in DETAIL_KEYS)


def policy(raw: Any, ref: PolicyRef, at: At) -> Policy:
    """Parse a policy document found at `at`; a bad document names the file and place."""
    if raw is None:
        raise at.error("the policy document is missing")
    try:
        return parse_policy(raw, ref, where=str(at))
    except PolicyError:
        raise
    except (ValueError, TypeError) as e:  # a decoding failure parse_policy did not anticipate
        raise PolicyError(f"{at}: the policy document cannot be read ({e})") from e
    except RecursionError as e:  # e.g. "[[[[...]]]]" thousands deep inside a JSON string
        raise PolicyError(f"{at}: the policy document is nested too deeply to read") from e


def arn_field(obj: dict[str, Any], key: str, at: At, *, resource_type: str, name: str | None = None) -> str:
    """An IAM ARN field checked before anything splits it: `arn:PARTITION:iam::ACCOUNT:TYPE/…NAME`.

    The ARN must have its six parts, the `iam` service, no region, an account (12 digits, or `aws`
    for AWS managed policies), a resource of `resource_type`, and end with `name` when given: a
    user whose ARN says `role/` would otherwise stand in for the role of that name.
    """
    arn = get_str(obj, key, at)
    parts = arn.split(":", 5)
    ok = (
        len(parts) == 6 and parts[0] == "arn" and parts[1].startswith("aws") and parts[2] == "iam"
        and parts[3] == "" and (_ACCOUNT.match(parts[4]) is not None or parts[4] == "aws")
        and parts[5].startswith(f"{resource_type}/") and len(parts[5]) > len(resource_type) + 1
        and (name is None or parts[5].rsplit("/", 1)[-1] == name)
    )
    if not ok:
        named = f" ending in /{name}" if name is not None else ""
        raise at.key(key).error(
            f"expected the ARN of an IAM {resource_type}{named} (arn:PARTITION:iam::ACCOUNT:"
            f"{resource_type}/...), found {arn!r}"[:400]
        )
    return arn


def _inline(obj: dict[str, Any], list_key: str, owner_arn: str, at: At) -> tuple[Policy, ...]:
    out: list[Policy] = []
    for where, item in get_objects(obj, list_key, at):
        name = get_str(item, "PolicyName", where)
        where = where.named(f"policy {name}")
        ref = PolicyRef(kind=PolicyKind.INLINE, name=name, attached_to=owner_arn)
        out.append(policy(item.get("PolicyDocument"), ref, where.key("PolicyDocument")))
    return tuple(out)


def _attached(obj: dict[str, Any], at: At) -> tuple[str, ...]:
    return tuple(
        arn_field(item, "PolicyArn", where, resource_type="policy")
        for where, item in get_objects(obj, "AttachedManagedPolicies", at)
    )


def _boundary(obj: dict[str, Any], at: At) -> str | None:
    pb = get_opt_object(obj, "PermissionsBoundary", at)
    if pb is None:
        return None
    return arn_field(pb, "PermissionsBoundaryArn", at.key("PermissionsBoundary"), resource_type="policy")


def iam_arn(obj: dict[str, Any], at: At, kind: str) -> tuple[str, Arn]:
    """The object's `Arn`, which must be an IAM ARN of `kind` (`user`, `role`, ...) with an account.

    An ARN with too few fields, or one whose type says another kind (a user whose ARN says
    `role/`, which would shadow the role), is refused with the place it was found.
    """
    text = get_str(obj, "Arn", at)
    arn = parse_arn(text)
    ok = arn is not None and arn.partition and arn.service == "iam" and arn.account
    if arn is None or not ok or arn.resource_type != kind:
        raise at.key("Arn").error(
            f"{text!r} is not an IAM {kind} ARN (arn:PARTITION:iam::ACCOUNT:{kind}/NAME)"[:400]
        )
    name = obj.get(f"{kind.capitalize()}Name")
    if isinstance(name, str) and name != arn.name:
        raise at.key("Arn").error(f"{text!r} does not name the {kind} {name!r}"[:400])
    return text, arn


def _instance_profile(item: dict[str, Any], at: At) -> InstanceProfile:
    arn = arn_field(item, "Arn", at, resource_type="instance-profile")
    roles = tuple(arn_field(r, "Arn", w, resource_type="role") for w, r in get_objects(item, "Roles", at))
    return InstanceProfile(
        arn=arn, name=get_str(item, "InstanceProfileName", at, default=name_of(arn)), role_arns=roles
    )


def parse_details(doc: Any, file: str) -> IamPart:
    top = At(file=file)
    obj = as_object(doc, top)
    groups: dict[str, Group] = {}
    group_arn_by_name: dict[str, str] = {}
    for at, g in get_objects(obj, "GroupDetailList", top):
        name = get_str(g, "GroupName", at)
        at = at.named(f"group {name}")
        arn, _ = iam_arn(g, at, "group")
        groups[arn] = Group(
            arn=arn,
            name=name,
            path=get_str(g, "Path", at, default="/"),
            inline_policies=_inline(g, "GroupPolicyList", arn, at),
            managed_policy_arns=_attached(g, at),
        )
        group_arn_by_name[name] = arn

    users: dict[str, User] = {}
    for at, u in get_objects(obj, "UserDetailList", top):
        name = get_str(u, "UserName", at)
        at = at.named(f"user {name}")
        arn, parsed = iam_arn(u, at, "user")
        group_arns = []
        for where, gname in get_list(u, "GroupList", at):
            if not isinstance(gname, str):
                raise where.error("expected a group name (a string)")
            # GroupList holds names; the group's ARN carries its path, so look it up.
            group_arns.append(
                group_arn_by_name.get(gname, f"arn:{parsed.partition}:iam::{parsed.account}:group/{gname}")
            )
        users[arn] = User(
            arn=arn,
            name=name,
            user_id=get_str(u, "UserId", at, default=""),
            path=get_str(u, "Path", at, default="/"),
            inline_policies=_inline(u, "UserPolicyList", arn, at),
            managed_policy_arns=_attached(u, at),
            group_arns=tuple(group_arns),
            boundary_arn=_boundary(u, at),
            tags=MappingProxyType(get_tags(u, at)),
        )

    roles: dict[str, Role] = {}
    profiles: dict[str, InstanceProfile] = {}
    for at, r in get_objects(obj, "RoleDetailList", top):
        name = get_str(r, "RoleName", at)
        at = at.named(f"role {name}")
        arn, _ = iam_arn(r, at, "role")
        trust_raw = r.get("AssumeRolePolicyDocument")
        trust = (
            None
            if trust_raw is None
            else policy(
                trust_raw,
                PolicyRef(kind=PolicyKind.TRUST, name=f"{name} trust policy", attached_to=arn),
                at.key("AssumeRolePolicyDocument"),
            )
        )
        role_profiles = []
        for where, ip in get_objects(r, "InstanceProfileList", at):
            prof = _instance_profile(ip, where)
            profiles[prof.arn] = prof
            role_profiles.append(prof.arn)
        roles[arn] = Role(
            arn=arn,
            name=name,
            role_id=get_str(r, "RoleId", at, default=""),
            path=get_str(r, "Path", at, default="/"),
            trust_policy=trust,
            inline_policies=_inline(r, "RolePolicyList", arn, at),
            managed_policy_arns=_attached(r, at),
            boundary_arn=_boundary(r, at),
            tags=MappingProxyType(get_tags(r, at)),
            instance_profile_arns=tuple(role_profiles),
        )

    policies: dict[str, ManagedPolicy] = {}
    for at, p in get_objects(obj, "Policies", top):
        arn, _ = iam_arn(p, at, "policy")
        # moto omits PolicyName on managed policies; the ARN's last segment is the name.
        name = get_str(p, "PolicyName", at, default=name_of(arn))
        at = at.named(f"policy {name}")
        default = get_str(p, "DefaultVersionId", at)
        versions: dict[str, Policy] = {}
        for where, v in get_objects(p, "PolicyVersionList", at, required=True):
            vid = get_str(v, "VersionId", where)
            where = where.named(f"version {vid}")
            ref = PolicyRef(kind=PolicyKind.MANAGED, name=name, arn=arn, version=vid)
            versions[vid] = policy(v.get("Document"), ref, where.key("Document"))
        if default not in versions:
            raise at.key("DefaultVersionId").error(f"default version {default!r} is not in PolicyVersionList")
        policies[arn] = ManagedPolicy(
            arn=arn,
            name=name,
            default_version=default,
            versions=MappingProxyType(versions),
            path=get_str(p, "Path", at, default="/"),
            attachment_count=get_opt_int(p, "AttachmentCount", at),
        )
    return IamPart(users=users, groups=groups, roles=roles, policies=policies, instance_profiles=profiles)


def parse_instance_profiles(doc: Any, file: str) -> dict[str, InstanceProfile]:
    top = At(file=file)
    obj = as_object(doc, top)
    out: dict[str, InstanceProfile] = {}
    for at, ip in get_objects(obj, "InstanceProfiles", top, required=True):
        prof = _instance_profile(ip, at)
        out[prof.arn] = prof
    return out


def _per_user(doc: Any, file: str) -> dict[str, tuple[At, dict[str, Any] | None]]:
    top = At(file=file)
    obj = as_object(doc, top)
    out: dict[str, tuple[At, dict[str, Any] | None]] = {}
    for name, value in obj.items():
        at = top.key(name)
        out[name] = (at, None if value is None else as_object(value, at))
    return out


def add_user_extras(
    users: dict[str, User],
    *,
    access_keys: tuple[Any, str] | None,
    login_profiles: tuple[Any, str] | None,
    mfa: tuple[Any, str] | None,
) -> None:
    """Fill access_key_count / has_login_profile / mfa_device_count; users absent stay None (unknown)."""
    keys = _per_user(*access_keys) if access_keys else {}
    logins = _per_user(*login_profiles) if login_profiles else {}
    mfas = _per_user(*mfa) if mfa else {}
    for arn, user in list(users.items()):
        changes: dict[str, Any] = {}
        if user.name in keys:
            at, resp = keys[user.name]
            changes["access_key_count"] = len(get_list(resp or {}, "AccessKeyMetadata", at))
        if user.name in logins:
            at, resp = logins[user.name]
            changes["has_login_profile"] = (
                resp is not None and get_opt_object(resp, "LoginProfile", at) is not None
            )
        if user.name in mfas:
            at, resp = mfas[user.name]
            changes["mfa_device_count"] = len(get_list(resp or {}, "MFADevices", at))
        if changes:
            users[arn] = replace(user, **changes)


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo is not None else when.replace(tzinfo=UTC)


def newest_date(doc: dict[str, Any]) -> str | None:
    """The newest CreateDate/UpdateDate in a details document (UTC, ISO 8601), or None without one.

    AWS wrote the document after every date in it, so this is a lower bound on when it was taken:
    what a raw file (which has no manifest) gives as `collected_at`. Dates that do not parse are
    passed over. Where the dates stand: each user, group, role and managed policy, each role's
    instance profiles and each policy version.
    """
    newest: datetime | None = None
    for key in DETAIL_KEYS:
        for item in _dicts(doc.get(key)):
            nested = [*_dicts(item.get("InstanceProfileList")), *_dicts(item.get("PolicyVersionList"))]
            for obj in (item, *nested):
                for field in ("CreateDate", "UpdateDate"):
                    when = _date(obj.get(field))
                    if when is not None and (newest is None or when > newest):
                        newest = when
    # Seconds are cut off, not rounded: the result stays a lower bound.
    return None if newest is None else newest.isoformat(timespec="seconds")


def account_from_arns(part: IamPart) -> str | None:
    """The account id of a raw details file: the account field of any principal or customer policy."""
    for arns in (part.users, part.roles, part.groups, part.policies):
        for arn in arns:
            account = account_of(arn)
            if account.isdigit():
                return account
    return None
