"""ECS techniques: a task definition naming a passed task role (trusting ecs-tasks.amazonaws.com),
started as a service or a task, in a new cluster or an existing one (on Fargate or on the cluster's
container instances, or on a container instance the source registers itself); a shell in a running
task of a service by ECS Exec.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from deescalate.analysis.edges.base import (
    Alternative,
    Checker,
    EdgeContext,
    Principal,
    new_resource,
    pass_role,
)
from deescalate.analysis.edges.patterns import gap_pattern, pass_role_checker, pass_to_existing_edges
from deescalate.arn import partition_of
from deescalate.model import Edge, Grant, Resource

TASKS = "ecs-tasks.amazonaws.com"
CLUSTER = "ecs:cluster"
SERVICE = "ecs:service"
TASK_DEFINITION = "ecs:task-definition"


def _register(source: Principal) -> Grant:
    action = "ecs:RegisterTaskDefinition"
    return Grant(
        action=action, resource=new_resource(action, source.account_id, partition=partition_of(source.arn))
    )


def _in_cluster(technique: str, start: str) -> Checker:
    """ecs-003/004: register a task definition with the role and start it in an existing cluster."""

    def find(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
        account = source.account_id
        register = _register(source)
        # CreateService is authorised on the service ARN, RunTask on the task definition; both
        # carry the cluster as ecs:cluster.
        target = (
            new_resource(start, account, partition=partition_of(source.arn))
            if start == "ecs:CreateService"
            else register.resource
        )

        def calls(cluster: str) -> list[Alternative]:
            return [(register, Grant(action=start, resource=target, context=(("ecs:cluster", (cluster,)),)))]

        yield from pass_to_existing_edges(
            ctx,
            source,
            technique=technique,
            kind=CLUSTER,
            service=TASKS,
            gap_resource=gap_pattern("ecs:CreateCluster"),
            calls=calls,
            description=lambda role: f"start a task as {role.name} in an existing cluster ({start})",
        )

    return Checker(
        technique=technique,
        needs=(("iam:PassRole", "ecs:RegisterTaskDefinition", start),),
        find=find,
        kinds=(CLUSTER,),
    )


def _override(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    """ecs-008: RunTask of an existing task definition with a taskRoleArn override."""
    yield from pass_to_existing_edges(
        ctx,
        source,
        technique="ecs-008",
        kind=TASK_DEFINITION,
        service=TASKS,
        gap_resource=gap_pattern("ecs:RunTask"),
        calls=lambda td: [(Grant(action="ecs:RunTask", resource=td),)],
        description=lambda role: (
            f"run an existing task definition with {role.name} as its task role (override)"
        ),
        with_gaps=False,
    )


def _update_service(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    """X-ECSUpdateService: a new task definition revision with the role, rolled out to an existing
    service by UpdateService (authorised on the service's ARN).
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html
    """
    register = _register(source)
    yield from pass_to_existing_edges(
        ctx,
        source,
        technique="X-ECSUpdateService",
        kind=SERVICE,
        service=TASKS,
        gap_resource=gap_pattern("ecs:UpdateService"),
        calls=lambda svc: [(register, Grant(action="ecs:UpdateService", resource=svc))],
        description=lambda role: f"roll out a task definition running as {role.name} to an existing service",
    )


def _start_task(source: Principal, cluster: str) -> tuple[Grant, Grant]:
    """RegisterTaskDefinition (new) + StartTask of it on the cluster's container instances.

    StartTask is authorised on the task definition and carries the cluster as ecs:cluster.
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StartTask.html
    """
    register = _register(source)
    start = Grant(action="ecs:StartTask", resource=register.resource, context=(("ecs:cluster", (cluster,)),))
    return register, start


def _on_container_instances(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    """ecs-005: StartTask needs container instances; clusters that have some (describe-clusters'
    registeredContainerInstancesCount) take a task started with a passed role."""
    account = source.account_id
    clusters = [
        c for c in ctx.resources(CLUSTER, account) if int(c.attributes.get("container_instances", "0")) > 0
    ]
    if not clusters:
        return
    for role in ctx.others(source, ctx.roles_trusting(TASKS, account)):
        pass_grant = _pass(role.arn)
        edge = ctx.edge(
            source=source.arn,
            target=role.arn,
            technique="ecs-005",
            candidates=[(pass_grant, *_start_task(source, c.arn)) for c in clusters],
            description=f"start a task as {role.name} on an existing cluster's container instances",
        )
        if edge is not None:
            yield edge


def _rogue_instance(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    """ecs-007: register a machine the source controls as a container instance of a cluster (an
    existing one, or a new one), start a task with a passed role on it and read the task role's
    credentials from the agent. RegisterContainerInstance is authorised on the cluster.
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterContainerInstance.html
    """
    account = source.account_id
    partition = partition_of(source.arn)
    new_cluster = new_resource("ecs:CreateCluster", account, partition=partition)
    ways: list[Alternative] = []
    for c in ctx.resources(CLUSTER, account):
        register = Grant(action="ecs:RegisterContainerInstance", resource=c.arn)
        ways.append((register, *_start_task(source, c.arn)))
    ways.append(
        (
            Grant(action="ecs:CreateCluster", resource=new_cluster),
            Grant(action="ecs:RegisterContainerInstance", resource=new_cluster),
            *_start_task(source, new_cluster),
        )
    )
    for role in ctx.others(source, ctx.roles_trusting(TASKS, account)):
        pass_grant = _pass(role.arn)
        edge = ctx.edge(
            source=source.arn,
            target=role.arn,
            technique="ecs-007",
            candidates=[(pass_grant, *way) for way in ways],
            description=(
                f"register a machine it controls as a container instance and start a task as {role.name}"
            ),
        )
        if edge is not None:
            yield edge


def _pass(role_arn: str) -> Grant:
    return pass_role(role_arn, TASKS)


def _task_role(ctx: EdgeContext, service: Resource) -> str | None:
    td = service.attributes.get("task_definition_arn")
    for res in ctx.resources(TASK_DEFINITION, service.arn.split(":")[4]):
        if res.arn == td:
            return res.attributes.get("task_role_arn")
    return None


def _exec(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    """ecs-006: ECS Exec (ecs:ExecuteCommand, authorised on the cluster and the task) opens a shell
    in a running task of a service, where the task role's credentials are at hand. A service
    without ECS Exec can be given it by UpdateService (enableExecuteCommand, forceNewDeployment;
    no iam:PassRole: the role does not change). The task role must also be allowed the
    ssmmessages channel, which the task role's own policies decide (an admin role has it).
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html
    """
    account = source.account_id
    for svc in ctx.resources(SERVICE, account):
        role_arn = _task_role(ctx, svc)
        cluster = svc.attributes.get("cluster_arn")
        if not role_arn or not cluster or role_arn == source.arn or not ctx.wants(source.arn, role_arn):
            continue
        cluster_name = cluster.rsplit("/", 1)[-1]
        task = new_resource(
            "ecs:ExecuteCommand", account, region=svc.region, rtype="task",
            partition=partition_of(svc.arn), names={"ClusterName": cluster_name},
        )
        shell = (
            Grant(action="ecs:ExecuteCommand", resource=cluster),
            Grant(action="ecs:ExecuteCommand", resource=task),
        )
        enabled = svc.attributes.get("execute_command") == "true"
        running = int(svc.attributes.get("running", "0")) > 0
        candidates: list[Alternative] = []
        if enabled and running:
            candidates.append(shell)
        candidates.append((Grant(action="ecs:UpdateService", resource=svc.arn), *shell))
        edge = ctx.edge(
            source=source.arn,
            target=role_arn,
            technique="ecs-006",
            candidates=candidates,
            via=svc.arn,
            description=(
                f"open a shell (ECS Exec) in a task of service {svc.name}, "
                f"which runs as {role_arn.rsplit('/', 1)[-1]}"
                + ("" if enabled and running else " (after UpdateService turns ECS Exec on)")
            ),
        )
        if edge is not None:
            yield edge


CHECKERS: tuple[Checker, ...] = (
    Checker(
        technique="ecs-008",
        needs=(("iam:PassRole", "ecs:RunTask"),),
        find=_override,
        kinds=(TASK_DEFINITION,),
    ),
    pass_role_checker(
        "ecs-001",
        services=(TASKS,),
        service_name="ecs",
        calls=(
            ("ecs:CreateCluster", ""),
            ("ecs:RegisterTaskDefinition", ""),
            ("ecs:CreateService", ""),
        ),
    ),
    pass_role_checker(
        "ecs-002",
        services=(TASKS,),
        service_name="ecs",
        calls=(
            ("ecs:CreateCluster", ""),
            ("ecs:RegisterTaskDefinition", ""),
            ("ecs:RunTask", ""),
        ),
    ),
    _in_cluster("ecs-003", "ecs:CreateService"),
    _in_cluster("ecs-004", "ecs:RunTask"),
    Checker(
        technique="X-ECSUpdateService",
        needs=(("iam:PassRole", "ecs:RegisterTaskDefinition", "ecs:UpdateService"),),
        find=_update_service,
        kinds=(SERVICE,),
    ),
    Checker(
        technique="ecs-005",
        needs=(("iam:PassRole", "ecs:RegisterTaskDefinition", "ecs:StartTask"),),
        find=_on_container_instances,
        kinds=(CLUSTER,),
    ),
    Checker(
        technique="ecs-007",
        needs=(
            ("iam:PassRole", "ecs:RegisterContainerInstance", "ecs:RegisterTaskDefinition", "ecs:StartTask"),
        ),
        find=_rogue_instance,
    ),
    Checker(
        technique="ecs-006",
        needs=(("ecs:ExecuteCommand",),),
        find=_exec,
        kinds=(SERVICE,),
    ),
)
