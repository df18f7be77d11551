"""ECS techniques: a task definition naming a passed task role (trusting ecs-tasks.amazonaws.com),
started as a service or a task, in a new cluster or an existing one.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from deescalate.edges.base import Checker, EdgeContext, Principal, new_resource, passed_to
from deescalate.edges.patterns import pass_role_checker
from deescalate.model import Edge, Grant

TASKS = "ecs-tasks.amazonaws.com"
CLUSTER = "ecs:cluster"


def _in_cluster(technique: str, start: str) -> Checker:
    """ecs-003/004: register a task definition with the role and start it in an existing cluster."""

    def find(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
        account = source.account_id
        clusters = [c.arn for c in ctx.resources(CLUSTER, account)]
        gaps = ctx.gaps(CLUSTER)
        doubts = (
            () if clusters else tuple(f"{CLUSTER} in {g.region} could not be listed ({g.why})" for g in gaps)
        )
        clusters += [f"arn:aws:ecs:{g.region}:{account}:cluster/*" for g in gaps]
        if not clusters:
            return
        register = Grant(
            action="ecs:RegisterTaskDefinition", resource=new_resource("ecs", account, "task-definition/*")
        )
        for role in ctx.roles_trusting(TASKS, account):
            if role.arn == source.arn or not ctx.wants(source.arn, role.arn):
                continue
            pass_grant = Grant(action="iam:PassRole", resource=role.arn, context=passed_to(TASKS))
            # CreateService is authorised on the service ARN, RunTask on the task definition; both
            # carry the cluster as ecs:cluster. Any one cluster will do: one alternative each.
            candidates = []
            for cluster in clusters:
                ctx_key = (("ecs:cluster", (cluster,)),)
                target = (
                    new_resource("ecs", account, "service/*")
                    if start == "ecs:CreateService"
                    else register.resource
                )
                candidates.append(
                    (pass_grant, register, Grant(action=start, resource=target, context=ctx_key))
                )
            edge = ctx.edge(
                source=source.arn,
                target=role.arn,
                technique=technique,
                candidates=candidates,
                unknown=doubts,
                description=f"start a task as {role.name} in an existing cluster ({start})",
            )
            if edge is not None:
                yield edge

    return Checker(
        technique=technique,
        title=f"PassRole + RegisterTaskDefinition + {start.split(':')[1]}",
        needs=(("iam:PassRole", "ecs:RegisterTaskDefinition", start),),
        find=find,
        kinds=(CLUSTER,),
    )


TASK_DEFINITION = "ecs:task-definition"


def _override(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    """ecs-008: RunTask of an existing task definition with a taskRoleArn override."""
    account = source.account_id
    tds = [t.arn for t in ctx.resources(TASK_DEFINITION, account)]
    if not tds:
        return
    for role in ctx.roles_trusting(TASKS, account):
        if role.arn == source.arn or not ctx.wants(source.arn, role.arn):
            continue
        pass_grant = Grant(action="iam:PassRole", resource=role.arn, context=passed_to(TASKS))
        # Any one task definition will do: one alternative each.
        candidates = [(pass_grant, Grant(action="ecs:RunTask", resource=td)) for td in tds]
        edge = ctx.edge(
            source=source.arn,
            target=role.arn,
            technique="ecs-008",
            candidates=candidates,
            description=f"run an existing task definition with {role.name} as its task role (override)",
        )
        if edge is not None:
            yield edge


CHECKERS: tuple[Checker, ...] = (
    Checker(
        technique="ecs-008",
        title="PassRole + RunTask with a task-role override",
        needs=(("iam:PassRole", "ecs:RunTask"),),
        find=_override,
        kinds=(TASK_DEFINITION,),
    ),
    pass_role_checker(
        "ecs-001",
        "PassRole + CreateCluster + RegisterTaskDefinition + CreateService",
        services=(TASKS,),
        service_name="ecs",
        calls=(
            ("ecs:CreateCluster", "cluster/*"),
            ("ecs:RegisterTaskDefinition", "task-definition/*"),
            ("ecs:CreateService", "service/*"),
        ),
    ),
    pass_role_checker(
        "ecs-002",
        "PassRole + CreateCluster + RegisterTaskDefinition + RunTask",
        services=(TASKS,),
        service_name="ecs",
        calls=(
            ("ecs:CreateCluster", "cluster/*"),
            ("ecs:RegisterTaskDefinition", "task-definition/*"),
            ("ecs:RunTask", "task-definition/*"),
        ),
    ),
    _in_cluster("ecs-003", "ecs:CreateService"),
    _in_cluster("ecs-004", "ecs:RunTask"),
)
