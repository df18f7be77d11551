"""Lambda techniques: a new function with a passed role, or new code in an existing function.

A function runs as its execution role, which must trust lambda.amazonaws.com.
https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html

lambda-004 (UpdateFunctionCode + InvokeFunction) and lambda-005 (+ AddPermission) need a strict
superset of lambda-003's grants on the same function, so wherever they work lambda-003 works and
cutting lambda-003 cuts them: they are reported as lambda-003 (the function's triggers or the
source itself run the new code).
"""

from __future__ import annotations

from deescalate.analysis.edges.base import Checker
from deescalate.analysis.edges.patterns import existing_checker, pass_role_checker

LAMBDA = "lambda.amazonaws.com"
FUNCTION = "lambda:function"

CHECKERS: tuple[Checker, ...] = (
    pass_role_checker(
        "lambda-001",
        services=(LAMBDA,),
        service_name="lambda",
        calls=(("lambda:CreateFunction", ""), ("lambda:InvokeFunction", "")),
    ),
    pass_role_checker(
        "lambda-002",
        services=(LAMBDA,),
        service_name="lambda",
        calls=(
            ("lambda:CreateFunction", ""),
            ("lambda:CreateEventSourceMapping", ""),
        ),
    ),
    pass_role_checker(
        "lambda-006",
        services=(LAMBDA,),
        service_name="lambda",
        calls=(("lambda:CreateFunction", ""), ("lambda:AddPermission", "")),
    ),
    # A function URL with AWS_IAM auth is invoked by lambda:InvokeFunctionUrl, not InvokeFunction.
    # https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html
    pass_role_checker(
        "X-LambdaURL",
        services=(LAMBDA,),
        service_name="lambda",
        calls=(
            ("lambda:CreateFunction", ""),
            ("lambda:CreateFunctionUrlConfig", ""),
            ("lambda:InvokeFunctionUrl", ""),
        ),
    ),
    existing_checker(
        "lambda-003",
        kind=FUNCTION,
        service=LAMBDA,
        service_name="lambda",
        actions=("lambda:UpdateFunctionCode",),
        verb="replace the code of",
    ),
    # Changing the handler, layers or environment runs attacker code as the execution role too.
    existing_checker(
        "X-LambdaUpdateConfig",
        kind=FUNCTION,
        service=LAMBDA,
        service_name="lambda",
        actions=("lambda:UpdateFunctionConfiguration",),
        verb="reconfigure (layers, handler) of",
    ),
)
