"""Techniques added from techniques.csv after the first round (batch, bedrock, gamelift, imagebuilder,
omics, more SageMaker, CodeBuild/ECS updates, AddRoleToInstanceProfile, SAML federation).

Each row: flagged with the right id and target in its world; not flagged when any one needed
action is denied, when the role does not trust the service (or the technique's own precondition is
missing), or when the key action is limited to a resource through which nothing escalates. The
plan for each positive world verifies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from builders import ACCT, REGION, Account, allow, deny, doc, role_arn, trust_service
from test_more_techniques import PROJECT, SVC, build, svc, techniques_from

from deescalate.analysis.analyze import analyze
from deescalate.model import Edge
from deescalate.remediate.plan import build_plan, default_analyze

ECS = "ecs-tasks.amazonaws.com"
EC2 = "ec2.amazonaws.com"
AGENTCORE = "bedrock-agentcore.amazonaws.com"
HARMLESS = role_arn("harmless")  # PassRole limited to a role that does not exist
SERVICE = f"arn:aws:ecs:{REGION}:{ACCT}:service/main/web"
INSTANCE = f"arn:aws:ec2:{REGION}:{ACCT}:instance/i-1"
PROFILE = f"arn:aws:iam::{ACCT}:instance-profile/web"
PROVIDER = f"arn:aws:iam::{ACCT}:saml-provider/corp"
OTHER_PROVIDER = f"arn:aws:iam::{ACCT}:saml-provider/unused"
SSO = role_arn("sso-admin")

World = Callable[[Account], None]


@dataclass(frozen=True)
class Row:
    id: str
    actions: tuple[str, ...]
    setup: World
    broken: World  # the role does not trust the service, or the resource gone through is missing
    key: str = "iam:PassRole"
    limited: str = HARMLESS  # the key action allowed only on this resource: nothing escalates
    target: str = SVC
    conditional: str = ""  # a fact the snapshot lacks, named in the edge's conditions
    name: str = ""

    def __str__(self) -> str:
        return self.name or self.id


def pass_role(tid: str, service: str, *calls: str, profile: bool = False, **extra: Any) -> Row:
    return Row(
        id=tid,
        actions=("iam:PassRole", *calls),
        setup=svc(service, profile=profile),
        broken=svc("states.amazonaws.com", profile=profile),
        **extra,
    )


def project(present: bool) -> World:
    def setup(acct: Account) -> None:
        acct.admin_role("svc-admin", trust_service("codebuild.amazonaws.com"))
        acct.role("builder", trust_service("codebuild.amazonaws.com"), doc(allow("s3:GetObject")))
        if present:
            acct.resource("codebuild:project", PROJECT, role_arn("builder"))

    return setup


def job_queue(present: bool) -> World:
    def setup(acct: Account) -> None:
        acct.admin_role("svc-admin", trust_service(ECS))
        if present:
            acct.resource("batch:job-queue", f"arn:aws:batch:{REGION}:{ACCT}:job-queue/q")

    return setup


def ecs_service(present: bool) -> World:
    def setup(acct: Account) -> None:
        acct.admin_role("svc-admin", trust_service(ECS))
        if present:
            acct.resource("ecs:service", SERVICE)

    return setup


def instance_with_profile(*, occupied: bool, trusted: bool = True) -> World:
    def setup(acct: Account) -> None:
        # svc-admin has no instance profile of its own: it goes into the instance's.
        acct.admin_role("svc-admin", trust_service(EC2 if trusted else "lambda.amazonaws.com"))
        held: tuple[str, ...] = ()
        if occupied:
            acct.role("web", trust_service(EC2), doc(allow("s3:GetObject")), profile=True)
            held = (role_arn("web"),)
        acct.resource("ec2:instance", INSTANCE, *held, attributes={"instance_profile_arn": PROFILE})

    return setup


def saml_trust(provider: str, **condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithSAML",
        "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}, **condition},
    }
    return doc(statement)


def sso_role(provider: str, **condition: Any) -> World:
    def setup(acct: Account) -> None:
        acct.admin_role("sso-admin", saml_trust(provider, **condition))

    return setup


def pipeline(runner_can_build: bool) -> World:
    def setup(acct: Account) -> None:
        acct.admin_role("svc-admin", trust_service("codebuild.amazonaws.com"))
        can = allow("codebuild:StartBuild") if runner_can_build else allow("s3:GetObject")
        acct.role("runner", trust_service("codepipeline.amazonaws.com"), doc(can))

    return setup


POOL = "us-east-1:0a1b2c3d-0000-4000-8000-000000000000"


def identity_pool_role(federated: str) -> World:
    def setup(acct: Account) -> None:
        trust = doc(
            {
                "Effect": "Allow",
                "Principal": {"Federated": federated},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{federated}:aud": POOL},
                    "ForAnyValue:StringLike": {f"{federated}:amr": "unauthenticated"},
                },
            }
        )
        acct.admin_role("svc-admin", trust)

    return setup


SHELL = "ec2-instance-connect:SendSSHPublicKey"
ROWS: tuple[Row, ...] = (
    pass_role(
        "batch-003",
        ECS,
        "batch:CreateComputeEnvironment",
        "batch:CreateJobQueue",
        "batch:RegisterJobDefinition",
        "batch:SubmitJob",
    ),
    Row(
        id="batch-001",
        actions=("iam:PassRole", "batch:RegisterJobDefinition", "batch:SubmitJob"),
        setup=job_queue(True),
        broken=job_queue(False),  # job queues listed, none exists: nothing to submit to
    ),
    pass_role(
        "gamelift-001",
        "gamelift.amazonaws.com",
        "gamelift:CreateBuild",
        "gamelift:RequestUploadCredentials",
        "gamelift:CreateFleet",
    ),
    pass_role(
        "imagebuilder-001",
        EC2,
        "imagebuilder:CreateComponent",
        "imagebuilder:CreateImageRecipe",
        "imagebuilder:CreateInfrastructureConfiguration",
        "imagebuilder:CreateImage",
        profile=True,
    ),
    pass_role("omics-001", "omics.amazonaws.com", "omics:CreateWorkflow", "omics:StartRun"),
    pass_role(
        "bedrock-001",
        AGENTCORE,
        "bedrock-agentcore:CreateCodeInterpreter",
        "bedrock-agentcore:StartCodeInterpreterSession",
        "bedrock-agentcore:InvokeCodeInterpreter",
    ),
    pass_role(
        "bedrock-003",
        AGENTCORE,
        "bedrock-agentcore:CreateAgentRuntime",
        "bedrock-agentcore:CreateAgentRuntimeEndpoint",
        "bedrock-agentcore:CreateWorkloadIdentity",
        "bedrock-agentcore:InvokeAgentRuntimeCommand",
    ),
    pass_role(
        "bedrock-005",
        AGENTCORE,
        "bedrock-agentcore:CreateHarness",
        "bedrock-agentcore:InvokeAgentRuntimeCommand",
    ),
    pass_role(
        "bedrock-006",
        AGENTCORE,
        "bedrock-agentcore:CreateBrowser",
        "bedrock-agentcore:StartBrowserSession",
        "bedrock-agentcore:ConnectBrowserAutomationStream",
    ),
    pass_role(
        "X-SageMakerMore",
        "sagemaker.amazonaws.com",
        "sagemaker:CreateHyperParameterTuningJob",
        name="X-SageMakerMore-tuning",
    ),
    pass_role(
        "X-SageMakerMore",
        "sagemaker.amazonaws.com",
        "sagemaker:CreateUserProfile",
        "sagemaker:CreatePresignedDomainUrl",
        name="X-SageMakerMore-studio",
    ),
    pass_role(
        "X-LambdaURL",
        "lambda.amazonaws.com",
        "lambda:CreateFunction",
        "lambda:CreateFunctionUrlConfig",
        "lambda:InvokeFunctionUrl",
    ),
    Row(
        id="X-CodePipeline",
        actions=("iam:PassRole", "codebuild:CreateProject", "codepipeline:CreatePipeline"),
        setup=pipeline(True),
        broken=pipeline(False),
    ),
    Row(
        id="cognitoidentity-001",
        actions=("iam:PassRole", "cognito-identity:SetIdentityPoolRoles"),
        setup=identity_pool_role("cognito-identity.amazonaws.com"),
        broken=identity_pool_role("accounts.google.com"),
        conditional=f"whether identity pool {POOL} hands credentials to the source",
    ),
    Row(
        id="X-CodeBuildUpdate",
        actions=("iam:PassRole", "codebuild:UpdateProject", "codebuild:StartBuildBatch"),
        setup=project(True),
        broken=project(False),
    ),
    Row(
        id="X-ECSUpdateService",
        actions=("iam:PassRole", "ecs:RegisterTaskDefinition", "ecs:UpdateService"),
        setup=ecs_service(True),
        broken=ecs_service(False),
    ),
    Row(
        id="X-AddRoleToInstanceProfile",
        actions=(
            "iam:PassRole",
            "iam:RemoveRoleFromInstanceProfile",
            "iam:AddRoleToInstanceProfile",
            SHELL,
        ),
        setup=instance_with_profile(occupied=True),
        broken=instance_with_profile(occupied=True, trusted=False),
        name="X-AddRoleToInstanceProfile-occupied",
    ),
    Row(
        id="X-AddRoleToInstanceProfile",
        actions=("iam:PassRole", "iam:AddRoleToInstanceProfile", SHELL),
        setup=instance_with_profile(occupied=False),
        broken=instance_with_profile(occupied=False, trusted=False),
        name="X-AddRoleToInstanceProfile-empty",
    ),
    Row(
        id="X-Federation",
        actions=("iam:UpdateSAMLProvider",),
        setup=sso_role(PROVIDER),
        broken=sso_role(f"arn:aws:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com"),
        key="iam:UpdateSAMLProvider",
        limited=OTHER_PROVIDER,
        target=SSO,
    ),
)


def edges_of(row: Row, setup: World, *statements: dict[str, Any]) -> list[Edge]:
    report, arn = build(list(row.actions), setup, *statements)
    return [e for e in report.edges if e.source == arn and (e.technique, e.target) == (row.id, row.target)]


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_flagged(row: Row) -> None:
    report, arn = build(list(row.actions), row.setup)
    edges = [e for e in report.edges if e.source == arn and (e.technique, e.target) == (row.id, row.target)]
    assert edges, techniques_from(report, arn)
    finding = next(f for f in report.findings if f.principal == arn)
    assert row.id in finding.techniques
    if row.conditional:
        assert any(row.conditional in c for c in edges[0].conditions), edges[0].conditions
    else:
        assert not edges[0].conditional, edges[0].conditions


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_not_flagged_when_any_action_is_denied(row: Row) -> None:
    for action in row.actions:
        assert not edges_of(row, row.setup, deny(action)), action


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_not_flagged_without_the_precondition(row: Row) -> None:
    assert not edges_of(row, row.broken)


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_not_flagged_when_the_key_action_is_resource_limited(row: Row) -> None:
    acct = Account()
    row.setup(acct)
    others = [a for a in row.actions if a != row.key]
    statements = [allow(row.key, row.limited), *([allow(others)] if others else [])]
    arn = acct.user("attacker", doc(*statements))
    report = analyze(acct.build())
    assert (row.id, row.target) not in techniques_from(report, arn)
    assert not [f for f in report.findings if f.principal == arn]


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_plan_verifies(row: Row) -> None:
    acct = Account()
    row.setup(acct)
    arn = acct.user("attacker", doc(allow(list(row.actions))))
    snap = acct.build()
    plan = build_plan(snap, analyze(snap), default_analyze())
    assert plan.verified, [(e.technique, e.target) for e in plan.remaining]
    assert any(p.principal == arn and p.denies for p in plan.principals)


def test_an_empty_profile_needs_no_remove_and_an_occupied_one_does() -> None:
    empty, occupied = (
        next(r for r in ROWS if r.name == f"X-AddRoleToInstanceProfile-{k}") for k in ("empty", "occupied")
    )
    (edge,) = edges_of(empty, empty.setup)
    assert [g.action for g in edge.alternatives[0]] == list(empty.actions)
    # Without RemoveRoleFromInstanceProfile the occupied profile cannot take another role.
    acct = Account()
    occupied.setup(acct)
    arn = acct.user("attacker", doc(allow(list(empty.actions))))
    assert ("X-AddRoleToInstanceProfile", SVC) not in techniques_from(analyze(acct.build()), arn)


@pytest.mark.parametrize(
    ("condition", "conditional"),
    [
        ({}, False),
        ({"StringLike": {"SAML:sub": "admin-*"}}, False),
        ({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, True),
    ],
)
def test_saml_conditions_are_the_attackers_to_meet_other_keys_are_not(
    condition: dict[str, Any], conditional: bool
) -> None:
    acct = Account()
    trust = saml_trust(PROVIDER)
    trust["Statement"][0]["Condition"].update(condition)
    acct.admin_role("sso-admin", trust)
    arn = acct.user("attacker", doc(allow("iam:UpdateSAMLProvider")))
    edges = [e for e in analyze(acct.build()).edges if e.source == arn and e.technique == "X-Federation"]
    assert [(e.target, e.via, e.conditional) for e in edges] == [(SSO, PROVIDER, conditional)]


def test_a_trust_deny_of_the_provider_stops_federation() -> None:
    acct = Account()
    trust = saml_trust(PROVIDER)
    trust["Statement"].append(
        {"Effect": "Deny", "Principal": {"Federated": PROVIDER}, "Action": "sts:AssumeRoleWithSAML"}
    )
    acct.admin_role("sso-admin", trust)
    arn = acct.user("attacker", doc(allow("iam:UpdateSAMLProvider")))
    assert not [e for e in analyze(acct.build()).edges if e.source == arn]


def test_batch_001_without_batch_inventory_is_conditional() -> None:
    acct = Account()
    acct.admin_role("svc-admin", trust_service(ECS))
    for key in [k for k in acct.inventory if k[0] == "batch:job-queue"]:
        del acct.inventory[key]
    arn = acct.user("attacker", doc(allow(["iam:PassRole", "batch:RegisterJobDefinition", "batch:SubmitJob"])))
    (edge,) = [e for e in analyze(acct.build()).edges if e.source == arn and e.technique == "batch-001"]
    assert edge.conditional and any("job queue exists is unknown" in c for c in edge.conditions)


def test_identity_pool_roles_are_asked_on_star_as_the_sar_says() -> None:
    # SetIdentityPoolRoles has no resource type in the SAR: AWS authorizes it against "*", so a
    # policy naming the pool's ARN neither allows nor denies it.
    row = next(r for r in ROWS if r.id == "cognitoidentity-001")
    (edge,) = edges_of(row, row.setup)
    assert [[(g.action, g.resource) for g in alt] for alt in edge.alternatives] == [
        [("iam:PassRole", SVC), ("cognito-identity:SetIdentityPoolRoles", "*")]
    ]
    pool_arn = f"arn:aws:cognito-identity:us-east-1:{ACCT}:identitypool/{POOL}"
    assert edges_of(row, row.setup, deny("cognito-identity:SetIdentityPoolRoles", pool_arn))
    assert not edges_of(row, row.setup, deny("cognito-identity:SetIdentityPoolRoles", "*"))
    limited = allow("cognito-identity:SetIdentityPoolRoles", pool_arn)
    report, arn = build(["iam:PassRole"], row.setup, limited)
    assert ("cognitoidentity-001", SVC) not in techniques_from(report, arn)


def test_new_resources_are_asked_in_the_namespace_of_their_action() -> None:
    # X-AutoScaling's group is an autoscaling resource, its launch template an ec2 one.
    acct = Account()
    svc(EC2, profile=True)(acct)
    arn = acct.user(
        "attacker",
        doc(
            allow("iam:PassRole"),
            allow("ec2:CreateLaunchTemplate", f"arn:aws:ec2:*:{ACCT}:launch-template/*"),
            allow("autoscaling:CreateAutoScalingGroup", f"arn:aws:autoscaling:*:{ACCT}:autoScalingGroup:*"),
        ),
    )
    assert ("X-AutoScaling", SVC) in techniques_from(analyze(acct.build()), arn)
