"""CloudFormation techniques: a stack run by a passed service role, or a change to an existing
stack that already has one. A stack with a service role acts with that role's permissions.
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-iam-servicerole.html
"""

from __future__ import annotations

from deescalate.analysis.edges.base import Checker
from deescalate.analysis.edges.patterns import existing_checker, pass_role_checker

CFN = "cloudformation.amazonaws.com"
STACK = "cloudformation:stack"

CHECKERS: tuple[Checker, ...] = (
    # StackSets run with an administration role that trusts CloudFormation (self-managed permissions).
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stacksets-prereqs-self-managed.html
    pass_role_checker(
        "cloudformation-003",
        services=(CFN,),
        service_name="cloudformation",
        calls=(
            ("cloudformation:CreateStackSet", ""),
            ("cloudformation:CreateStackInstances", ""),
        ),
    ),
    pass_role_checker(
        "cloudformation-004",
        services=(CFN,),
        service_name="cloudformation",
        calls=(("cloudformation:UpdateStackSet", ""),),
    ),
    pass_role_checker(
        "cloudformation-001",
        services=(CFN,),
        service_name="cloudformation",
        calls=(("cloudformation:CreateStack", ""),),
    ),
    existing_checker(
        "cloudformation-002",
        kind=STACK,
        service=CFN,
        service_name="cloudformation",
        actions=("cloudformation:UpdateStack",),
        verb="update the template of",
    ),
    existing_checker(
        "cloudformation-005",
        kind=STACK,
        service=CFN,
        service_name="cloudformation",
        actions=("cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet"),
        verb="execute a change set on",
    ),
)
