"""ARN parsing and the two kinds of wildcard matching IAM uses."""

from __future__ import annotations

import pytest

from deescalate.arn import (
    account_of,
    name_of,
    parse_arn,
    partition_among,
    partition_of,
    require_arn,
)
from deescalate.errors import ApplyError, SnapshotError
from deescalate.policy.match import arn_like, wildcard_match


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


@pytest.mark.parametrize(
    ("text", "partition", "rtype", "rid", "name", "path"),
    [
        ("arn:aws:iam::1:user/alice", "aws", "user", "alice", "alice", "/"),
        ("arn:aws-us-gov:iam::1:role/a/b/R", "aws-us-gov", "role", "a/b/R", "R", "/a/b/"),
        ("arn:aws-cn:sts::1:assumed-role/R/sess", "aws-cn", "assumed-role", "R/sess", "sess", "/R/"),
        ("arn:aws:iam::1:root", "aws", "", "root", "root", "/"),
        ("arn:aws:logs:r:1:log-group:g:*", "aws", "log-group", "g:*", "log-group:g:*", "/"),
        ("arn:aws:s3:::bucket/key/x", "aws", "", "bucket/key/x", "x", "/bucket/key/"),
    ],
)
def test_arn_parts(text: str, partition: str, rtype: str, rid: str, name: str, path: str) -> None:
    a = parse_arn(text)
    assert a is not None
    assert (a.partition, a.resource_type, a.resource_id, a.name, a.path) == (partition, rtype, rid, name, path)
    assert partition_of(text) == partition


@pytest.mark.parametrize("text", ["arn:aws:iam", "arn:aws:iam::1", "not-an-arn", "arn::iam::1:user/a", ""])
def test_require_arn_raises_the_projects_error_in_one_line(text: str) -> None:
    with pytest.raises(SnapshotError) as info:
        require_arn(text, "users.json: UserDetailList[0].Arn")
    assert str(info.value) == (
        f"users.json: UserDetailList[0].Arn: {text!r} is not an ARN (arn:partition:service:region:account:resource)"
    )
    with pytest.raises(ApplyError):
        require_arn(text, "sts:GetCallerIdentity", ApplyError)


def test_helpers_on_texts_that_are_not_arns() -> None:
    assert partition_of("*") == "aws" and account_of("arn:aws:iam") == "" and name_of("a/b") == "b"
    assert partition_among(("x", "arn:aws-cn:iam::1:user/a"), ("arn:aws:iam::1:user/b",)) == "aws-cn"
    assert partition_among(()) == "aws"
