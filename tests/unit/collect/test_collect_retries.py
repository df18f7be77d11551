"""A call botocore retries is reported (callback and log), never silent; the CLI's heartbeat says so.

A tiny HTTP server on 127.0.0.1 answers STS's GetCallerIdentity with HTTP 500 a given number of
times, then with a real answer: botocore's own retry logic runs against it, as against AWS.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deescalate.collect.session import GLOBAL, Aws, Failure, Retry
from deescalate.commands import collect_cmd

IDENTITY = b"""<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::123456789012:user/ci</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"""


class _Flaky(BaseHTTPRequestHandler):
    failures_left = 0
    requests = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        cls = type(self)
        cls.requests += 1
        if cls.failures_left > 0:
            cls.failures_left -= 1
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(IDENTITY)))
        self.end_headers()
        self.wfile.write(IDENTITY)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def flaky(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Flaky.requests = 0
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_each_retry_is_reported_with_its_cause(flaky: str, caplog: pytest.LogCaptureFixture) -> None:
    _Flaky.failures_left = 2
    seen: list[Retry] = []
    aws = Aws(profile=None, endpoint_url=flaky, max_attempts=4, on_retry=seen.append)
    with caplog.at_level(logging.INFO, logger="deescalate.collect"):
        ident = aws.call("sts", GLOBAL, "get_caller_identity")
    assert ident["Account"] == "123456789012"
    assert _Flaky.requests == 3
    assert [(r.service, r.operation, r.region, r.attempt, r.max_attempts, r.cause) for r in seen] == [
        ("sts", "GetCallerIdentity", GLOBAL, 2, 4, "HTTP 500"),
        ("sts", "GetCallerIdentity", GLOBAL, 3, 4, "HTTP 500"),
    ]
    assert aws.retries == 2
    messages = [r.getMessage() for r in caplog.records]
    assert "call sts GetCallerIdentity in global" in messages
    assert "retrying sts GetCallerIdentity in global (attempt 2 of 4, after HTTP 500)" in messages


def test_a_call_that_keeps_failing_is_retried_up_to_the_limit_then_fails(flaky: str) -> None:
    _Flaky.failures_left = 10
    seen: list[Retry] = []
    aws = Aws(profile=None, endpoint_url=flaky, max_attempts=3, on_retry=seen.append)
    with pytest.raises(Failure, match="HTTP 500"):
        aws.call("sts", GLOBAL, "get_caller_identity")
    assert [r.attempt for r in seen] == [2, 3]
    assert _Flaky.requests == 3


def test_no_retry_no_report(flaky: str) -> None:
    _Flaky.failures_left = 0
    seen: list[Retry] = []
    aws = Aws(profile=None, endpoint_url=flaky, max_attempts=3, on_retry=seen.append)
    aws.call("sts", GLOBAL, "get_caller_identity")
    assert seen == [] and aws.retries == 0


def test_heartbeat_prints_progress_and_the_call_being_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    beat = collect_cmd._Heartbeat(0.2)
    try:
        beat(3, 40, "iam: users")
        beat.retry(Retry(service="ssm", operation="DescribeInstanceInformation", region="us-east-1",
                         attempt=3, max_attempts=8, cause="HTTP 500"))
        time.sleep(0.7)
    finally:
        beat.close()
    lines = err.getvalue().splitlines()
    assert len(lines) >= 2  # one every interval, while nothing else happens
    assert all(line.startswith("deescalate: collect: 3/40 steps, ") for line in lines)
    # the retry is said once, on the first line after it; the next lines do not repeat it
    assert lines[0].endswith("; last: iam: users; 1 retry since the last line, latest: retrying ssm "
                             "DescribeInstanceInformation in us-east-1 (attempt 3 of 8, after HTTP 500)")
    assert all("retr" not in line for line in lines[1:])
    # a retry just before the end is still said, by a last line
    err.truncate(0)
    err.seek(0)
    beat = collect_cmd._Heartbeat(60)
    beat(5, 40, "us-east-1: ssm")
    beat.retry(Retry(service="ssm", operation="DescribeInstanceInformation", region="us-east-1",
                     attempt=2, max_attempts=8, cause="HTTP 500"))
    beat.close()
    assert err.getvalue().startswith("deescalate: collect: 5/40 steps, ")
    assert "1 retry since the last line, latest: retrying ssm DescribeInstanceInformation" in err.getvalue()
