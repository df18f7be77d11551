"""AWS Batch techniques: a job runs in a container with the job role of its job definition, a role
that trusts ecs-tasks.amazonaws.com (Batch runs jobs as ECS tasks).
https://docs.aws.amazon.com/batch/latest/userguide/job_definition_parameters.html (jobRoleArn)

batch-003 builds everything itself: a compute environment, a job queue on it, a job definition
naming the passed role, and a job. batch-001 submits to a job queue that already exists; the
snapshot holds no Batch inventory, so whether a queue exists is unknown and its edges are
conditional, saying so.
"""

from __future__ import annotations

from deescalate.analysis.edges.base import Checker
from deescalate.analysis.edges.patterns import pass_role_checker

TASKS = "ecs-tasks.amazonaws.com"
# SubmitJob is authorised on the job queue and on the job definition.
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsbatch.html
SUBMIT = (("batch:SubmitJob", "job-queue"), ("batch:SubmitJob", "job-definition"))

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
    pass_role_checker(
        "batch-001",
        services=(TASKS,),
        service_name="batch",
        calls=(("batch:RegisterJobDefinition", ""), *SUBMIT),
        unknown=("whether a Batch job queue exists is unknown (the snapshot holds no Batch inventory)",),
    ),
)
