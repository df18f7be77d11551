"""datapipeline-001: a new pipeline run with a passed role (the pipeline role trusts Data Pipeline or
EMR; the service is closed to new customers, but existing accounts can still use it).
https://docs.aws.amazon.com/datapipeline/latest/DeveloperGuide/dp-iam-roles.html
"""

from __future__ import annotations

from deescalate.analysis.edges.base import Checker
from deescalate.analysis.edges.patterns import pass_role_checker

CHECKERS: tuple[Checker, ...] = (
    pass_role_checker(
        "datapipeline-001",
        services=("datapipeline.amazonaws.com", "elasticmapreduce.amazonaws.com"),
        service_name="datapipeline",
        calls=(
            ("datapipeline:CreatePipeline", ""),
            ("datapipeline:PutPipelineDefinition", ""),
            ("datapipeline:ActivatePipeline", ""),
        ),
    ),
)
