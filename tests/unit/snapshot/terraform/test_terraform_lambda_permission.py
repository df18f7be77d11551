"""`aws_lambda_permission` becomes a statement of the function's resource-based policy, which the
evaluator honours (same account: a resource policy naming the principal grants on its own)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deescalate.model import Outcome
from deescalate.policy.evaluate import decide
from deescalate.snapshot.terraform import load_terraform_plan

A = "arn:aws:iam::123456789012"
FN = "arn:aws:lambda:us-east-1:123456789012:function:worker"


def _plan(with_permission: bool) -> dict[str, Any]:
    def create(
        address: str, typ: str, after: dict[str, Any], unknown: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return {
            "address": address,
            "mode": "managed",
            "type": typ,
            "name": address.split(".")[1],
            "change": {"actions": ["create"], "before": None, "after": after, "after_unknown": unknown or {}},
        }

    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
        ],
    }
    update = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "lambda:UpdateFunctionCode", "Resource": FN}],
    }
    changes = [
        create(
            "aws_iam_role.fn",
            "aws_iam_role",
            {
                "name": "fn",
                "path": "/",
                "assume_role_policy": json.dumps(trust),
                "managed_policy_arns": ["arn:aws:iam::aws:policy/AdministratorAccess"],
            },
            {"arn": True},
        ),
        create(
            "aws_lambda_function.worker",
            "aws_lambda_function",
            {"function_name": "worker", "role": f"{A}:role/fn", "runtime": "python3.12"},
            {"arn": True},
        ),
        create("aws_iam_user.invoker", "aws_iam_user", {"name": "invoker", "path": "/"}, {"arn": True}),
        create(
            "aws_iam_user_policy.invoker",
            "aws_iam_user_policy",
            {"name": "update", "user": "invoker", "policy": json.dumps(update)},
        ),
    ]
    if with_permission:
        changes.append(
            create(
                "aws_lambda_permission.invoker",
                "aws_lambda_permission",
                {
                    "statement_id": "invoker",
                    "action": "lambda:InvokeFunction",
                    "function_name": "worker",
                    "principal": f"{A}:user/invoker",
                },
                {"id": True},
            )
        )
    return {
        "format_version": "1.2",
        "resource_changes": changes,
        "configuration": {
            "root_module": {
                "resources": [
                    {
                        "address": "aws_iam_role.fn",
                        "mode": "managed",
                        "type": "aws_iam_role",
                        "name": "fn",
                        "expressions": {
                            "managed_policy_arns": {
                                "constant_value": ["arn:aws:iam::aws:policy/AdministratorAccess"]
                            }
                        },
                    }
                ]
            }
        },
    }


def _decision(tmp_path: Path, with_permission: bool) -> Outcome:
    path = tmp_path / f"plan-{with_permission}.json"
    path.write_text(json.dumps(_plan(with_permission)))
    scan = load_terraform_plan(path, account_id="123456789012")
    fn = next(r for r in scan.after.resources if r.arn == FN)
    assert (fn.policy is not None) is with_permission
    # The permission is not in the account before the change.
    assert all(r.policy is None for r in scan.before.resources)
    return decide(scan.after, f"{A}:user/invoker", "lambda:InvokeFunction", FN).outcome


def test_the_permission_grants_invoke_through_the_function_policy(tmp_path: Path) -> None:
    assert _decision(tmp_path, with_permission=False) is Outcome.DENY
    assert _decision(tmp_path, with_permission=True) is Outcome.ALLOW
