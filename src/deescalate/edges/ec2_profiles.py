"""X-AssocInstanceProfile: put another role on an instance the source can already get a shell on.

With iam:PassRole and ec2:AssociateIamInstanceProfile (instance without a profile) or
ec2:ReplaceIamInstanceProfileAssociation (instance with one), the source swaps in the instance
profile of any role that trusts EC2, then reads that role's credentials from the instance's
metadata service through a shell it can open: EC2 Instance Connect, or SSM on an instance SSM
manages. https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/attach-replace-ec2-instance-profile.html
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from deescalate.edges.base import Alternative, Checker, EdgeContext, Principal, passed_to
from deescalate.edges.ec2 import EC2, INSTANCE, instance_roles
from deescalate.model import Edge, Grant, Resource

MANAGED = "ssm:managed-instance"
ASSOCIATE = "ec2:AssociateIamInstanceProfile"
REPLACE = "ec2:ReplaceIamInstanceProfileAssociation"


def _shells(res: Resource, ssm_managed: bool) -> list[tuple[Grant, ...]]:
    out: list[tuple[Grant, ...]] = [
        (Grant(action="ec2-instance-connect:SendSSHPublicKey", resource=res.arn),)
    ]
    if ssm_managed:
        document = f"arn:aws:ssm:{res.region}::document/AWS-RunShellScript"
        out.append((Grant(action="ssm:StartSession", resource=res.arn),))
        out.append(
            (
                Grant(action="ssm:SendCommand", resource=res.arn),
                Grant(action="ssm:SendCommand", resource=document),
            )
        )
    return out


def swap_profile(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
    account = source.account_id
    instances = ctx.resources(INSTANCE, account)
    if not instances:
        return
    managed = {r.arn for r in ctx.resources(MANAGED, account)}
    ways: list[tuple[Grant, ...]] = []
    for inst in instances:
        has_profile = bool(inst.role_arns or inst.attributes.get("instance_profile_arn"))
        swap = Grant(action=REPLACE if has_profile else ASSOCIATE, resource=inst.arn)
        ways.extend((swap, *shell) for shell in _shells(inst, inst.arn in managed))
    for role in instance_roles(ctx, account):
        if role.arn == source.arn or not ctx.wants(source.arn, role.arn):
            continue
        pass_grant = Grant(action="iam:PassRole", resource=role.arn, context=passed_to(EC2))
        candidates: list[Alternative] = [(pass_grant, *way) for way in ways]
        edge = ctx.edge(
            source=source.arn,
            target=role.arn,
            technique="X-AssocInstanceProfile",
            candidates=candidates,
            description=f"swap {role.name}'s instance profile onto an instance it can open a shell on",
        )
        if edge is not None:
            yield edge


SHELL_ACTIONS = ("ec2-instance-connect:SendSSHPublicKey", "ssm:StartSession", "ssm:SendCommand")
CHECKERS: tuple[Checker, ...] = (
    Checker(
        technique="X-AssocInstanceProfile",
        title="PassRole + Associate/ReplaceIamInstanceProfile on an instance it can open a shell on",
        needs=tuple(
            ("iam:PassRole", swap, shell) for swap in (ASSOCIATE, REPLACE) for shell in SHELL_ACTIONS
        ),
        find=swap_profile,
        kinds=(INSTANCE,),
    ),
)
