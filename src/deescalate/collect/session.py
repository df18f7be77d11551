"""The collector's one door to AWS: clients, call accounting, and turning errors into records.

Every API request goes through a client made here. A botocore event hook counts each request
(pages included) per (service, operation, region) for the manifest; `Failure` carries a failed
call's error code so the caller can record it and go on. Throttling and transient errors are
retried by botocore itself ("adaptive" retry mode: exponential backoff plus client-side rate
limiting; https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from deescalate.errors import CollectError

GLOBAL = "global"  # the "region" recorded for IAM, STS and Organizations calls


@dataclass(frozen=True, slots=True, kw_only=True)
class FailedCall:
    service: str
    operation: str
    region: str
    code: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {
            "service": self.service,
            "operation": self.operation,
            "region": self.region,
            "code": self.code,
            "message": self.message,
        }

    def summary(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code


class Failure(Exception):
    """One API call failed in a way that stops only the piece of collection that made it."""

    def __init__(self, call: FailedCall) -> None:
        super().__init__(call.summary())
        self.call = call


def error_of(e: BaseException) -> tuple[str, str]:
    """(error code, message) of a boto3/botocore exception, the message made one short line."""
    if isinstance(e, botocore.exceptions.ClientError):
        err = e.response.get("Error", {})
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
        code = str(err.get("Code") or "")
        if not code or code == str(status):  # no AWS error body: say it was an HTTP error
            code = f"HTTP {status}"
        return code, _one_line(str(err.get("Message") or ""))
    return type(e).__name__, _one_line(str(e))


def _one_line(message: str) -> str:
    # Some endpoints answer an error with an HTML page; keep its text, drop the markup.
    text = re.sub(r"<[^>]+>", " ", message) if message.lstrip().startswith("<") else message
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


class Aws:
    """A boto3 session shared by the collector's threads, with a client cache and call counts."""

    def __init__(self, *, profile: str | None, endpoint_url: str | None, max_attempts: int) -> None:
        try:
            self.session = boto3.session.Session(profile_name=profile)
        except botocore.exceptions.ProfileNotFound as e:
            raise CollectError(f"the AWS profile {profile!r} is not configured ({e})") from e
        self.endpoint_url = endpoint_url
        self.config = Config(
            retries={"mode": "adaptive", "max_attempts": max_attempts},
            connect_timeout=10,
            read_timeout=60,
            max_pool_connections=16,
            user_agent_extra="deescalate-collect",
        )
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self.calls: Counter[tuple[str, str, str]] = Counter()
        self.failures: list[FailedCall] = []

    def client(self, service: str, region: str, *, attempts: int | None = None) -> Any:
        """A client for `service` in `region` (GLOBAL means us-east-1, where IAM/STS/Organizations answer).

        `attempts` overrides the retry count: the first call uses few, so a wrong endpoint fails fast.
        """
        key = (service, region if attempts is None else f"{region}#{attempts}")
        with self._lock:
            if key not in self._clients:
                real_region = "us-east-1" if region == GLOBAL else region
                config = self.config
                if attempts is not None:
                    config = config.merge(Config(retries={"mode": "standard", "max_attempts": attempts}))
                client = self.session.client(
                    service, region_name=real_region, endpoint_url=self.endpoint_url, config=config
                )
                client.meta.events.register("before-call", self._counter(service, region))
                self._clients[key] = client
            return self._clients[key]

    def _counter(self, service: str, region: str) -> Callable[..., None]:
        def count(model: Any = None, **_: Any) -> None:
            with self._lock:
                self.calls[(service, str(getattr(model, "name", "?")), region)] += 1

        return count

    def offered(self, service: str, region: str) -> bool:
        """False when botocore knows `region` and knows `service` has no endpoint there.

        With --endpoint-url every service is assumed present; a region botocore does not know
        (newer than its endpoint data) is tried rather than skipped.
        """
        if self.endpoint_url is not None:
            return True
        with self._lock:
            known = set(self.session.get_available_regions("ec2"))
            offered = set(self.session.get_available_regions(service))
        return region not in known or not offered or region in offered

    def record(self, failed: FailedCall) -> None:
        with self._lock:
            self.failures.append(failed)

    def call(
        self, service: str, region: str, operation: str, *, attempts: int | None = None, **params: Any
    ) -> dict[str, Any]:
        """One call (`operation` in boto3's snake_case); a ClientError becomes `Failure`."""
        client = self.client(service, region, attempts=attempts)
        try:
            resp: dict[str, Any] = getattr(client, operation)(**params)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            raise self._failure(service, region, client, operation, e) from e
        resp.pop("ResponseMetadata", None)
        return resp

    def pages(self, service: str, region: str, operation: str, **params: Any) -> dict[str, Any]:
        """Every page of a paginated call merged into one response, as the AWS CLI does."""
        client = self.client(service, region)
        try:
            resp: dict[str, Any] = client.get_paginator(operation).paginate(**params).build_full_result()
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            raise self._failure(service, region, client, operation, e) from e
        resp.pop("ResponseMetadata", None)
        return resp

    def _failure(self, service: str, region: str, client: Any, operation: str, e: Exception) -> Failure:
        code, message = error_of(e)
        api_name = client.meta.method_to_api_mapping.get(operation, operation)
        return Failure(
            FailedCall(service=service, operation=api_name, region=region, code=code, message=message)
        )


def fatal(e: Exception, endpoint_url: str | None) -> CollectError:
    """The one-sentence error for a failure that stops collection (credentials, endpoint)."""
    where = endpoint_url or "AWS"
    cause = e.__cause__ if isinstance(e, Failure) and e.__cause__ is not None else e
    if isinstance(cause, botocore.exceptions.NoCredentialsError):
        return CollectError(
            "no AWS credentials found (set them in the environment, ~/.aws or with --profile)"
        )
    if isinstance(
        cause, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError)
    ):
        return CollectError(f"cannot reach {where}: {cause}")
    if isinstance(cause, (botocore.exceptions.ReadTimeoutError, botocore.exceptions.ConnectionClosedError)):
        return CollectError(f"{where} stopped answering: {cause}")
    code, message = error_of(cause)
    if code in {
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
        "AuthFailure",
    }:
        return CollectError(f"the AWS credentials were rejected ({code}: {message})")
    return CollectError(f"the first call to {where} failed ({code}: {message})")
