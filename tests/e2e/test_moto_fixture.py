"""The moto fixture is a real server: boto3 talks to it over HTTP and sees AWS managed policies."""

from __future__ import annotations

import boto3


def test_server_serves_iam_with_managed_policies(moto_endpoint: str) -> None:
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    iam.create_user(UserName="alice")
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["alice"]
    pol = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    assert pol["Policy"]["PolicyName"] == "AdministratorAccess"


def test_reset_between_tests(moto_endpoint: str) -> None:
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert iam.list_users()["Users"] == []
