"""CodeBuild techniques: a new project with a passed service role, or a build of an existing project
with an overridden buildspec (StartBuild accepts buildspecOverride), both running as the role;
an existing project given a passed role (X-CodeBuildUpdate); a new project built by a new
CodePipeline pipeline (X-CodePipeline).
https://docs.aws.amazon.com/codebuild/latest/APIReference/API_StartBuild.html
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
from deescalate.analysis.edges.patterns import (
    existing_checker,
    gap_pattern,
    pass_role_checker,
    pass_to_existing_edges,
)
from deescalate.arn import partition_of
from deescalate.model import Edge, Grant

CODEBUILD = "codebuild.amazonaws.com"
PROJECT = "codebuild:project"


_gap_project = gap_pattern("codebuild:UpdateProject")


def _update_project(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    """X-CodeBuildUpdate: UpdateProject gives an existing project another service role (which
    needs iam:PassRole on it) and a new buildspec; a build then runs as that role.
    https://docs.aws.amazon.com/codebuild/latest/APIReference/API_UpdateProject.html
    (Without PassRole, UpdateProject + StartBuild reaches only the project's own role, which
    StartBuild alone already does: codebuild-002.)
    """

    def calls(project: str) -> list[Alternative]:
        update = Grant(action="codebuild:UpdateProject", resource=project)
        return [(update, Grant(action=start, resource=project)) for start in STARTS]

    yield from pass_to_existing_edges(
        ctx,
        source,
        technique="X-CodeBuildUpdate",
        kind=PROJECT,
        service=CODEBUILD,
        gap_resource=_gap_project,
        calls=calls,
        description=lambda role: f"give an existing CodeBuild project {role.name} as its role and build it",
    )


STARTS = ("codebuild:StartBuild", "codebuild:StartBuildBatch")
PIPELINE = "codepipeline.amazonaws.com"


def _pipeline(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    """X-CodePipeline: a new CodeBuild project with a passed role, built by a new pipeline.

    The pipeline runs as a second passed role, trusting CodePipeline, that must be able to start
    the build; a new pipeline starts running when it is created, so no StartBuild or
    StartPipelineExecution of the source's own is needed (asking for one would let a deny of it
    look like a cut). https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-about-starting.html
    """
    account = source.account_id
    runners = [r for r in ctx.roles_trusting(PIPELINE, account) if ctx.may(r.arn, "codebuild:StartBuild")]
    if not runners:
        return
    partition = partition_of(source.arn)
    project = Grant(
        action="codebuild:CreateProject",
        resource=new_resource("codebuild:CreateProject", account, partition=partition),
    )
    create = Grant(
        action="codepipeline:CreatePipeline",
        resource=new_resource("codepipeline:CreatePipeline", account, partition=partition),
    )
    for role in ctx.others(source, ctx.roles_trusting(CODEBUILD, account)):
        pass_grant = pass_role(role.arn, CODEBUILD)
        edge = ctx.edge(
            source=source.arn,
            target=role.arn,
            technique="X-CodePipeline",
            candidates=[
                (
                    pass_grant,
                    project,
                    pass_role(r.arn, PIPELINE),
                    create,
                )
                for r in runners
            ],
            description=f"build a new project as {role.name} from a new pipeline",
        )
        if edge is not None:
            yield edge


CHECKERS: tuple[Checker, ...] = (
    pass_role_checker(
        "codebuild-001",
        services=(CODEBUILD,),
        service_name="codebuild",
        calls=(("codebuild:CreateProject", ""), ("codebuild:StartBuild", "")),
    ),
    pass_role_checker(
        "codebuild-004",
        services=(CODEBUILD,),
        service_name="codebuild",
        calls=(("codebuild:CreateProject", ""), ("codebuild:StartBuildBatch", "")),
    ),
    existing_checker(
        "codebuild-002",
        kind=PROJECT,
        service=CODEBUILD,
        service_name="codebuild",
        actions=("codebuild:StartBuild",),
        verb="run a build with its own buildspec in",
    ),
    existing_checker(
        "codebuild-003",
        kind=PROJECT,
        service=CODEBUILD,
        service_name="codebuild",
        actions=("codebuild:StartBuildBatch",),
        verb="run a batch build with its own buildspec in",
    ),
    Checker(
        technique="X-CodeBuildUpdate",
        needs=tuple(("iam:PassRole", "codebuild:UpdateProject", start) for start in STARTS),
        find=_update_project,
        kinds=(PROJECT,),
    ),
    Checker(
        technique="X-CodePipeline",
        needs=(("iam:PassRole", "codebuild:CreateProject", "codepipeline:CreatePipeline"),),
        find=_pipeline,
    ),
)
