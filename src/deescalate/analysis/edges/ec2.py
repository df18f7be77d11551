"""EC2 techniques: a new instance with a passed role, and ways into an existing instance.

An instance runs as the role of its instance profile; a role can sit on an instance only through
an instance profile, and only if it trusts ec2.amazonaws.com.
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_switch-role-ec2_instance-profiles.html
"""

from __future__ import annotations

from deescalate.analysis.edges.base import Checker, EdgeContext
from deescalate.analysis.edges.patterns import existing_checker, pass_role_checker
from deescalate.model import Role

EC2 = "ec2.amazonaws.com"
INSTANCE = "ec2:instance"


def instance_roles(ctx: EdgeContext, account: str) -> list[Role]:
    """Roles that can be behind an instance: they trust EC2 and have an instance profile."""
    return [r for r in ctx.roles_trusting(EC2, account) if ctx.has_instance_profile(r)]


CHECKERS: tuple[Checker, ...] = (
    pass_role_checker(
        "ec2-001",
        services=(EC2,),
        service_name="ec2",
        calls=(("ec2:RunInstances", "instance"),),
        needs_instance_profile=True,
    ),
    pass_role_checker(
        "ec2-004",
        services=(EC2,),
        service_name="ec2",
        calls=(("ec2:RequestSpotInstances", ""),),
        needs_instance_profile=True,
    ),
    # EC2 Instance Connect pushes an SSH key for 60 seconds; the instance's role is then at hand.
    # https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-connect-methods.html
    existing_checker(
        "ec2-003",
        kind=INSTANCE,
        service=EC2,
        service_name="ec2",
        actions=("ec2-instance-connect:SendSSHPublicKey",),
        verb="SSH into (EC2 Instance Connect)",
        gap_roles=instance_roles,
    ),
    # Stop, replace the user data, start: the new user data runs as root with the role's credentials.
    existing_checker(
        "ec2-002",
        kind=INSTANCE,
        service=EC2,
        service_name="ec2",
        actions=("ec2:ModifyInstanceAttribute", "ec2:StopInstances", "ec2:StartInstances"),
        verb="rewrite the user data of",
        gap_roles=instance_roles,
    ),
)
