"""The collector's one door to AWS: clients, call accounting, and turning errors into records.

Every API request goes through a client made here. A botocore event hook counts each request
(pages included) per (service, operation, region) for the manifest; `Failure` carries a failed
call's error code so the caller can record it and go on. Throttling and transient errors are
retried by botocore itself ("adaptive" retry mode: exponential backoff plus client-side rate
limiting; https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html); two more
hooks see each retry (why the last attempt failed, which attempt starts) and report it as a
`Retry` to the caller's callback and to the `deescalate.collect` logger, so a call that is being
retried is never silent. Each request is logged there too (INFO).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.exceptions
import botocore.parsers
from botocore.config import Config

from deescalate.errors import CollectError

GLOBAL = "global"  # the "region" recorded for IAM, STS and Organizations calls

log = logging.getLogger("deescalate.collect")


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    """A call botocore is about to send again: `attempt` of `max_attempts`, after `cause`."""

    service: str
    operation: str
    region: str
    attempt: int
    max_attempts: int
    cause: str

    def summary(self) -> str:
        return (f"retrying {self.service} {self.operation} in {self.region} "
                f"(attempt {self.attempt} of {self.max_attempts}, after {self.cause})")


RetryCallback = Callable[[Retry], None]


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

    def __init__(self, *, profile: str | None, endpoint_url: str | None, max_attempts: int,
                 on_retry: RetryCallback | None = None, session: Any = None) -> None:
        """`session` (a boto3 Session, e.g. with an assumed role's credentials) replaces `profile`'s."""
        if session is not None:
            self.session = session
        else:
            try:
                self.session = boto3.session.Session(profile_name=profile)
            except botocore.exceptions.ProfileNotFound as e:
                raise CollectError(f"the AWS profile {profile!r} is not configured ({e})") from e
        self.endpoint_url = endpoint_url
        self.config = Config(
            # total_max_attempts counts the first attempt too (botocore's max_attempts does not)
            retries={"mode": "adaptive", "total_max_attempts": max_attempts},
            connect_timeout=10,
            read_timeout=60,
            max_pool_connections=16,
            user_agent_extra="deescalate-collect",
        )
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self.calls: Counter[tuple[str, str, str]] = Counter()
        self.failures: list[FailedCall] = []
        self.max_attempts = max_attempts
        self.on_retry = on_retry
        self.retries = 0
        self._causes: dict[str, str] = {}  # invocation id -> why its last attempt failed

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
                    config = config.merge(
                        Config(retries={"mode": "standard", "total_max_attempts": attempts})
                    )
                client = self.session.client(
                    service, region_name=real_region, endpoint_url=self.endpoint_url, config=config
                )
                client.meta.events.register("before-call", self._counter(service, region))
                client.meta.events.register("needs-retry", self._cause_of_failure)
                client.meta.events.register(
                    "request-created", self._retry_watch(service, region, attempts or self.max_attempts)
                )
                self._clients[key] = client
            return self._clients[key]

    def _counter(self, service: str, region: str) -> Callable[..., None]:
        def count(model: Any = None, **_: Any) -> None:
            operation = str(getattr(model, "name", "?"))
            log.info("call %s %s in %s", service, operation, region)
            with self._lock:
                self.calls[(service, operation, region)] += 1

        return count

    def _cause_of_failure(self, response: Any = None, caught_exception: Any = None,
                          request_dict: Any = None, **_: Any) -> None:
        """botocore's `needs-retry` event, after every attempt: remember why a failed one failed
        (the retry handler decides whether to retry; `_retry_watch` sees if it did)."""
        cause = None
        if caught_exception is not None:
            cause = type(caught_exception).__name__
        elif response is not None:
            http, parsed = response
            status = getattr(http, "status_code", 0)
            code = (parsed or {}).get("Error", {}).get("Code") if isinstance(parsed, dict) else None
            if status >= 400 or code:
                cause = f"{code} (HTTP {status})" if code and code != str(status) else f"HTTP {status}"
        invocation = ((request_dict or {}).get("context", {}).get("retries", {}).get("invocation-id"))
        if cause and invocation:
            with self._lock:
                self._causes[invocation] = cause

    def _retry_watch(self, service: str, region: str, max_attempts: int) -> Callable[..., None]:
        def created(request: Any = None, operation_name: str = "?", **_: Any) -> None:
            retries = getattr(request, "context", {}).get("retries", {})
            attempt = int(retries.get("attempt", 1))
            if attempt <= 1:
                return
            with self._lock:
                cause = self._causes.pop(str(retries.get("invocation-id")), "an error")
                self.retries += 1
            retry = Retry(service=service, operation=operation_name, region=region, attempt=attempt,
                          max_attempts=max_attempts, cause=cause)
            log.info("%s", retry.summary())
            if self.on_retry is not None:
                self.on_retry(retry)

        return created

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
        except AWS_ERRORS as e:
            raise self._failure(service, region, client, operation, e) from e
        resp.pop("ResponseMetadata", None)
        return resp

    def pages(self, service: str, region: str, operation: str, **params: Any) -> dict[str, Any]:
        """Every page of a paginated call merged into one response, as the AWS CLI does."""
        client = self.client(service, region)
        try:
            resp: dict[str, Any] = client.get_paginator(operation).paginate(**params).build_full_result()
        except AWS_ERRORS as e:
            raise self._failure(service, region, client, operation, e) from e
        resp.pop("ResponseMetadata", None)
        return resp

    def _failure(self, service: str, region: str, client: Any, operation: str, e: Exception) -> Failure:
        code, message = error_of(e)
        api_name = client.meta.method_to_api_mapping.get(operation, operation)
        return Failure(
            FailedCall(service=service, operation=api_name, region=region, code=code, message=message)
        )


# An endpoint answering something that is not AWS's XML/JSON (an HTML proxy page) raises
# ResponseParserError, which is not a BotoCoreError.
AWS_ERRORS = (
    botocore.exceptions.ClientError,
    botocore.exceptions.BotoCoreError,
    botocore.parsers.ResponseParserError,
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
