"""Techniques through collected deployment targets: an EC2 launch template's next launches, a
CodeDeploy deployment group's instances, an App Runner service, a Bedrock AgentCore runtime. Each
runs code the source supplies with the role the resource already has (no iam:PassRole: the role
does not change).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from deescalate.analysis.edges.base import Checker, EdgeContext, Principal
from deescalate.analysis.edges.ec2 import EC2, instance_roles
from deescalate.analysis.edges.patterns import existing_checker, gap_pattern, resource_edges
from deescalate.model import Edge, Grant, Resource
from deescalate.snapshot import layout as L

AGENTCORE = "bedrock-agentcore.amazonaws.com"
APPRUNNER = "tasks.apprunner.amazonaws.com"
_LT_ACTIONS = ("ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate")


def _launch_template(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    """ec2-005: a new version of an existing launch template, with the source's user data and the
    template's instance profile, made the default (ModifyLaunchTemplate); whatever launches from
    the template next (an Auto Scaling group scaling out, a fleet, a person) runs that user data as
    the profile's role. Whether anything launches from it is unknown: the edge is conditional.
    https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/manage-launch-template-versions.html
    """

    def usable(res: Resource) -> str | None:
        return f"needs a launch from launch template {res.name} (an Auto Scaling group, a fleet or a person)"

    yield from resource_edges(
        ctx,
        source,
        technique="ec2-005",
        kind=L.EC2_LAUNCH_TEMPLATE,
        ways=(_LT_ACTIONS,),
        gap_resource=gap_pattern("ec2:CreateLaunchTemplateVersion"),
        gap_roles=lambda a: instance_roles(ctx, a),
        usable=usable,
        verb="put its own user data in the default version of",
    )


def _runtime(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    """bedrock-004: InvokeAgentRuntimeCommand runs a command inside an existing AgentCore runtime,
    which holds its execution role's credentials; it is authorised on the runtime and on its
    endpoint (both required in the SAR).
    https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/runtime-permissions.html
    """
    action = "bedrock-agentcore:InvokeAgentRuntimeCommand"

    def endpoint(res: Resource) -> tuple[Grant, ...]:
        return (Grant(action=action, resource=f"{res.arn}/runtime-endpoint/*"),)

    yield from resource_edges(
        ctx,
        source,
        technique="bedrock-004",
        kind=L.AGENTCORE_RUNTIME,
        ways=((action,),),
        gap_resource=gap_pattern(action, "runtime"),
        gap_roles=lambda a: ctx.roles_trusting(AGENTCORE, a),
        extra=endpoint,
        verb="run a command in",
    )


CHECKERS: tuple[Checker, ...] = (
    Checker(
        technique="ec2-005",
        needs=(_LT_ACTIONS,),
        find=_launch_template,
        kinds=(L.EC2_LAUNCH_TEMPLATE,),
    ),
    # A deployment runs the revision's hook scripts on the group's instances as root, where their
    # instance profile's credentials are at hand. The instances are those the group's EC2 tag
    # filters select (Auto Scaling groups of a deployment group are not resolved).
    # https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html
    existing_checker(
        "codedeploy-001",
        kind=L.CODEDEPLOY_DEPLOYMENT_GROUP,
        service=EC2,
        service_name="codedeploy",
        actions=("codedeploy:CreateDeployment",),
        verb="deploy its own code to the instances of",
        gap_roles=instance_roles,
    ),
    # UpdateService points a service at new source code or image; it runs with the service's
    # instance role. https://docs.aws.amazon.com/apprunner/latest/api/API_UpdateService.html
    existing_checker(
        "apprunner-002",
        kind=L.APPRUNNER_SERVICE,
        service=APPRUNNER,
        service_name="apprunner",
        actions=("apprunner:UpdateService",),
        verb="deploy its own code to",
    ),
    Checker(
        technique="bedrock-004",
        needs=(("bedrock-agentcore:InvokeAgentRuntimeCommand",),),
        find=_runtime,
        kinds=(L.AGENTCORE_RUNTIME,),
    ),
)
