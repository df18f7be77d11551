"""Glue techniques: dev endpoints, jobs and interactive sessions run as a (passed) role that trusts
glue.amazonaws.com; an existing dev endpoint's role is reached by adding an SSH key to it, and an
existing job is rewritten (UpdateJob names the role again, so it needs iam:PassRole).
https://docs.aws.amazon.com/glue/latest/dg/create-an-iam-role.html
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
from deescalate.analysis.edges.patterns import (
    existing_checker,
    gap_pattern,
    pass_role_checker,
    pass_to_existing_edges,
)
from deescalate.arn import partition_of
from deescalate.model import Edge, Grant

GLUE = "glue.amazonaws.com"
DEV_ENDPOINT = "glue:devendpoint"
JOB = "glue:job"


_gap_job = gap_pattern("glue:UpdateJob")


def _update_job(technique: str, trigger: tuple[str, str] | None) -> Checker:
    """glue-005/006: UpdateJob an existing job to a passed role and new script, then run it."""

    def find(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
        account = source.account_id

        def calls(job_arn: str) -> list[Alternative]:
            run = (
                Grant(
                    action=trigger[0],
                    resource=new_resource(
                        trigger[0], account, rtype=trigger[1], partition=partition_of(source.arn)
                    ),
                )
                if trigger
                else Grant(action="glue:StartJobRun", resource=job_arn)
            )
            return [(Grant(action="glue:UpdateJob", resource=job_arn), run)]

        yield from pass_to_existing_edges(
            ctx,
            source,
            technique=technique,
            kind=JOB,
            service=GLUE,
            gap_resource=_gap_job,
            calls=calls,
            description=lambda role: (
                f"point an existing Glue job at {role.name} with a new script and run it"
            ),
        )

    run_action = trigger[0] if trigger else "glue:StartJobRun"
    return Checker(
        technique=technique,
        needs=(("iam:PassRole", "glue:UpdateJob", run_action),),
        find=find,
        kinds=(JOB,),
    )


CHECKERS: tuple[Checker, ...] = (
    pass_role_checker(
        "glue-001",
        services=(GLUE,),
        service_name="glue",
        calls=(("glue:CreateDevEndpoint", ""),),
    ),
    existing_checker(
        "glue-002",
        kind=DEV_ENDPOINT,
        service=GLUE,
        service_name="glue",
        actions=("glue:UpdateDevEndpoint",),
        verb="add an SSH key to",
    ),
    pass_role_checker(
        "glue-003",
        services=(GLUE,),
        service_name="glue",
        calls=(("glue:CreateJob", ""), ("glue:StartJobRun", "")),
    ),
    pass_role_checker(
        "glue-004",
        services=(GLUE,),
        service_name="glue",
        calls=(("glue:CreateJob", ""), ("glue:CreateTrigger", "")),
    ),
    _update_job("glue-005", None),
    _update_job("glue-006", ("glue:CreateTrigger", "")),
    pass_role_checker(
        "glue-007",
        services=(GLUE,),
        service_name="glue",
        calls=(("glue:CreateSession", ""), ("glue:RunStatement", "")),
    ),
)
