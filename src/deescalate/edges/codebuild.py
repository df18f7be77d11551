"""CodeBuild techniques: a new project with a passed service role, or a build of an existing project
with an overridden buildspec (StartBuild accepts buildspecOverride), both running as the role.
https://docs.aws.amazon.com/codebuild/latest/APIReference/API_StartBuild.html
"""

from __future__ import annotations

from deescalate.edges.base import Checker
from deescalate.edges.patterns import existing_checker, pass_role_checker

CODEBUILD = "codebuild.amazonaws.com"
PROJECT = "codebuild:project"

CHECKERS: tuple[Checker, ...] = (
    pass_role_checker(
        "codebuild-001",
        "PassRole + CreateProject + StartBuild",
        services=(CODEBUILD,),
        service_name="codebuild",
        calls=(("codebuild:CreateProject", "project/*"), ("codebuild:StartBuild", "project/*")),
    ),
    pass_role_checker(
        "codebuild-004",
        "PassRole + CreateProject + StartBuildBatch",
        services=(CODEBUILD,),
        service_name="codebuild",
        calls=(("codebuild:CreateProject", "project/*"), ("codebuild:StartBuildBatch", "project/*")),
    ),
    existing_checker(
        "codebuild-002",
        "StartBuild with a buildspec override",
        kind=PROJECT,
        service=CODEBUILD,
        service_name="codebuild",
        resource_type="project/*",
        actions=("codebuild:StartBuild",),
        verb="run a build with its own buildspec in",
    ),
    existing_checker(
        "codebuild-003",
        "StartBuildBatch with a buildspec override",
        kind=PROJECT,
        service=CODEBUILD,
        service_name="codebuild",
        resource_type="project/*",
        actions=("codebuild:StartBuildBatch",),
        verb="run a batch build with its own buildspec in",
    ),
)
