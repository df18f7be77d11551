"""ARN parsing and the two kinds of wildcard matching IAM uses."""

from __future__ import annotations

import pytest

from deescalate.arn import account_of, arn_like, parse_arn, wildcard_match


def test_parse_arn_keeps_colons_in_the_resource_part() -> None:
    a = parse_arn("arn:aws:logs:us-east-1:111111111111:log-group:g:log-stream:s")
    assert a is not None
    assert (a.service, a.region, a.account, a.resource) == ("logs", "us-east-1", "111111111111",
                                                              "log-group:g:log-stream:s")
    assert str(a) == "arn:aws:logs:us-east-1:111111111111:log-group:g:log-stream:s"
    assert parse_arn("not-an-arn") is None and parse_arn("arn:aws:s3") is None


@pytest.mark.parametrize(("arn", "account"), [
    ("arn:aws:iam::111111111111:user/a", "111111111111"),
    ("arn:aws:s3:::bucket", ""),
    ("*", ""),
])
def test_account_of(arn: str, account: str) -> None:
    assert account_of(arn) == account


@pytest.mark.parametrize(("pattern", "value", "ignore_case", "expected"), [
    ("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y", False, True),
    ("arn:aws:s3:::b/?", "arn:aws:s3:::b/xy", False, False),
    ("arn:aws:s3:::B/*", "arn:aws:s3:::b/x", False, False),
    ("S3:Get*", "s3:getobject", True, True),
    ("a.b", "axb", False, False),  # regex metacharacters are literal
    ("plain", "plain", False, True),
])
def test_wildcard_match(pattern: str, value: str, ignore_case: bool, expected: bool) -> None:
    assert wildcard_match(pattern, value, ignore_case=ignore_case) is expected


def test_arn_like_is_part_by_part() -> None:
    assert arn_like("arn:aws:iam::*:role/*", "arn:aws:iam::111111111111:role/a/b")
    assert not arn_like("arn:aws:iam::*:role/*", "arn:aws:iam::111111111111:user/a")
    assert not arn_like("arn:aws:*:us-east-1:1:x", "arn:aws:sns:us-east-1:extra:1:x")
    assert arn_like("*", "anything")
