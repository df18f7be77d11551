"""EC2 techniques: a new instance with a passed role, and ways into an existing instance.

An instance runs as the role of its instance profile; a role can sit on an instance only through
an instance profile, and only if it trusts ec2.amazonaws.com.
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_switch-role-ec2_instance-profiles.html
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from deescalate.edges.base import Checker, EdgeContext, Principal
from deescalate.edges.patterns import pass_role_edges, resource_edges
from deescalate.model import Edge, Role

EC2 = "ec2.amazonaws.com"
INSTANCE = "ec2:instance"


def instance_roles(ctx: EdgeContext, account: str) -> list[Role]:
    """Roles that can be behind an instance: they trust EC2 and have an instance profile."""
    return [r for r in ctx.roles_trusting(EC2, account) if ctx.has_instance_profile(r)]


def _gap_instance(region: str, account: str) -> str:
    return f"arn:aws:ec2:{region}:{account}:instance/*"


def run_instances(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    yield from pass_role_edges(
        ctx,
        source,
        technique="ec2-001",
        services=(EC2,),
        service_name="ec2",
        ways=((("ec2:RunInstances", "instance/*"),),),
        needs_instance_profile=True,
    )


def spot_instances(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    yield from pass_role_edges(
        ctx,
        source,
        technique="ec2-004",
        services=(EC2,),
        service_name="ec2",
        ways=((("ec2:RequestSpotInstances", "spot-instances-request/*"),),),
        needs_instance_profile=True,
    )


def _existing(technique: str, ways: tuple[tuple[str, ...], ...], verb: str) -> Checker:
    def find(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
        yield from resource_edges(
            ctx,
            source,
            technique=technique,
            kind=INSTANCE,
            ways=ways,
            gap_resource=_gap_instance,
            gap_roles=lambda a: instance_roles(ctx, a),
            verb=verb,
        )

    title = " + ".join(a.split(":")[1] for a in ways[0]) + " on an existing instance"
    return Checker(technique=technique, title=title, needs=tuple(ways), find=find, kinds=(INSTANCE,))


CHECKERS: tuple[Checker, ...] = (
    Checker(
        technique="ec2-001",
        title="PassRole + RunInstances",
        needs=(("iam:PassRole", "ec2:RunInstances"),),
        find=run_instances,
    ),
    Checker(
        technique="ec2-004",
        title="PassRole + RequestSpotInstances",
        needs=(("iam:PassRole", "ec2:RequestSpotInstances"),),
        find=spot_instances,
    ),
    # EC2 Instance Connect pushes an SSH key for 60 seconds; the instance's role is then at hand.
    # https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-instance-connect-methods.html
    _existing("ec2-003", (("ec2-instance-connect:SendSSHPublicKey",),), "SSH into (EC2 Instance Connect)"),
    # Stop, replace the user data, start: the new user data runs as root with the role's credentials.
    _existing(
        "ec2-002",
        (("ec2:ModifyInstanceAttribute", "ec2:StopInstances", "ec2:StartInstances"),),
        "rewrite the user data of",
    ),
)
