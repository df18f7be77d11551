"""SageMaker techniques: notebooks, training and processing jobs run as a passed execution role;
an existing notebook's role is reached through a presigned URL (its Jupyter terminal) or a new
lifecycle configuration.
https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html
"""

from __future__ import annotations

from deescalate.analysis.edges.base import Checker
from deescalate.analysis.edges.patterns import existing_checker, pass_role_checker

SAGEMAKER = "sagemaker.amazonaws.com"
NOTEBOOK = "sagemaker:notebook-instance"

CHECKERS: tuple[Checker, ...] = (
    pass_role_checker(
        "sagemaker-001",
        services=(SAGEMAKER,),
        service_name="sagemaker",
        calls=(
            ("sagemaker:CreateNotebookInstance", ""),
            ("sagemaker:CreatePresignedNotebookInstanceUrl", ""),
        ),
    ),
    pass_role_checker(
        "sagemaker-002",
        services=(SAGEMAKER,),
        service_name="sagemaker",
        calls=(("sagemaker:CreateTrainingJob", ""),),
    ),
    pass_role_checker(
        "sagemaker-003",
        services=(SAGEMAKER,),
        service_name="sagemaker",
        calls=(("sagemaker:CreateProcessingJob", ""),),
    ),
    # A tuning job runs training jobs as its role; a Studio user profile gives its execution role
    # to the JupyterLab spaces a presigned domain URL opens (in a domain that exists or that the
    # source creates: CreateDomain is not required, so a deny of it would cut nothing).
    # https://docs.aws.amazon.com/sagemaker/latest/dg/studio-updated-launch.html
    pass_role_checker(
        "X-SageMakerMore",
        services=(SAGEMAKER,),
        service_name="sagemaker",
        calls=(("sagemaker:CreateHyperParameterTuningJob", ""),),
        alternatives=(
            (
                ("sagemaker:CreateUserProfile", ""),
                ("sagemaker:CreatePresignedDomainUrl", ""),
            ),
        ),
    ),
    existing_checker(
        "sagemaker-004",
        kind=NOTEBOOK,
        service=SAGEMAKER,
        service_name="sagemaker",
        actions=("sagemaker:CreatePresignedNotebookInstanceUrl",),
        verb="open the Jupyter terminal of",
    ),
    existing_checker(
        "sagemaker-005",
        kind=NOTEBOOK,
        service=SAGEMAKER,
        service_name="sagemaker",
        actions=(
            "sagemaker:StopNotebookInstance",
            "sagemaker:UpdateNotebookInstance",
            "sagemaker:StartNotebookInstance",
        ),
        verb="attach a new lifecycle script to",
        also=(("sagemaker:CreateNotebookInstanceLifecycleConfig", ""),),
    ),
)
