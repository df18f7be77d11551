"""The rest of the known catalogue: ECS Exec, tasks on container instances (existing or rogue),
ssm:CreateAssociation, Auto Scaling through a launch configuration, EMR's service role, and the
techniques through the newly collected kinds (launch templates, Batch, CodeDeploy, App Runner,
Bedrock AgentCore runtimes).

Each row: flagged with the right id and target in its world; not flagged when any one needed
action is denied; not flagged without the technique's precondition (the trap); the plan for the
positive world verifies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from builders import ACCT, REGION, Account, allow, deny, doc, role_arn, trust_service

from deescalate.analysis.analyze import analyze
from deescalate.model import Edge, InventoryRecord, InventoryState, Report
from deescalate.remediate.plan import build_plan, default_analyze

ECS = "ecs-tasks.amazonaws.com"
EC2 = "ec2.amazonaws.com"
SVC = role_arn("svc-admin")
HELPER = role_arn("helper")
CLUSTER = f"arn:aws:ecs:{REGION}:{ACCT}:cluster/main"
SERVICE = f"arn:aws:ecs:{REGION}:{ACCT}:service/main/web"
TASK_DEF = f"arn:aws:ecs:{REGION}:{ACCT}:task-definition/web:3"
INSTANCE = f"arn:aws:ec2:{REGION}:{ACCT}:instance/i-0123456789abcdef0"
LAUNCH_TEMPLATE = f"arn:aws:ec2:{REGION}:{ACCT}:launch-template/lt-0123456789abcdef0"
JOB_QUEUE = f"arn:aws:batch:{REGION}:{ACCT}:job-queue/q"
JOB_DEF = f"arn:aws:batch:{REGION}:{ACCT}:job-definition/jd:1"
DEPLOYMENT_GROUP = f"arn:aws:codedeploy:{REGION}:{ACCT}:deploymentgroup:app/dg"
APPRUNNER = f"arn:aws:apprunner:{REGION}:{ACCT}:service/web/0123456789abcdef0123456789abcdef"
RUNTIME = f"arn:aws:bedrock-agentcore:{REGION}:{ACCT}:runtime/agent-0123456789"

World = Callable[[Account], None]


@dataclass(frozen=True)
class Row:
    name: str
    id: str
    actions: tuple[str, ...]
    setup: World
    trap: World  # looks alike, but the precondition is missing: no edge
    target: str = SVC

    def __str__(self) -> str:
        return self.name


def _svc(acct: Account, service: str = ECS, *, profile: bool = False, admin: bool = True) -> str:
    if admin:
        return acct.admin_role("svc-admin", trust_service(service), profile=profile)
    return acct.role("svc-admin", trust_service(service), doc(allow("s3:GetObject")), profile=profile)


def ecs_exec(*, enabled: bool = True, task_role_admin: bool = True) -> World:
    def setup(acct: Account) -> None:
        admin = _svc(acct)
        plain = acct.role("plain", trust_service(ECS), doc(allow("s3:GetObject")))
        task_role, exec_role = (admin, plain) if task_role_admin else (plain, admin)
        acct.resource("ecs:cluster", CLUSTER, name="main")
        acct.resource(
            "ecs:task-definition", TASK_DEF, task_role, exec_role, name="web",
            attributes={"task_role_arn": task_role, "execution_role_arn": exec_role},
        )
        acct.resource(
            "ecs:service", SERVICE, task_role, exec_role, name="web",
            attributes={
                "cluster_arn": CLUSTER, "task_definition_arn": TASK_DEF,
                "execute_command": "true" if enabled else "false", "running": "1",
            },
        )

    return setup


def container_instances(count: int) -> World:
    def setup(acct: Account) -> None:
        _svc(acct)
        acct.resource("ecs:cluster", CLUSTER, name="main", attributes={"container_instances": str(count)})

    return setup


def managed_instance(managed: bool) -> World:
    def setup(acct: Account) -> None:
        _svc(acct, EC2, profile=True)
        acct.resource("ec2:instance", INSTANCE, SVC, attributes={"instance_profile_arn": "p"})
        if managed:
            acct.resource("ssm:managed-instance", INSTANCE, SVC)

    return setup


def profile_role(profile: bool) -> World:
    def setup(acct: Account) -> None:
        _svc(acct, EC2, profile=profile)

    return setup


def emr(service_role: bool) -> World:
    def setup(acct: Account) -> None:
        _svc(acct, EC2, profile=True)
        if service_role:
            acct.role("emr-service", trust_service("elasticmapreduce.amazonaws.com"), doc(allow("ec2:*")))

    return setup


def one(kind: str, arn: str, service: str, *, profile: bool = False, admin: bool = True, **attrs: str) -> World:
    def setup(acct: Account) -> None:
        role = _svc(acct, service, profile=profile, admin=admin)
        acct.resource(kind, arn, role, attributes=attrs)

    return setup


def batch(queue: bool, *, job_role_admin: bool = True) -> World:
    def setup(acct: Account) -> None:
        role = _svc(acct, ECS, admin=job_role_admin)
        acct.resource("batch:job-definition", JOB_DEF, role, attributes={"job_role_arn": role})
        if queue:
            acct.resource("batch:job-queue", JOB_QUEUE)

    return setup


ROWS: tuple[Row, ...] = (
    Row("ecs-006", "ecs-006", ("ecs:ExecuteCommand",), ecs_exec(), ecs_exec(task_role_admin=False)),
    Row(
        "ecs-006-enable", "ecs-006", ("ecs:ExecuteCommand", "ecs:UpdateService"), ecs_exec(enabled=False),
        ecs_exec(enabled=False, task_role_admin=False),
    ),
    Row(
        "ecs-005", "ecs-005", ("iam:PassRole", "ecs:RegisterTaskDefinition", "ecs:StartTask"),
        container_instances(2), container_instances(0),
    ),
    Row(
        "ecs-007", "ecs-007",
        ("iam:PassRole", "ecs:RegisterContainerInstance", "ecs:RegisterTaskDefinition", "ecs:StartTask",
         "ecs:CreateCluster"),
        container_instances(0), lambda acct: _svc(acct, "states.amazonaws.com"),
    ),
    Row("X-SSMOther", "X-SSMOther", ("ssm:CreateAssociation",), managed_instance(True), managed_instance(False)),
    Row(
        "X-AutoScaling-lc", "X-AutoScaling",
        ("iam:PassRole", "autoscaling:CreateLaunchConfiguration", "autoscaling:CreateAutoScalingGroup"),
        profile_role(True), lambda acct: _svc(acct, "lambda.amazonaws.com", profile=True),
    ),
    Row("emr-001", "emr-001", ("iam:PassRole", "elasticmapreduce:RunJobFlow"), emr(True), emr(False)),
    Row(
        "ec2-005", "ec2-005", ("ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate"),
        one("ec2:launch-template", LAUNCH_TEMPLATE, EC2, profile=True),
        one("ec2:launch-template", LAUNCH_TEMPLATE, EC2, profile=True, admin=False),
    ),
    Row("batch-002", "batch-002", ("batch:SubmitJob",), batch(True), batch(False)),
    Row(
        "batch-002-role", "batch-002", ("batch:SubmitJob",), batch(True), batch(True, job_role_admin=False),
    ),
    Row(
        "codedeploy-001", "codedeploy-001",
        ("codedeploy:CreateDeployment",),
        one("codedeploy:deployment-group", DEPLOYMENT_GROUP, EC2, profile=True),
        one("codedeploy:deployment-group", DEPLOYMENT_GROUP, EC2, profile=True, admin=False),
    ),
    Row(
        "apprunner-002", "apprunner-002", ("apprunner:UpdateService",),
        one("apprunner:service", APPRUNNER, "tasks.apprunner.amazonaws.com"),
        one("apprunner:service", APPRUNNER, "tasks.apprunner.amazonaws.com", admin=False),
    ),
    Row(
        "bedrock-004", "bedrock-004", ("bedrock-agentcore:InvokeAgentRuntimeCommand",),
        one("bedrock-agentcore:runtime", RUNTIME, "bedrock-agentcore.amazonaws.com"),
        one("bedrock-agentcore:runtime", RUNTIME, "bedrock-agentcore.amazonaws.com", admin=False),
    ),
)


def build(actions: tuple[str, ...], setup: World, *extra: dict[str, Any]) -> tuple[Report, str]:
    acct = Account()
    setup(acct)
    arn = acct.user("attacker", doc(allow(list(actions)), *extra))
    return analyze(acct.build()), arn


def edges_of(row: Row, setup: World, *extra: dict[str, Any]) -> list[Edge]:
    report, arn = build(row.actions, setup, *extra)
    return [e for e in report.edges if e.source == arn and (e.technique, e.target) == (row.id, row.target)]


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_flagged(row: Row) -> None:
    report, arn = build(row.actions, row.setup)
    edges = [e for e in report.edges if e.source == arn and (e.technique, e.target) == (row.id, row.target)]
    assert edges, {(e.technique, e.target) for e in report.edges if e.source == arn}
    finding = next(f for f in report.findings if f.principal == arn)
    assert row.id in finding.techniques


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_not_flagged_when_any_needed_action_is_denied(row: Row) -> None:
    needed = [a for a in row.actions if a not in ("ecs:CreateCluster", "ecs:UpdateService")] or row.actions
    for action in needed:
        assert not edges_of(row, row.setup, deny(action)), action


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_trap_is_not_a_finding(row: Row) -> None:
    report, arn = build(row.actions, row.trap)
    assert not [f for f in report.findings if f.principal == arn], [
        (e.technique, e.target) for e in report.edges if e.source == arn
    ]


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_plan_verifies(row: Row) -> None:
    acct = Account()
    row.setup(acct)
    arn = acct.user("attacker", doc(allow(list(row.actions))))
    snap = acct.build()
    plan = build_plan(snap, analyze(snap), default_analyze())
    assert plan.verified, [(e.technique, e.target) for e in plan.remaining]
    assert any(p.principal == arn and p.denies for p in plan.principals)


def test_emr_needs_the_service_role_passed() -> None:
    row = next(r for r in ROWS if r.name == "emr-001")
    assert not edges_of(row, row.setup, deny("iam:PassRole", role_arn("emr-service")))
    (edge,) = edges_of(row, row.setup)
    assert all(any(g.resource == role_arn("emr-service") for g in alt) for alt in edge.alternatives)


def test_ecs_exec_on_a_service_with_exec_on_needs_no_update() -> None:
    row = next(r for r in ROWS if r.name == "ecs-006")
    (edge,) = edges_of(row, row.setup, deny("ecs:UpdateService"))
    assert not edge.conditional
    assert {g.resource for g in edge.alternatives[0]} == {
        CLUSTER, f"arn:aws:ecs:{REGION}:{ACCT}:task/main/*"
    }


def test_ecs_exec_limited_to_another_cluster_is_not_a_finding() -> None:
    acct = Account()
    ecs_exec()(acct)
    other = f"arn:aws:ecs:{REGION}:{ACCT}:cluster/other"
    arn = acct.user("attacker", doc(allow("ecs:ExecuteCommand", [other, "arn:aws:ecs:*:*:task/other/*"])))
    assert not [f for f in analyze(acct.build()).findings if f.principal == arn]


def test_a_kind_that_could_not_be_collected_lists_its_techniques_as_unexamined() -> None:
    acct = Account()
    _svc(acct, "tasks.apprunner.amazonaws.com")
    acct.inventory[("apprunner:service", REGION)] = InventoryRecord(
        kind="apprunner:service", region=REGION, state=InventoryState.FAILED, error="HTTP 500"
    )
    acct.user("attacker", doc(allow("apprunner:UpdateService")))
    report = analyze(acct.build())
    hits = [u for u in report.unexamined if u.startswith("apprunner-002")]
    assert hits and REGION in hits[0] and "HTTP 500" in hits[0]
