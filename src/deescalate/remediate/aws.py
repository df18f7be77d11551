"""The AWS write side's plumbing: boto3 clients with retries, one call, pages of a list call.

The only module of `remediate/` that imports boto3; `apply` and `revert` make every call through it,
so each failure becomes one `ApplyError` that names the call.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import botocore.parsers

from deescalate.errors import ApplyError

# ResponseParserError (an endpoint answering HTML, say) is not a BotoCoreError.
_AWS_ERRORS = (
    botocore.exceptions.BotoCoreError,
    botocore.exceptions.ClientError,
    botocore.parsers.ResponseParserError,
)
# An endpoint answering 200 with an HTML page (a proxy's login page) parses to a response without
# the fields botocore then looks up: a KeyError (or TypeError) from inside the client call.
_NOT_AWS = (KeyError, TypeError)
IAM_REGION = "us-east-1"  # IAM is global; its endpoint lives in us-east-1


@dataclass(frozen=True, slots=True, kw_only=True)
class Clients:
    iam: Any
    sts: Any
    endpoint_url: str | None = None  # kept so that clients for an assumed role use the same endpoint


def _clients(session: Any, endpoint_url: str | None) -> Clients:
    # Standard retry mode backs off on throttling (IAM's write APIs are rate-limited).
    config = botocore.config.Config(retries={"mode": "standard", "max_attempts": 5})
    return Clients(
        iam=session.client("iam", endpoint_url=endpoint_url, region_name=IAM_REGION, config=config),
        sts=session.client("sts", endpoint_url=endpoint_url, region_name=IAM_REGION, config=config),
        endpoint_url=endpoint_url,
    )


def connect(*, profile: str | None = None, endpoint_url: str | None = None) -> Clients:
    try:
        return _clients(boto3.Session(profile_name=profile), endpoint_url)
    except (botocore.exceptions.BotoCoreError, ValueError) as e:
        where = f"profile {profile or 'default'}" + (f", endpoint {endpoint_url}" if endpoint_url else "")
        raise ApplyError(f"cannot set up AWS clients ({where}): {e}") from e


def assume_role(base: Clients, role_arn: str, *, session_name: str) -> Clients:
    """Clients acting as `role_arn` (sts:AssumeRole with the base clients' credentials).

    The role's account is where the new clients' IAM calls land (cross-account roles such as
    OrganizationAccountAccessRole): https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
    """
    got = call_api(base.sts, "AssumeRole", {"RoleArn": role_arn, "RoleSessionName": session_name})
    try:
        creds = got["Credentials"]
        session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
        return _clients(session, base.endpoint_url)
    except (KeyError, TypeError) as e:
        raise ApplyError(f"sts:AssumeRole RoleArn={role_arn}: the answer holds no credentials ({e})") from e
    except (botocore.exceptions.BotoCoreError, ValueError) as e:
        raise ApplyError(f"cannot set up AWS clients for {role_arn}: {e}") from e


def _snake(api: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in api).lstrip("_")


def _code(e: Exception) -> str:
    if isinstance(e, botocore.exceptions.ClientError):
        return str(e.response.get("Error", {}).get("Code", ""))
    return ""


def call_api(iam: Any, api: str, params: dict[str, Any]) -> dict[str, Any]:
    """Make one IAM call; AWS errors become ApplyError naming the call."""
    try:
        result: dict[str, Any] = getattr(iam, _snake(api))(**params)
        return result
    except _NOT_AWS as e:
        raise ApplyError(f"{_service(iam)}:{api} {_brief(params)} failed: the endpoint's answer is not an "
                         f"AWS response ({type(e).__name__}: {e})") from e
    except _AWS_ERRORS as e:
        raise ApplyError(f"{_service(iam)}:{api} {_brief(params)} failed: {e}".replace("  ", " ")) from e


def _service(client: Any) -> str:
    model = getattr(getattr(client, "meta", None), "service_model", None)
    return str(getattr(model, "service_name", "iam"))


def _brief(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items() if k != "PolicyDocument")


def maybe_call(iam: Any, api: str, **params: Any) -> dict[str, Any] | None:
    """A read that answers None for NoSuchEntity."""
    try:
        return call_api(iam, api, params)
    except ApplyError as e:
        if is_gone(e):
            return None
        raise


def is_gone(e: ApplyError) -> bool:
    return isinstance(e.__cause__, Exception) and _code(e.__cause__) == "NoSuchEntity"


def pages(iam: Any, api: str, key: str, **params: Any) -> Iterator[Any]:
    try:
        for page in iam.get_paginator(_snake(api)).paginate(**params):
            yield from page.get(key, [])
    except _NOT_AWS as e:
        raise ApplyError(f"iam:{api} {_brief(params)} failed: the endpoint's answer is not an AWS response "
                         f"({type(e).__name__}: {e})") from e
    except _AWS_ERRORS as e:
        raise ApplyError(f"iam:{api} {_brief(params)} failed: {e}") from e


def decode_doc(raw: Any) -> Any:
    return json.loads(raw) if isinstance(raw, str) else raw
