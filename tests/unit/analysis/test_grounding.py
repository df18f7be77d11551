"""Every request the checker registry can make is one AWS could receive, per the SAR.

The walk runs every checker of the registry (every phase) for a user and a role that may call
anything, on a snapshot holding a resource of every inventoried kind, a failed inventory region
for every kind (so the patterns standing for unlisted resources are asked too), roles every
service trusts (with instance profiles), a SAML provider and a Cognito-trusting role. Each
(action, resource) the evaluator is asked must name an action of the SAR, and a resource
consistent with the action's resource types: "*" when it has none, else a pattern that meets one
of its ARN formats.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from builders import ACCT, REGION, Account, allow, doc, trust_aws

from deescalate import grounding, sar
from deescalate.analysis.edges import REGISTRY
from deescalate.analysis.edges.base import EdgeContext
from deescalate.model import Decision, Grant, InventoryRecord, InventoryState
from deescalate.snapshot.layout import RESOURCE_KINDS

EVERYTHING = {"Effect": "Allow", "NotAction": "aws-portal:ViewBilling", "Resource": "*"}

# One realistic ARN per inventoried kind (each as AWS writes it).
SAMPLE_ARNS: dict[str, tuple[str, ...]] = {
    "ec2:instance": (f"arn:aws:ec2:{REGION}:{ACCT}:instance/i-0123456789abcdef0",),
    "lambda:function": (f"arn:aws:lambda:{REGION}:{ACCT}:function:fn",),
    "cloudformation:stack": (f"arn:aws:cloudformation:{REGION}:{ACCT}:stack/st/0a1b2c3d-aaaa-bbbb-cccc-000000000000",),
    "codebuild:project": (f"arn:aws:codebuild:{REGION}:{ACCT}:project/proj",),
    "glue:devendpoint": (f"arn:aws:glue:{REGION}:{ACCT}:devEndpoint/dev",),
    "glue:job": (f"arn:aws:glue:{REGION}:{ACCT}:job/job",),
    "sagemaker:notebook-instance": (f"arn:aws:sagemaker:{REGION}:{ACCT}:notebook-instance/nb",),
    "ssm:managed-instance": (
        f"arn:aws:ec2:{REGION}:{ACCT}:instance/i-0123456789abcdef0",
        f"arn:aws:ssm:{REGION}:{ACCT}:managed-instance/mi-0123456789abcdef0",
    ),
    "ecs:cluster": (f"arn:aws:ecs:{REGION}:{ACCT}:cluster/cl",),
    "ecs:service": (f"arn:aws:ecs:{REGION}:{ACCT}:service/cl/svc",),
    "ecs:task-definition": (f"arn:aws:ecs:{REGION}:{ACCT}:task-definition/fam:3",),
    "datapipeline:pipeline": (f"arn:aws:datapipeline:{REGION}:{ACCT}:pipeline/df-0123456789ABCDEFGHIJ",),
    "ec2:launch-template": (f"arn:aws:ec2:{REGION}:{ACCT}:launch-template/lt-0123456789abcdef0",),
    "batch:job-queue": (f"arn:aws:batch:{REGION}:{ACCT}:job-queue/q",),
    "batch:compute-environment": (f"arn:aws:batch:{REGION}:{ACCT}:compute-environment/ce",),
    "batch:job-definition": (f"arn:aws:batch:{REGION}:{ACCT}:job-definition/jd:1",),
    "codedeploy:deployment-group": (f"arn:aws:codedeploy:{REGION}:{ACCT}:deploymentgroup:app/dg",),
    "bedrock-agentcore:runtime": (f"arn:aws:bedrock-agentcore:{REGION}:{ACCT}:runtime/agent-0123456789",),
    "apprunner:service": (f"arn:aws:apprunner:{REGION}:{ACCT}:service/svc/0123456789abcdef0123456789abcdef",),
}
OTHER_REGION = "eu-west-1"
# Attributes that switch every technique on (each reader sets its own subset).
ATTRIBUTES = {
    "instance_profile_arn": f"arn:aws:iam::{ACCT}:instance-profile/svc-admin",
    "cluster_arn": f"arn:aws:ecs:{REGION}:{ACCT}:cluster/cl",
    "task_definition_arn": f"arn:aws:ecs:{REGION}:{ACCT}:task-definition/fam:3",
    "task_role_arn": f"arn:aws:iam::{ACCT}:role/svc-admin",
    "job_role_arn": f"arn:aws:iam::{ACCT}:role/svc-admin",
    "execute_command": "true",
    "running": "1",
    "container_instances": "2",
}


def rich_account() -> tuple[Account, list[str]]:
    acct = Account()
    everyone: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": ["sts:AssumeRole", "sts:AssumeRoleWithSAML"]}],
    }
    svc = acct.admin_role("svc-admin", everyone, profile=True)
    plain = acct.role("svc-plain", everyone, doc(allow("s3:GetObject")))
    cognito = acct.admin_role(
        "cognito-admin",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": "us-east-1:pool"}},
                }
            ],
        },
    )
    provider = f"arn:aws:iam::{ACCT}:saml-provider/corp"
    acct.admin_role(
        "saml-admin",
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithSAML"}
            ],
        },
    )
    roles = (svc, plain, cognito)
    guarded = acct.admin_role("guarded", everyone)
    deny_policy = doc({"Effect": "Deny", "Action": ["iam:PassRole", "sts:AssumeRole"], "Resource": guarded})
    managed_deny = acct.managed("deny", deny_policy)
    boundary = acct.managed("boundary", doc(EVERYTHING))
    acct.group("team", doc(EVERYTHING), deny_policy, managed=(managed_deny,))
    acct.group("admins", managed=("arn:aws:iam::aws:policy/AdministratorAccess",))
    limited = doc(allow("s3:GetObject"))
    customer = acct.managed("customer", limited, doc(EVERYTHING), default=1)
    user = acct.user(
        "attacker", limited, deny_policy, managed=(managed_deny, customer), groups=("team",),
        boundary=boundary, keys=1,
    )
    acct.user("victim", limited, keys=2, login=True)
    acct.user("newbie", limited, keys=0, login=False)
    role = acct.role(
        "worker", trust_aws(user), limited, deny_policy, managed=(managed_deny, customer), boundary=boundary
    )
    acct.resource("ec2:instance", f"arn:aws:ec2:{REGION}:{ACCT}:instance/i-00000000000000bare")
    assert set(SAMPLE_ARNS) == set(RESOURCE_KINDS), "a sample ARN for every collected kind"
    for kind, arns in SAMPLE_ARNS.items():
        for arn in arns:
            acct.resource(kind, arn, *roles, attributes=ATTRIBUTES)
    for kind in (*RESOURCE_KINDS, *SAMPLE_ARNS):
        acct.inventory[(kind, REGION)] = InventoryRecord(kind=kind, region=REGION, state=InventoryState.OK)
        acct.inventory[(kind, OTHER_REGION)] = InventoryRecord(
            kind=kind, region=OTHER_REGION, state=InventoryState.FAILED, error="AccessDenied"
        )
    return acct, [user, role]


def asked_grants(monkeypatch: pytest.MonkeyPatch) -> set[tuple[str, str]]:
    """Every (action, resource) any checker asks on the rich account."""
    asked: set[tuple[str, str]] = set()
    original = EdgeContext.decide

    def recording(self: EdgeContext, principal: str, grant: Grant) -> Decision:
        asked.add((grant.action, grant.resource))
        return original(self, principal, grant)

    monkeypatch.setattr(EdgeContext, "decide", recording)
    acct, sources = rich_account()
    snapshot = acct.build()
    ctx = EdgeContext(snapshot, admins=frozenset(a for a in snapshot.roles if "admin" in a))
    for arn in sources:
        source = ctx.principals[arn]
        prior: list[Any] = []
        for phase in (0, 1, 2):
            found = [e for c in REGISTRY if c.phase == phase for e in c.find(ctx, source, tuple(prior))]
            prior.extend(found)
    return asked


def _problems(pairs: set[tuple[str, str]]) -> Iterator[str]:
    for action, resource in sorted(pairs):
        why = grounding.resource_fits(action, resource)
        if why is not None:
            yield f"{action} on {resource}: {why}"


def test_every_request_of_the_registry_is_grounded_in_the_sar(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = asked_grants(monkeypatch)
    # The walk reaches (nearly) every checker: every action any checker needs is asked somewhere.
    needed = {a.lower() for c in REGISTRY for way in c.needs for a in way}
    asked_actions = {a.lower() for a, _ in asked}
    assert len(asked) > 150
    missing = needed - asked_actions
    assert not missing, f"the walk never asked {sorted(missing)}: extend the rich account"
    assert list(_problems(asked)) == []


def test_the_walk_catches_an_ungrounded_request() -> None:
    bad = {
        ("lambda:CreateEventSourceMapping", f"arn:aws:lambda:*:{ACCT}:event-source-mapping:*"),
        ("glue:CreateDevEndpoint", f"arn:aws:glue:*:{ACCT}:devEndpoint/*"),
        ("codestar:CreateProject", f"arn:aws:codestar:*:{ACCT}:project/*"),
        ("bedrock-agentcore:StartBrowserSession", f"arn:aws:bedrock-agentcore:*:{ACCT}:browser/*"),
    }
    assert len(list(_problems(bad))) == 4
    assert list(_problems({("lambda:CreateEventSourceMapping", "*")})) == []


def test_codestar_is_gone_from_the_sar_and_the_registry() -> None:
    assert not sar.is_known("codestar:CreateProject")
    assert "X-CodeStar" not in {c.technique for c in REGISTRY}
