"""The collector's AWS door without a server: region offering, error codes, fatal messages."""

from __future__ import annotations

import botocore.exceptions

from deescalate.collect.session import Aws, error_of, fatal


def test_services_skipped_only_where_botocore_knows_they_are_absent() -> None:
    aws = Aws(profile=None, endpoint_url=None, max_attempts=1)
    assert aws.offered("datapipeline", "us-east-1")
    assert not aws.offered("datapipeline", "eu-north-1")  # Data Pipeline exists in a few regions only
    assert aws.offered("datapipeline", "xx-future-1")  # a region newer than botocore's data is tried
    assert aws.offered("ec2", "eu-north-1")
    assert Aws(profile=None, endpoint_url="http://127.0.0.1:1", max_attempts=1).offered(
        "datapipeline", "eu-north-1"
    )


def _client_error(code: str | None, message: str, status: int) -> botocore.exceptions.ClientError:
    err: dict[str, str] = {"Message": message}
    if code is not None:
        err["Code"] = code
    return botocore.exceptions.ClientError(
        {"Error": err, "ResponseMetadata": {"HTTPStatusCode": status}}, "DescribeInstanceInformation"
    )  # type: ignore[arg-type]


def test_error_of_names_code_and_flattens_html() -> None:
    assert error_of(_client_error("AccessDenied", "not you", 403)) == ("AccessDenied", "not you")
    html = "<!doctype html>\n<title>500 Internal Server Error</title>\n<p>Boom.</p>\n"
    assert error_of(_client_error("500", html, 500)) == ("HTTP 500", "500 Internal Server Error Boom.")
    assert error_of(_client_error(None, "x" * 400, 502))[1].endswith("...")


def test_fatal_sentences() -> None:
    assert str(fatal(botocore.exceptions.NoCredentialsError(), None)).startswith("no AWS credentials found")
    rejected = fatal(_client_error("InvalidClientTokenId", "bad token", 403), None)
    assert str(rejected) == "the AWS credentials were rejected (InvalidClientTokenId: bad token)"
    unreachable = fatal(botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"), "http://x")
    assert str(unreachable).startswith("cannot reach http://x: ") and unreachable.exit_code == 3
