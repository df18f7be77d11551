"""IAM and STS: the account's principals and policies, and per-user credentials facts.

GetAccountAuthorizationDetails returns users, groups, roles and managed policies with every
version (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html).
Per user, ListAccessKeys / GetLoginProfile / ListMFADevices say whether the user has credentials an
attacker could take over; a user whose call failed is left out of that file (= unknown).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from deescalate.collect.session import GLOBAL, Aws, Failure
from deescalate.collect.store import Store
from deescalate.errors import CollectError
from deescalate.snapshot import layout as L

USER_WORKERS = 8


def caller_identity(aws: Aws) -> dict[str, Any]:
    # Few attempts: this call proves credentials and endpoint, and a wrong one should fail fast.
    return aws.call("sts", GLOBAL, "get_caller_identity", attempts=2)


def collect_iam(
    aws: Aws, store: Store, tick: Callable[[str], None], more: Callable[[int], None] | None = None
) -> None:
    """Write the IAM files. `tick` reports a step done; `more(n)` announces n more steps (one per user)."""
    try:
        details = aws.pages("iam", GLOBAL, "get_account_authorization_details")
    except Failure as e:
        raise CollectError(
            f"cannot read IAM: GetAccountAuthorizationDetails failed ({e.call.summary()}); the collector "
            "needs the permissions in policies/collector-readonly.json"
        ) from e
    store.write(L.IAM_DETAILS, details)
    tick("iam: account authorization details")
    try:
        store.write(L.IAM_INSTANCE_PROFILES, aws.pages("iam", GLOBAL, "list_instance_profiles"))
    except Failure as e:
        aws.record(e.call)
    names = [
        u["UserName"] for u in details.get("UserDetailList", []) if isinstance(u, dict) and "UserName" in u
    ]

    def per_user(name: str) -> tuple[str, Any, Any, Any]:
        return (
            name,
            _try(aws, lambda: aws.pages("iam", GLOBAL, "list_access_keys", UserName=name)),
            _login_profile(aws, name),
            _try(aws, lambda: aws.pages("iam", GLOBAL, "list_mfa_devices", UserName=name)),
        )

    if more is not None:
        more(len(names))
    keys: dict[str, Any] = {}
    logins: dict[str, Any] = {}
    mfas: dict[str, Any] = {}
    with ThreadPoolExecutor(max_workers=USER_WORKERS) as pool:
        for name, k, login, mfa in pool.map(per_user, names):
            if more is not None:
                tick(f"iam: user {name}")
            if k is not _UNKNOWN:
                keys[name] = k
            if login is not _UNKNOWN:
                logins[name] = login
            if mfa is not _UNKNOWN:
                mfas[name] = mfa
    store.write(L.IAM_ACCESS_KEYS, keys)
    store.write(L.IAM_LOGIN_PROFILES, logins)
    store.write(L.IAM_MFA_DEVICES, mfas)
    tick(f"iam: credentials of {len(names)} users")


_UNKNOWN = object()


def _try(aws: Aws, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Failure as e:
        aws.record(e.call)
        return _UNKNOWN


def _login_profile(aws: Aws, name: str) -> Any:
    try:
        return aws.call("iam", GLOBAL, "get_login_profile", UserName=name)
    except Failure as e:
        if e.call.code == "NoSuchEntity":  # the documented answer for "this user has no password"
            return None
        aws.record(e.call)
        return _UNKNOWN
