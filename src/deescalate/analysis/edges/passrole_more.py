"""Pass-role techniques of services with one technique each: a new resource of the service runs
with a passed role that trusts the service. Each entry names the service principal the role must
trust (what PassRole can hand it) and the calls that create and start the resource.
"""

from __future__ import annotations

from collections.abc import Sequence

from deescalate.analysis.edges.base import Alternative, Checker, EdgeContext, Principal, pass_role
from deescalate.analysis.edges.patterns import pass_role_checker
from deescalate.model import Role

EMR = "elasticmapreduce.amazonaws.com"


def _emr_service_role(ctx: EdgeContext, source: Principal, _role: Role) -> Sequence[Alternative]:
    """RunJobFlow names two roles, both passed: the instance profile's and the EMR service role
    (ServiceRole, a role trusting elasticmapreduce.amazonaws.com, e.g. EMR_DefaultRole).
    https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-iam-role.html
    A principal that cannot pass any service role cannot start a cluster: no edge.
    """
    return [(pass_role(r.arn, EMR),) for r in ctx.roles_trusting(EMR, source.account_id)]


CHECKERS: tuple[Checker, ...] = (
    # https://docs.aws.amazon.com/apprunner/latest/dg/security_iam_service-with-iam.html
    pass_role_checker(
        "apprunner-001",
        services=("tasks.apprunner.amazonaws.com",),
        service_name="apprunner",
        calls=(("apprunner:CreateService", ""),),
    ),
    pass_role_checker(
        "braket-001",
        services=("braket.amazonaws.com",),
        service_name="braket",
        calls=(("braket:CreateJob", "job"),),
    ),
    pass_role_checker(
        "emrserverless-001",
        services=("emr-serverless.amazonaws.com",),
        service_name="emr-serverless",
        calls=(
            ("emr-serverless:CreateApplication", ""),
            ("emr-serverless:StartJobRun", ""),
        ),
    ),
    pass_role_checker(
        "kinesisanalytics-001",
        services=("kinesisanalytics.amazonaws.com",),
        service_name="kinesisanalytics",
        calls=(
            ("kinesisanalytics:CreateApplication", ""),
            ("kinesisanalytics:StartApplication", ""),
        ),
    ),
    # Automation runbooks run as the AutomationAssumeRole they are given.
    # https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-setup.html
    pass_role_checker(
        "ssm-003",
        services=("ssm.amazonaws.com",),
        service_name="ssm",
        calls=(
            ("ssm:CreateDocument", ""),
            ("ssm:StartAutomationExecution", "automation-definition"),
        ),
    ),
    pass_role_checker(
        "X-StepFunctions",
        services=("states.amazonaws.com",),
        service_name="states",
        calls=(("states:CreateStateMachine", ""), ("states:StartExecution", "")),
    ),
    pass_role_checker(
        "X-Scheduler",
        services=("scheduler.amazonaws.com",),
        service_name="scheduler",
        calls=(("scheduler:CreateSchedule", ""),),
    ),
    # An Auto Scaling group launches instances with the instance profile of its launch template
    # or launch configuration (both need iam:PassRole on the profile's role).
    # https://docs.aws.amazon.com/autoscaling/ec2/userguide/us-iam-role.html
    pass_role_checker(
        "X-AutoScaling",
        services=("ec2.amazonaws.com",),
        service_name="ec2",
        needs_instance_profile=True,
        calls=(
            ("ec2:CreateLaunchTemplate", ""),
            ("autoscaling:CreateAutoScalingGroup", ""),
        ),
        alternatives=(
            (("autoscaling:CreateLaunchConfiguration", ""), ("autoscaling:CreateAutoScalingGroup", "")),
        ),
    ),
    # EMR runs its cluster's instances with the EC2 instance profile passed to RunJobFlow; the
    # call passes the EMR service role too.
    pass_role_checker(
        "emr-001",
        services=("ec2.amazonaws.com",),
        service_name="elasticmapreduce",
        needs_instance_profile=True,
        calls=(("elasticmapreduce:RunJobFlow", ""),),
        extra_grants=_emr_service_role,
    ),
    # A fleet's instance role trusts GameLift; the uploaded build runs on the fleet's instances.
    # https://docs.aws.amazon.com/gameliftservers/latest/developerguide/setting-up-role.html
    pass_role_checker(
        "gamelift-001",
        services=("gamelift.amazonaws.com",),
        service_name="gamelift",
        calls=(
            ("gamelift:CreateBuild", ""),
            ("gamelift:RequestUploadCredentials", ""),
            ("gamelift:CreateFleet", ""),
        ),
    ),
    # Image Builder launches build instances with the infrastructure configuration's instance
    # profile and runs the recipe's components on them.
    # https://docs.aws.amazon.com/imagebuilder/latest/userguide/image-builder-setting-up.html
    pass_role_checker(
        "imagebuilder-001",
        services=("ec2.amazonaws.com",),
        service_name="imagebuilder",
        needs_instance_profile=True,
        calls=(
            ("imagebuilder:CreateComponent", ""),
            ("imagebuilder:CreateImageRecipe", ""),
            ("imagebuilder:CreateInfrastructureConfiguration", ""),
            ("imagebuilder:CreateImage", ""),
        ),
    ),
    # A HealthOmics workflow run executes the workflow's tasks with the run's service role.
    # https://docs.aws.amazon.com/omics/latest/dev/permissions-service.html
    pass_role_checker(
        "omics-001",
        services=("omics.amazonaws.com",),
        service_name="omics",
        calls=(("omics:CreateWorkflow", ""), ("omics:StartRun", "")),
    ),
)
