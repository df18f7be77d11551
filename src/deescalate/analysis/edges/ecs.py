"""ECS techniques: a task definition naming a passed task role (trusting ecs-tasks.amazonaws.com),
started as a service or a task, in a new cluster or an existing one.
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
)
from deescalate.analysis.edges.patterns import gap_pattern, pass_role_checker, pass_to_existing_edges
from deescalate.arn import partition_of
from deescalate.model import Edge, Grant

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
)
