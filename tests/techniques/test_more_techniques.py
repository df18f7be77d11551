"""Techniques beyond IAM-Vulnerable's 31: present with the right id and target, and absent when
one needed permission is denied. Plus the what-if techniques the planner relies on
(X-RemoveDeny, X-Boundary) and the take-over-and-rewrite combinations (iam-014..iam-021)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from builders import (
    ACCT,
    ADMIN_ACCESS,
    REGION,
    Account,
    allow,
    deny,
    doc,
    policy_arn,
    role_arn,
    trust_aws,
    trust_service,
    user_arn,
)

from deescalate.analysis.analyze import analyze
from deescalate.model import ADMIN, Report

SVC = role_arn("svc-admin")
ROOT = f"arn:aws:iam::{ACCT}:root"


def svc(service: str, profile: bool = False) -> Callable[[Account], None]:
    def setup(acct: Account) -> None:
        acct.admin_role("svc-admin", trust_service(service), profile=profile)

    return setup


def res(service: str, kind: str, arn: str, profile: bool = False) -> Callable[[Account], None]:
    def setup(acct: Account) -> None:
        acct.admin_role("svc-admin", trust_service(service), profile=profile)
        acct.resource(kind, arn, SVC)

    return setup


def emr_world(acct: Account) -> None:
    """An instance-profile role trusting EC2 and an EMR service role (RunJobFlow passes both)."""
    acct.admin_role("svc-admin", trust_service("ec2.amazonaws.com"), profile=True)
    acct.role("emr-service", trust_service("elasticmapreduce.amazonaws.com"), doc(allow("ec2:*")))


def cluster(acct: Account) -> None:
    acct.admin_role("svc-admin", trust_service("ecs-tasks.amazonaws.com"))
    acct.resource("ecs:cluster", f"arn:aws:ecs:{REGION}:{ACCT}:cluster/main")


def glue_job(acct: Account) -> None:
    acct.admin_role("svc-admin", trust_service("glue.amazonaws.com"))
    acct.resource("glue:job", f"arn:aws:glue:{REGION}:{ACCT}:job/etl", role_arn("svc-admin"))


def task_definition(acct: Account) -> None:
    acct.admin_role("svc-admin", trust_service("ecs-tasks.amazonaws.com"))
    acct.resource("ecs:task-definition", f"arn:aws:ecs:{REGION}:{ACCT}:task-definition/web:3")


def plain_role(acct: Account) -> None:
    acct.role("victim", trust_aws(ROOT), doc(allow("s3:GetObject")))


def plain_user(acct: Account) -> None:
    acct.user("victim", doc(allow("s3:GetObject")), keys=0)


def nothing(acct: Account) -> None:
    return None


FN = f"arn:aws:lambda:{REGION}:{ACCT}:function:fn"
PROJECT = f"arn:aws:codebuild:{REGION}:{ACCT}:project/build"
STACK = f"arn:aws:cloudformation:{REGION}:{ACCT}:stack/st/1"
NOTEBOOK = f"arn:aws:sagemaker:{REGION}:{ACCT}:notebook-instance/nb"
INSTANCE = f"arn:aws:ec2:{REGION}:{ACCT}:instance/i-1"
ECS = "ecs-tasks.amazonaws.com"

# (id, actions the attacker gets, world, expected target)
TABLE: list[tuple[str, list[str], Callable[[Account], None], str]] = [
    (
        "lambda-006",
        ["iam:PassRole", "lambda:CreateFunction", "lambda:AddPermission"],
        svc("lambda.amazonaws.com"),
        SVC,
    ),
    (
        "X-LambdaUpdateConfig",
        ["lambda:UpdateFunctionConfiguration"],
        res("lambda.amazonaws.com", "lambda:function", FN),
        SVC,
    ),
    ("glue-003", ["iam:PassRole", "glue:CreateJob", "glue:StartJobRun"], svc("glue.amazonaws.com"), SVC),
    ("glue-004", ["iam:PassRole", "glue:CreateJob", "glue:CreateTrigger"], svc("glue.amazonaws.com"), SVC),
    ("glue-005", ["iam:PassRole", "glue:UpdateJob", "glue:StartJobRun"], glue_job, SVC),
    ("glue-006", ["iam:PassRole", "glue:UpdateJob", "glue:CreateTrigger"], glue_job, SVC),
    ("glue-007", ["iam:PassRole", "glue:CreateSession", "glue:RunStatement"], svc("glue.amazonaws.com"), SVC),
    (
        "ecs-001",
        ["iam:PassRole", "ecs:CreateCluster", "ecs:RegisterTaskDefinition", "ecs:CreateService"],
        svc(ECS),
        SVC,
    ),
    (
        "ecs-002",
        ["iam:PassRole", "ecs:CreateCluster", "ecs:RegisterTaskDefinition", "ecs:RunTask"],
        svc(ECS),
        SVC,
    ),
    ("ecs-003", ["iam:PassRole", "ecs:RegisterTaskDefinition", "ecs:CreateService"], cluster, SVC),
    ("ecs-004", ["iam:PassRole", "ecs:RegisterTaskDefinition", "ecs:RunTask"], cluster, SVC),
    (
        "codebuild-002",
        ["codebuild:StartBuild"],
        res("codebuild.amazonaws.com", "codebuild:project", PROJECT),
        SVC,
    ),
    (
        "codebuild-003",
        ["codebuild:StartBuildBatch"],
        res("codebuild.amazonaws.com", "codebuild:project", PROJECT),
        SVC,
    ),
    (
        "codebuild-004",
        ["iam:PassRole", "codebuild:CreateProject", "codebuild:StartBuildBatch"],
        svc("codebuild.amazonaws.com"),
        SVC,
    ),
    (
        "cloudformation-005",
        ["cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet"],
        res("cloudformation.amazonaws.com", "cloudformation:stack", STACK),
        SVC,
    ),
    (
        "sagemaker-005",
        [
            "sagemaker:CreateNotebookInstanceLifecycleConfig",
            "sagemaker:StopNotebookInstance",
            "sagemaker:UpdateNotebookInstance",
            "sagemaker:StartNotebookInstance",
        ],
        res("sagemaker.amazonaws.com", "sagemaker:notebook-instance", NOTEBOOK),
        SVC,
    ),
    (
        "ec2-002",
        ["ec2:ModifyInstanceAttribute", "ec2:StopInstances", "ec2:StartInstances"],
        res("ec2.amazonaws.com", "ec2:instance", INSTANCE, profile=True),
        SVC,
    ),
    ("ec2-004", ["iam:PassRole", "ec2:RequestSpotInstances"], svc("ec2.amazonaws.com", profile=True), SVC),
    (
        "cloudformation-003",
        ["iam:PassRole", "cloudformation:CreateStackSet", "cloudformation:CreateStackInstances"],
        svc("cloudformation.amazonaws.com"),
        SVC,
    ),
    (
        "cloudformation-004",
        ["iam:PassRole", "cloudformation:UpdateStackSet"],
        svc("cloudformation.amazonaws.com"),
        SVC,
    ),
    ("ecs-008", ["iam:PassRole", "ecs:RunTask"], task_definition, SVC),
    ("apprunner-001", ["iam:PassRole", "apprunner:CreateService"], svc("tasks.apprunner.amazonaws.com"), SVC),
    ("braket-001", ["iam:PassRole", "braket:CreateJob"], svc("braket.amazonaws.com"), SVC),
    (
        "emrserverless-001",
        ["iam:PassRole", "emr-serverless:CreateApplication", "emr-serverless:StartJobRun"],
        svc("emr-serverless.amazonaws.com"),
        SVC,
    ),
    (
        "kinesisanalytics-001",
        ["iam:PassRole", "kinesisanalytics:CreateApplication", "kinesisanalytics:StartApplication"],
        svc("kinesisanalytics.amazonaws.com"),
        SVC,
    ),
    (
        "ssm-003",
        ["iam:PassRole", "ssm:CreateDocument", "ssm:StartAutomationExecution"],
        svc("ssm.amazonaws.com"),
        SVC,
    ),
    (
        "X-StepFunctions",
        ["iam:PassRole", "states:CreateStateMachine", "states:StartExecution"],
        svc("states.amazonaws.com"),
        SVC,
    ),
    ("X-Scheduler", ["iam:PassRole", "scheduler:CreateSchedule"], svc("scheduler.amazonaws.com"), SVC),
    (
        "X-AutoScaling",
        ["iam:PassRole", "ec2:CreateLaunchTemplate", "autoscaling:CreateAutoScalingGroup"],
        svc("ec2.amazonaws.com", profile=True),
        SVC,
    ),
    ("emr-001", ["iam:PassRole", "elasticmapreduce:RunJobFlow"], emr_world, SVC),
    ("X-CreateRole+Attach", ["iam:CreateRole", "iam:AttachRolePolicy"], nothing, ADMIN),
    ("X-CreateUser", ["iam:CreateUser", "iam:CreateAccessKey", "iam:PutUserPolicy"], nothing, ADMIN),
    ("iam-014", ["sts:AssumeRole", "iam:AttachRolePolicy"], plain_role, ADMIN),
    ("iam-017", ["sts:AssumeRole", "iam:PutRolePolicy"], plain_role, ADMIN),
    # iam-015 / iam-018 (CreateAccessKey + Attach/PutUserPolicy) are in test_composition.py: allowed
    # on "*" the attacker rewrites itself outright, so its take-overs are composed only once a plan
    # cuts that.
    ("iam-019", ["iam:UpdateAssumeRolePolicy", "iam:AttachRolePolicy"], plain_role, ADMIN),
    ("iam-021", ["iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy"], plain_role, ADMIN),
]


def build(actions: list[str], setup: Callable[[Account], None], *extra: dict[str, Any]) -> tuple[Report, str]:
    acct = Account()
    setup(acct)
    arn = acct.user("attacker", doc(allow(actions), *extra))
    return analyze(acct.build()), arn


def techniques_from(report: Report, arn: str) -> set[tuple[str, str]]:
    return {(e.technique, e.target) for e in report.edges if e.source == arn}


@pytest.mark.parametrize(("tid", "actions", "setup", "target"), TABLE, ids=[t[0] for t in TABLE])
def test_present(tid: str, actions: list[str], setup: Callable[[Account], None], target: str) -> None:
    report, arn = build(actions, setup)
    assert (tid, target) in techniques_from(report, arn)


@pytest.mark.parametrize(("tid", "actions", "setup", "target"), TABLE, ids=[t[0] for t in TABLE])
def test_absent_when_last_permission_denied(
    tid: str, actions: list[str], setup: Callable[[Account], None], target: str
) -> None:
    report, arn = build(actions, setup, deny(actions[-1]))
    assert (tid, target) not in techniques_from(report, arn)


def test_combination_needs_an_uncapped_target() -> None:
    acct = Account()
    cap = acct.managed("cap", doc(allow("s3:*")))
    acct.role("victim", trust_aws(ROOT), doc(allow("s3:GetObject")), boundary=cap)
    arn = acct.user("attacker", doc(allow(["sts:AssumeRole", "iam:AttachRolePolicy"])))
    assert ("iam-014", ADMIN) not in techniques_from(analyze(acct.build()), arn)


def test_remove_deny_catches_undoing_a_remediation() -> None:
    acct = Account()
    me = user_arn("attacker")
    remediation = doc(deny("iam:PutUserPolicy", me))
    acct.user("attacker", doc(allow(["iam:PutUserPolicy", "iam:DeleteUserPolicy"], me)), remediation)
    report = analyze(acct.build())
    edges = [e for e in report.edges if e.source == me]
    assert [(e.technique, e.target) for e in edges] == [("X-RemoveDeny", ADMIN)]
    (alt,) = edges[0].alternatives  # overwriting the deny policy is itself denied
    assert [g.action for g in alt] == ["iam:DeleteUserPolicy", "iam:PutUserPolicy"]


def test_remove_deny_needs_a_deny_that_blocks_something() -> None:
    acct = Account()
    me = user_arn("attacker")
    acct.user("attacker", doc(allow("iam:DeleteUserPolicy", me)), doc(deny("s3:*")))
    report = analyze(acct.build())
    assert not [e for e in report.edges if e.source == me]


def test_remove_deny_through_a_managed_policy_and_a_group() -> None:
    acct = Account()
    me = user_arn("attacker")
    fence = acct.managed("fence", doc(deny("iam:PutUserPolicy")))
    acct.group("fenced", doc(deny("iam:PutUserPolicy")))
    acct.user(
        "attacker",
        doc(allow(["iam:PutUserPolicy", "iam:DetachUserPolicy", "iam:RemoveUserFromGroup"])),
        managed=(fence,),
        groups=("fenced",),
    )
    report = analyze(acct.build())
    # Detaching the managed deny leaves the group's: no single change restores PutUserPolicy.
    assert not [e for e in report.edges if e.source == me]
    acct.groups.clear()
    acct.users.clear()
    acct.user("attacker", doc(allow(["iam:PutUserPolicy", "iam:DetachUserPolicy"])), managed=(fence,))
    edges = [e for e in analyze(acct.build()).edges if e.source == me]
    assert [(e.technique, e.target, e.via) for e in edges] == [
        ("X-RemoveDeny", ADMIN, f"{me}?managed={fence}")
    ]


def test_boundary_lift() -> None:
    acct = Account()
    me = user_arn("attacker")
    cap = acct.managed("cap", doc(allow(["s3:*", "iam:DeleteUserPermissionsBoundary"])))
    acct.user(
        "attacker", doc(allow(["iam:PutUserPolicy", "iam:DeleteUserPermissionsBoundary"])), boundary=cap
    )
    edges = [e for e in analyze(acct.build()).edges if e.source == me]
    assert [(e.technique, e.target) for e in edges] == [("X-Boundary", ADMIN)]
    # A boundary that does not let it delete itself holds.
    acct.managed("cap", doc(allow("s3:*")))
    assert not [e for e in analyze(acct.build()).edges if e.source == me]


def test_set_default_version_to_a_stronger_old_version() -> None:
    acct = Account()
    me = user_arn("attacker")
    pol = acct.managed("mine", doc(allow("iam:PassRole")), doc(allow("iam:SetDefaultPolicyVersion")))
    acct.admin_role("svc-admin", trust_service("ec2.amazonaws.com"), profile=True)
    acct.user("attacker", doc(allow("ec2:RunInstances")), managed=(pol,))
    edges = [e for e in analyze(acct.build()).edges if e.source == me]
    # v1 is not admin, but with it the attacker can pass svc-admin to an instance.
    assert [(e.technique, e.target) for e in edges] == [("iam-setdefaultversion", SVC)]
    assert edges[0].via == f"{policy_arn('mine')}?version=v1"


def test_add_user_to_a_group_with_escalation_powers() -> None:
    acct = Account()
    acct.group("ops", doc(allow("iam:CreateAccessKey")))
    acct.user("boss", managed=(ADMIN_ACCESS,))
    arn = acct.user("attacker", doc(allow("iam:AddUserToGroup")))
    assert ("iam-013", user_arn("boss")) in techniques_from(analyze(acct.build()), arn)


@pytest.mark.parametrize(
    ("condition", "flagged"),
    [
        ({"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}, True),
        ({"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}, False),
        ({"StringLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCT}:user/att*"}}, True),
        ({"StringEquals": {"aws:username": "someone-else"}}, False),
    ],
)
def test_conditions_that_leave_it_open_or_close_it(condition: dict[str, Any], flagged: bool) -> None:
    acct = Account()
    acct.admin_role("svc-admin", trust_service("ec2.amazonaws.com"), profile=True)
    arn = acct.user(
        "attacker", doc(allow("iam:PassRole", SVC, Condition=condition), allow("ec2:RunInstances"))
    )
    report = analyze(acct.build())
    edges = [e for e in report.edges if e.source == arn and e.technique == "ec2-001"]
    assert bool(edges) is flagged
    assert all(not e.conditional for e in edges)


@pytest.mark.parametrize(
    ("where", "flagged"),
    [("identity", False), ("scp", False), ("trust", True), ("nowhere", True)],
)
def test_trust_rewrite_needs_assume_role_to_stay_possible(where: str, flagged: bool) -> None:
    acct = Account()
    no_assume = deny("sts:AssumeRole")
    trust: dict[str, Any] = trust_service("ec2.amazonaws.com")
    if where == "trust":  # the rewrite replaces the trust policy, Deny included
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
        }
    acct.role("admin-role", trust, managed=(ADMIN_ACCESS,))
    extra = (doc(no_assume),) if where == "identity" else ()
    if where == "scp":
        acct.scp(no_assume)
    arn = acct.user("attacker", doc(allow("iam:UpdateAssumeRolePolicy")), *extra)
    assert (("iam-012", role_arn("admin-role")) in techniques_from(analyze(acct.build()), arn)) is flagged


def test_new_role_needs_assume_role_to_stay_possible() -> None:
    acct = Account()
    arn = acct.user(
        "attacker", doc(allow(["iam:CreateRole", "iam:PutRolePolicy"])), doc(deny("sts:AssumeRole"))
    )
    assert ("X-CreateRole+Attach", ADMIN) not in techniques_from(analyze(acct.build()), arn)


@pytest.mark.parametrize(
    ("actions", "managed_by_ssm", "flagged"),
    [
        (
            [
                "iam:PassRole",
                "ec2:ReplaceIamInstanceProfileAssociation",
                "ec2-instance-connect:SendSSHPublicKey",
            ],
            False,
            True,
        ),
        (["iam:PassRole", "ec2:ReplaceIamInstanceProfileAssociation", "ssm:StartSession"], True, True),
        (["iam:PassRole", "ec2:ReplaceIamInstanceProfileAssociation", "ssm:StartSession"], False, False),
        (
            ["iam:PassRole", "ec2:AssociateIamInstanceProfile", "ec2-instance-connect:SendSSHPublicKey"],
            False,
            False,
        ),
        (["iam:PassRole", "ec2:ReplaceIamInstanceProfileAssociation"], False, False),
    ],
)
def test_swap_instance_profile(actions: list[str], managed_by_ssm: bool, flagged: bool) -> None:
    acct = Account()
    acct.admin_role("svc-admin", trust_service("ec2.amazonaws.com"), profile=True)
    acct.role("web", trust_service("ec2.amazonaws.com"), doc(allow("s3:GetObject")), profile=True)
    acct.resource("ec2:instance", INSTANCE, role_arn("web"))  # has a profile: Replace, not Associate
    if managed_by_ssm:
        acct.resource("ssm:managed-instance", INSTANCE)
    arn = acct.user("attacker", doc(allow(actions)))
    got = techniques_from(analyze(acct.build()), arn)
    assert (("X-AssocInstanceProfile", SVC) in got) is flagged
