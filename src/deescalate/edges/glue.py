"""Glue techniques: dev endpoints, jobs and interactive sessions run as a (passed) role that trusts
glue.amazonaws.com; an existing dev endpoint's role is reached by adding an SSH key to it, and an
existing job is rewritten (UpdateJob names the role again, so it needs iam:PassRole).
https://docs.aws.amazon.com/glue/latest/dg/create-an-iam-role.html
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from deescalate.edges.base import Checker, EdgeContext, Principal, new_resource, passed_to
from deescalate.edges.patterns import existing_checker, pass_role_checker
from deescalate.model import Edge, Grant

GLUE = "glue.amazonaws.com"
DEV_ENDPOINT = "glue:devendpoint"
JOB = "glue:job"


def _update_job(technique: str, trigger: tuple[str, str] | None) -> Checker:
    """glue-005/006: UpdateJob an existing job to a passed role and new script, then run it."""

    def find(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
        account = source.account_id
        jobs = ctx.resources(JOB, account)
        gaps = ctx.gaps(JOB)
        if not jobs and not gaps:
            return
        targets = [(j.arn, ()) for j in jobs] + [
            (
                f"arn:aws:glue:{g.region}:{account}:job/*",
                (f"{JOB} in {g.region} could not be listed ({g.why})",),
            )
            for g in gaps
        ]
        for role in ctx.roles_trusting(GLUE, account):
            if role.arn == source.arn or not ctx.wants(source.arn, role.arn):
                continue
            pass_grant = Grant(action="iam:PassRole", resource=role.arn, context=passed_to(GLUE))
            # Any one job will do: each job is one alternative of the same edge.
            candidates = []
            doubts: list[str] = []
            for job_arn, doubt in targets:
                run = (
                    Grant(action=trigger[0], resource=new_resource("glue", account, trigger[1]))
                    if trigger
                    else Grant(action="glue:StartJobRun", resource=job_arn)
                )
                candidates.append((pass_grant, Grant(action="glue:UpdateJob", resource=job_arn), run))
                doubts.extend(doubt)
            edge = ctx.edge(
                source=source.arn,
                target=role.arn,
                technique=technique,
                candidates=candidates,
                unknown=tuple(doubts) if not jobs else (),
                description=f"point an existing Glue job at {role.name} with a new script and run it",
            )
            if edge is not None:
                yield edge

    run_action = trigger[0] if trigger else "glue:StartJobRun"
    return Checker(
        technique=technique,
        title=f"PassRole + UpdateJob + {run_action.split(':')[1]}",
        needs=(("iam:PassRole", "glue:UpdateJob", run_action),),
        find=find,
        kinds=(JOB,),
    )


CHECKERS: tuple[Checker, ...] = (
    pass_role_checker(
        "glue-001",
        "PassRole + CreateDevEndpoint",
        services=(GLUE,),
        service_name="glue",
        calls=(("glue:CreateDevEndpoint", "devEndpoint/*"),),
    ),
    existing_checker(
        "glue-002",
        "UpdateDevEndpoint (add an SSH key) on an existing dev endpoint",
        kind=DEV_ENDPOINT,
        service=GLUE,
        service_name="glue",
        resource_type="devEndpoint/*",
        actions=("glue:UpdateDevEndpoint",),
        verb="add an SSH key to",
    ),
    pass_role_checker(
        "glue-003",
        "PassRole + CreateJob + StartJobRun",
        services=(GLUE,),
        service_name="glue",
        calls=(("glue:CreateJob", "job/*"), ("glue:StartJobRun", "job/*")),
    ),
    pass_role_checker(
        "glue-004",
        "PassRole + CreateJob + CreateTrigger",
        services=(GLUE,),
        service_name="glue",
        calls=(("glue:CreateJob", "job/*"), ("glue:CreateTrigger", "trigger/*")),
    ),
    _update_job("glue-005", None),
    _update_job("glue-006", ("glue:CreateTrigger", "trigger/*")),
    pass_role_checker(
        "glue-007",
        "PassRole + CreateSession + RunStatement",
        services=(GLUE,),
        service_name="glue",
        calls=(("glue:CreateSession", "session/*"), ("glue:RunStatement", "session/*")),
    ),
)
