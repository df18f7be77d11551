"""A small get-account-authorization-details document shared by the snapshot tests."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

ACCT = "111111111111"


def arn(kind: str, name: str, account: str = ACCT) -> str:
    return f"arn:aws:iam::{account}:{kind}/{name}"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def details(account: str = "222222222222") -> dict[str, Any]:
    """A small get-account-authorization-details output, in the shape the AWS CLI prints it."""
    return {
        "UserDetailList": [
            {
                "UserName": "alice",
                "UserId": "AIDA1",
                "Arn": arn("user", "alice", account),
                "Path": "/",
                "UserPolicyList": [
                    {
                        "PolicyName": "p1",
                        "PolicyDocument": doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
                    }
                ],
                "GroupList": ["devs"],
                "AttachedManagedPolicies": [
                    {"PolicyName": "Custom", "PolicyArn": arn("policy", "Custom", account)}
                ],
                "PermissionsBoundary": {
                    "PermissionsBoundaryType": "Policy",
                    "PermissionsBoundaryArn": arn("policy", "Custom", account),
                },
                "Tags": [{"Key": "team", "Value": "red"}],
            }
        ],
        "GroupDetailList": [
            {
                "GroupName": "devs",
                "GroupId": "AGPA1",
                "Arn": arn("group", "eng/devs", account),
                "Path": "/eng/",
                "GroupPolicyList": [],
                "AttachedManagedPolicies": [],
            }
        ],
        "RoleDetailList": [
            {
                "RoleName": "r1",
                "RoleId": "AROA1",
                "Arn": arn("role", "r1", account),
                "Path": "/",
                # URL-encoded, as the raw IAM API returns documents.
                "AssumeRolePolicyDocument": urllib.parse.quote(
                    json.dumps(
                        doc(
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "ec2.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        )
                    )
                ),
                "InstanceProfileList": [
                    {
                        "InstanceProfileName": "ip1",
                        "Arn": arn("instance-profile", "ip1", account),
                        "Roles": [{"RoleName": "r1", "Arn": arn("role", "r1", account)}],
                    }
                ],
                "RolePolicyList": [],
                "AttachedManagedPolicies": [],
            }
        ],
        "Policies": [
            {
                # No PolicyName, as moto answers: the name comes from the ARN.
                "Arn": arn("policy", "Custom", account),
                "DefaultVersionId": "v2",
                "AttachmentCount": 1,
                "PolicyVersionList": [
                    {
                        "VersionId": "v1",
                        "IsDefaultVersion": False,
                        "Document": doc({"Effect": "Allow", "Action": "iam:*", "Resource": "*"}),
                    },
                    {
                        "VersionId": "v2",
                        "IsDefaultVersion": True,
                        "Document": json.dumps(
                            doc({"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"})
                        ),
                    },
                ],
            }
        ],
    }
