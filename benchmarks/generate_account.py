"""Generate a synthetic AWS account shaped like real ones, for benchmarks.

Shape (for N principals: about 70% users, 30% roles):
- customer managed policies shared by many principals (S3, DynamoDB, SQS, logs, EC2 read, Lambda
  invoke, ...), about one per 40 principals, several with two or three versions;
- groups (about one per 80 principals) holding one to three shared policies, users in one to three
  groups, some with directly attached policies and inline policies (some with conditions and
  ${aws:username});
- service roles trusting lambda, ec2 (with instance profiles), ecs-tasks, glue, codebuild,
  sagemaker, cloudformation; cross-team roles trusting the account root; roles trusting one user;
- a "force MFA" managed policy (a conditional Deny of everything without MFA) on every team group;
- AWS's real AdministratorAccess and ReadOnlyAccess documents (from
  /work/shared/reference/aws-managed-policies.json): an "admins" group of a few users, a few admin
  roles, an "auditors" group and roles holding ReadOnlyAccess (2,677 action patterns);
- a handful of escalation paths: devops users with PassRole + RunInstances, a helpdesk group with
  CreateAccessKey on *, users with PutUserPolicy on themselves, a role with iam:*;
- resources: a Lambda function per Lambda role and an EC2 instance per five EC2 roles, with an
  inventory record for each kind in us-east-1.

    python benchmarks/generate_account.py --principals 1000 -o account.json

writes the raw `aws iam get-account-authorization-details` JSON (loadable with
`deescalate scan account.json`). From Python, `generate(n)` returns that JSON document and
`snapshot(n)` a `Snapshot` (IAM parsed by deescalate's own loader, plus resources and inventory).
Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import json
import random
import zlib
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from deescalate.model import InventoryRecord, InventoryState, Resource, Snapshot
from deescalate.snapshot.iam import parse_details

ACCOUNT = "123456789012"
REGION = "us-east-1"
DATE = "2024-01-01T00:00:00Z"
REFERENCE = next(
    (
        p
        for p in (
            Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "aws-managed-policies.json",
            Path("/work/shared/reference/aws-managed-policies.json"),
        )
        if p.is_file()
    ),
    Path("/work/shared/reference/aws-managed-policies.json"),
)
SERVICES = ["s3", "dynamodb", "sqs", "sns", "logs", "kinesis", "secretsmanager", "ssm", "cloudwatch", "kms"]
VERBS = ["Get*", "List*", "Describe*", "Put*", "Update*", "Create*", "Delete*", "Query", "Scan", "Send*"]
SERVICE_PRINCIPALS = {
    "lambda": "lambda.amazonaws.com",
    "ec2": "ec2.amazonaws.com",
    "ecs": "ecs-tasks.amazonaws.com",
    "glue": "glue.amazonaws.com",
    "codebuild": "codebuild.amazonaws.com",
    "sagemaker": "sagemaker.amazonaws.com",
    "cfn": "cloudformation.amazonaws.com",
}


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _statement(rng: random.Random, i: int) -> dict[str, Any]:
    svc = rng.choice(SERVICES)
    actions = sorted({f"{svc}:{rng.choice(VERBS)}" for _ in range(rng.randint(2, 8))})
    resource: str | list[str] = rng.choice(
        ["*", f"arn:aws:{svc}:{REGION}:{ACCOUNT}:team-{i % 17}-*", [f"arn:aws:{svc}:*:{ACCOUNT}:*"]]
    )
    st: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": resource}
    roll = rng.random()
    if roll < 0.1:
        st["Condition"] = {"StringEquals": {"aws:RequestedRegion": [REGION, "eu-west-1"]}}
    elif roll < 0.15:
        st["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    elif roll < 0.2:
        st["Resource"] = "arn:aws:s3:::home/${aws:username}/*"
        st["Action"] = ["s3:GetObject", "s3:PutObject"]
    return st


def _policy(name: str, arn: str, versions: list[dict[str, Any]], attachments: int) -> dict[str, Any]:
    n = len(versions)
    return {
        "PolicyName": name,
        "PolicyId": f"ANPA{zlib.crc32(arn.encode()):012d}",
        "Arn": arn,
        "Path": "/",
        "DefaultVersionId": f"v{n}",
        "AttachmentCount": attachments,
        "PermissionsBoundaryUsageCount": 0,
        "IsAttachable": True,
        "CreateDate": DATE,
        "UpdateDate": DATE,
        "PolicyVersionList": [
            {"Document": d, "VersionId": f"v{i + 1}", "IsDefaultVersion": i + 1 == n, "CreateDate": DATE}
            for i, d in enumerate(versions)
        ],
    }


def _attached(arns: list[str]) -> list[dict[str, str]]:
    return [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in arns]


def generate(principals: int, *, seed: int = 1) -> dict[str, Any]:
    """The get-account-authorization-details document of an account with about `principals` principals."""
    rng = random.Random(seed)
    reference = json.loads(REFERENCE.read_text())["policies"]
    admin_arn = reference["AdministratorAccess"]["Arn"]
    readonly_arn = reference["ReadOnlyAccess"]["Arn"]
    n_users = max(10, principals * 7 // 10)
    n_roles = max(10, principals - n_users)

    shared: list[str] = []
    policies: list[dict[str, Any]] = []
    for i in range(max(5, principals // 40)):
        name = f"team-{i}-access"
        arn = f"arn:aws:iam::{ACCOUNT}:policy/{name}"
        versions = [
            _doc(*(_statement(rng, i) for _ in range(rng.randint(1, 4))))
            for _ in range(rng.choice([1, 1, 2, 3]))
        ]
        policies.append(_policy(name, arn, versions, 0))
        shared.append(arn)

    # The "force MFA" pattern many accounts attach to every human: deny all but MFA self-service
    # unless the request carries MFA (a conditional Deny the evaluator cannot settle offline).
    force_mfa = f"arn:aws:iam::{ACCOUNT}:policy/force-mfa"
    policies.append(
        _policy(
            "force-mfa",
            force_mfa,
            [
                _doc(
                    {
                        "Sid": "DenyAllExceptListedIfNoMFA",
                        "Effect": "Deny",
                        "NotAction": [
                            "iam:CreateVirtualMFADevice",
                            "iam:EnableMFADevice",
                            "iam:GetUser",
                            "iam:ListMFADevices",
                            "iam:ListVirtualMFADevices",
                            "iam:ResyncMFADevice",
                            "sts:GetSessionToken",
                        ],
                        "Resource": "*",
                        "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                    }
                )
            ],
            0,
        )
    )

    groups: list[dict[str, Any]] = []

    def group(name: str, managed: list[str], inline: list[dict[str, Any]] = ()) -> str:  # type: ignore[assignment]
        groups.append(
            {
                "Path": "/",
                "GroupName": name,
                "GroupId": f"AGPA{len(groups):012d}",
                "Arn": f"arn:aws:iam::{ACCOUNT}:group/{name}",
                "CreateDate": DATE,
                "GroupPolicyList": [
                    {"PolicyName": f"{name}-inline-{k}", "PolicyDocument": d} for k, d in enumerate(inline)
                ],
                "AttachedManagedPolicies": _attached(managed),
            }
        )
        return name

    team_groups = [
        group(f"team-{i}", [*rng.sample(shared, rng.randint(1, 3)), force_mfa])
        for i in range(max(3, principals // 80))
    ]
    admins = group("admins", [admin_arn])
    auditors = group("auditors", [readonly_arn])
    devops = group(
        "devops",
        [],
        [
            _doc(
                {
                    "Effect": "Allow",
                    "Action": ["iam:PassRole", "ec2:RunInstances", "ec2:Describe*"],
                    "Resource": "*",
                }
            )
        ],
    )
    helpdesk = group(
        "helpdesk",
        [],
        [_doc({"Effect": "Allow", "Action": ["iam:CreateAccessKey", "iam:ListUsers"], "Resource": "*"})],
    )
    developers = group(
        "developers",
        [],
        [
            _doc(
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Resource": f"arn:aws:iam::{ACCOUNT}:role/dev-*",
                }
            )
        ],
    )

    users: list[dict[str, Any]] = []
    for i in range(n_users):
        name = f"user-{i:05d}"
        member = rng.sample(team_groups, rng.randint(1, min(3, len(team_groups))))
        if i < 5:
            member.append(admins)
        elif i < 5 + max(3, n_users // 100):
            member.append(auditors)
        elif i % 97 == 0:
            member.append(devops)
        elif i % 211 == 0:
            member.append(helpdesk)
        if i % 7 == 0:
            member.append(developers)
        inline = []
        if rng.random() < 0.2:
            inline.append({"PolicyName": f"{name}-extra", "PolicyDocument": _doc(_statement(rng, i))})
        if i % 499 == 13:  # a user allowed to edit itself: iam-007
            inline.append(
                {
                    "PolicyName": "self-service",
                    "PolicyDocument": _doc(
                        {
                            "Effect": "Allow",
                            "Action": "iam:PutUserPolicy",
                            "Resource": f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}",
                        }
                    ),
                }
            )
        users.append(
            {
                "Path": "/",
                "UserName": name,
                "UserId": f"AIDA{i:012d}",
                "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
                "CreateDate": DATE,
                "GroupList": member,
                "UserPolicyList": inline,
                "AttachedManagedPolicies": _attached(rng.sample(shared, rng.choice([0, 0, 0, 1, 2]))),
                "Tags": [],
            }
        )

    roles: list[dict[str, Any]] = []
    kinds = list(SERVICE_PRINCIPALS)
    for i in range(n_roles):
        managed = rng.sample(shared, rng.randint(1, 2))
        inline: list[dict[str, Any]] = []
        profile = False
        if i < 3:
            name, trust, managed = f"admin-{i}", {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, [admin_arn]
        elif i < 3 + max(2, n_roles // 200):
            name, trust, managed = f"readonly-{i}", {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, [readonly_arn]
        elif i % 20 == 0:
            name, trust = f"dev-{i}", {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
        elif i % 31 == 0:
            name, trust = (
                f"personal-{i}",
                {"AWS": f"arn:aws:iam::{ACCOUNT}:user/user-{rng.randrange(n_users):05d}"},
            )
        elif i == 3 + max(2, n_roles // 200):
            name, trust = "iam-automation", {"Service": "lambda.amazonaws.com"}
            inline.append(
                {
                    "PolicyName": "iam",
                    "PolicyDocument": _doc({"Effect": "Allow", "Action": "iam:*", "Resource": "*"}),
                }
            )
        elif i % 53 == 0:
            name, trust, managed = f"deploy-admin-{i}", {"Service": "ec2.amazonaws.com"}, [admin_arn]
            profile = True
        else:
            kind = kinds[i % len(kinds)]
            name, trust = f"{kind}-svc-{i}", {"Service": SERVICE_PRINCIPALS[kind]}
            profile = kind == "ec2"
            if rng.random() < 0.3:
                inline.append({"PolicyName": "extra", "PolicyDocument": _doc(_statement(rng, i))})
        arn = f"arn:aws:iam::{ACCOUNT}:role/{name}"
        role: dict[str, Any] = {
            "Path": "/",
            "RoleName": name,
            "RoleId": f"AROA{i:012d}",
            "Arn": arn,
            "CreateDate": DATE,
            "AssumeRolePolicyDocument": _doc(
                {"Effect": "Allow", "Principal": trust, "Action": "sts:AssumeRole"}
            ),
            "InstanceProfileList": [],
            "RolePolicyList": inline,
            "AttachedManagedPolicies": _attached(managed),
            "Tags": [],
            "RoleLastUsed": {},
        }
        if profile:
            role["InstanceProfileList"] = [
                {
                    "Path": "/",
                    "InstanceProfileName": name,
                    "InstanceProfileId": f"AIPA{i:012d}",
                    "Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/{name}",
                    "CreateDate": DATE,
                    "Roles": [
                        {
                            "RoleName": name,
                            "Arn": arn,
                            "Path": "/",
                            "RoleId": f"AROA{i:012d}",
                            "CreateDate": DATE,
                        }
                    ],
                }
            ]
        roles.append(role)

    for ref_name in ("AdministratorAccess", "ReadOnlyAccess"):
        ref = reference[ref_name]
        policies.append(_policy(ref_name, ref["Arn"], [ref["Document"]], 1))
    return {"UserDetailList": users, "GroupDetailList": groups, "RoleDetailList": roles, "Policies": policies}


def snapshot(principals: int, *, seed: int = 1, shape: str = "default") -> Snapshot:
    """The generated account as a Snapshot, with Lambda functions and EC2 instances for its roles.

    `shape` picks one of benchmarks/shapes.py's account shapes (default: this module's own)."""
    if shape == "default":
        details = generate(principals, seed=seed)
    else:
        from shapes import shaped

        details = shaped(shape, principals, seed=seed)
    part = parse_details(details, f"<generated {principals} {shape}>")
    rng = random.Random(seed + 1)
    users = {
        arn: replace(
            u,
            access_key_count=rng.choice([0, 1, 1, 2]),
            has_login_profile=rng.random() < 0.4,
            mfa_device_count=0,
        )
        for arn, u in part.users.items()
    }
    resources: list[Resource] = []
    for arn, role in sorted(part.roles.items()):
        if role.name.startswith("lambda-svc") or role.name == "iam-automation":
            resources.append(
                Resource(
                    kind="lambda:function",
                    region=REGION,
                    name=f"fn-{role.name}",
                    role_arns=(arn,),
                    arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn-{role.name}",
                )
            )
        elif role.instance_profile_arns and rng.random() < 0.2:
            iid = f"i-{zlib.crc32(arn.encode()):012x}"
            resources.append(
                Resource(
                    kind="ec2:instance",
                    region=REGION,
                    name=iid,
                    role_arns=(arn,),
                    arn=f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{iid}",
                )
            )
    inventory = tuple(
        InventoryRecord(kind=k, region=REGION, state=InventoryState.OK)
        for k in (
            "ec2:instance",
            "lambda:function",
            "cloudformation:stack",
            "codebuild:project",
            "glue:devendpoint",
            "glue:job",
            "sagemaker:notebook-instance",
            "ssm:managed-instance",
            "ecs:cluster",
        )
    )
    return Snapshot(
        account_id=ACCOUNT,
        regions=(REGION,),
        users=MappingProxyType(users),
        groups=MappingProxyType(part.groups),
        roles=MappingProxyType(part.roles),
        policies=MappingProxyType(part.policies),
        instance_profiles=MappingProxyType(part.instance_profiles),
        resources=tuple(resources),
        inventory=inventory,
        has_inventory=True,
        source=f"generated:{principals}" + ("" if shape == "default" else f":{shape}"),
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--principals", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--shape", default="default",
                   help="account shape (benchmarks/shapes.py: default, groups, groups-ro, mfa-wildcard, "
                   "iam-writers, chains, mesh, replicated)")
    p.add_argument(
        "-o", "--output", required=True, help="where to write the get-account-authorization-details JSON"
    )
    args = p.parse_args(argv)
    if args.shape == "default":
        doc = generate(args.principals, seed=args.seed)
    else:
        from shapes import shaped

        doc = shaped(args.shape, args.principals, seed=args.seed)
    Path(args.output).write_text(json.dumps(doc))
    print(
        f"wrote {args.output}: {len(doc['UserDetailList'])} users, {len(doc['RoleDetailList'])} roles, "
        f"{len(doc['GroupDetailList'])} groups, {len(doc['Policies'])} managed policies"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
