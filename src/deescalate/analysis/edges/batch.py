"""AWS Batch techniques: a job runs in a container with the job role of its job definition, a role
that trusts ecs-tasks.amazonaws.com (Batch runs jobs as ECS tasks).
https://docs.aws.amazon.com/batch/latest/userguide/job_definition_parameters.html (jobRoleArn)

batch-003 builds everything itself: a compute environment, a job queue on it, a job definition
naming the passed role, and a job. batch-001 submits a new job definition to a job queue that
already exists; batch-002 submits an existing job definition (overriding its command) to one, and
reaches that definition's job role. Job queues are collected (`batch:job-queue`); where they could
not be listed (or the snapshot holds no Batch inventory), whether a queue exists is unknown and
the edges are conditional, saying so.
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
from deescalate.analysis.edges.patterns import pass_role_checker
from deescalate.arn import partition_of
from deescalate.model import Edge, Grant
from deescalate.snapshot import layout as L

TASKS = "ecs-tasks.amazonaws.com"
# SubmitJob is authorised on the job queue and on the job definition.
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsbatch.html
SUBMIT = (("batch:SubmitJob", "job-queue"), ("batch:SubmitJob", "job-definition"))

def _queues(ctx: EdgeContext, source: Principal) -> tuple[list[str], tuple[str, ...]]:
    """(job queue ARNs or patterns to submit to, why they are uncertain)."""
    account = source.account_id
    listed = [q.arn for q in ctx.resources(L.BATCH_JOB_QUEUE, account)]
    if not ctx.inventoried(L.BATCH_JOB_QUEUE):
        pattern = new_resource(
            "batch:SubmitJob", account, rtype="job-queue", partition=partition_of(source.arn)
        )
        return [pattern], (
            "whether a Batch job queue exists is unknown (the snapshot holds no Batch inventory)",
        )
    gaps = ctx.gaps(L.BATCH_JOB_QUEUE)
    patterns = [
        new_resource(
            "batch:SubmitJob", account, region=g.region, rtype="job-queue", partition=partition_of(source.arn)
        )
        for g in gaps
    ]
    why = tuple(f"{L.BATCH_JOB_QUEUE} in {g.region} could not be listed ({g.why})" for g in gaps)
    doubts = () if listed else why
    return listed + patterns, doubts


def _submit(queue: str) -> Grant:
    return Grant(action="batch:SubmitJob", resource=queue)


def _new_definition(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    """batch-001: PassRole + RegisterJobDefinition + SubmitJob to an existing job queue."""
    queues, doubts = _queues(ctx, source)
    if not queues:
        return
    partition = partition_of(source.arn)
    register = Grant(
        action="batch:RegisterJobDefinition",
        resource=new_resource("batch:RegisterJobDefinition", source.account_id, partition=partition),
    )
    definition = Grant(
        action="batch:SubmitJob",
        resource=new_resource(
            "batch:SubmitJob", source.account_id, rtype="job-definition", partition=partition
        ),
    )
    for role in ctx.others(source, ctx.roles_trusting(TASKS, source.account_id)):
        edge = ctx.edge(
            source=source.arn,
            target=role.arn,
            technique="batch-001",
            candidates=[(pass_role(role.arn, TASKS), register, _submit(q), definition) for q in queues],
            unknown=doubts,
            description=f"submit a job running as {role.name} to an existing job queue",
        )
        if edge is not None:
            yield edge


def _existing_definition(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    """batch-002: SubmitJob of an existing job definition with containerOverrides (its command):
    the job runs as the definition's job role, no iam:PassRole needed.
    https://docs.aws.amazon.com/batch/latest/APIReference/API_SubmitJob.html
    """
    queues, doubts = _queues(ctx, source)
    if not queues:
        return
    for jd in ctx.resources(L.BATCH_JOB_DEFINITION, source.account_id):
        role_arn = jd.attributes.get("job_role_arn")
        if not role_arn or role_arn == source.arn or not ctx.wants(source.arn, role_arn):
            continue
        candidates: list[Alternative] = [
            (Grant(action="batch:SubmitJob", resource=q), Grant(action="batch:SubmitJob", resource=jd.arn))
            for q in queues
        ]
        edge = ctx.edge(
            source=source.arn,
            target=role_arn,
            technique="batch-002",
            candidates=candidates,
            via=jd.arn,
            unknown=doubts,
            description=(
                f"submit job definition {jd.name} with its own command; "
                f"it runs as {role_arn.rsplit('/', 1)[-1]}"
            ),
        )
        if edge is not None:
            yield edge


CHECKERS: tuple[Checker, ...] = (
    pass_role_checker(
        "batch-003",
        services=(TASKS,),
        service_name="batch",
        calls=(
            ("batch:CreateComputeEnvironment", ""),
            ("batch:CreateJobQueue", ""),
            ("batch:RegisterJobDefinition", ""),
            *SUBMIT,
        ),
    ),
    Checker(
        technique="batch-001",
        needs=(("iam:PassRole", "batch:RegisterJobDefinition", "batch:SubmitJob"),),
        find=_new_definition,
    ),
    Checker(
        technique="batch-002",
        needs=(("batch:SubmitJob",),),
        find=_existing_definition,
        kinds=(L.BATCH_JOB_DEFINITION,),
    ),
)
