"""Plan → infrastructure as code: the plan's deny policies as Terraform JSON or a CloudFormation template.

Teams whose IAM lives in code commit the denies instead of letting `apply` write them behind the
code's back (where the next `terraform apply` or stack update might not know about them, or an
`*_exclusive` resource would remove them). The export holds exactly what `apply` would write:
per principal with denies switched on, the plan's checked policy document, under the same policy
name and placement:

* inline placement  → `aws_iam_{user,role,group}_policy` / `AWS::IAM::Policy`
* managed placement → `aws_iam_policy` + `aws_iam_{user,role,group}_policy_attachment` /
  `AWS::IAM::ManagedPolicy` (its Users/Roles/Groups property attaches it)

The principal is referenced by name (the last segment of its ARN; IAM names are unique per account
and kind whatever the path), so the output works whether or not the principal itself is managed
in the same code. A plan edited after its last check is refused, as `apply` refuses it, and so is
an unfixable principal: the export never writes a document that was not verified.

Terraform JSON syntax: https://developer.hashicorp.com/terraform/language/syntax/json
CloudFormation IAM resources: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/AWS_IAM.html
"""

from __future__ import annotations

import json
import re
from enum import Enum
from typing import Any, assert_never

from deescalate.arn import name_of
from deescalate.errors import UsageError
from deescalate.model import Plan, PrincipalPlan
from deescalate.remediate.quotas import principal_kind, render_document


class ExportFormat(Enum):
    TERRAFORM = "terraform"
    CLOUDFORMATION = "cloudformation"


def checked_documents(plan: Plan, where: str) -> list[tuple[PrincipalPlan, dict[str, Any]]]:
    """(principal plan, document) for every principal with denies switched on, as verified."""
    out: list[tuple[PrincipalPlan, dict[str, Any]]] = []
    for pp in plan.principals:
        rendered = render_document(pp.denies)
        if not rendered["Statement"]:
            continue
        if pp.unfixable:
            raise UsageError(f"{where}: {pp.principal} cannot be fixed within AWS's quotas "
                             f"({pp.unfixable}); nothing verified to export for it")
        recorded = json.loads(pp.document) if pp.document else None
        if recorded != rendered:
            raise UsageError(
                f"{where}: the denies switched on for {pp.principal} differ from its verified document: "
                f"the plan was edited after it was checked. Run `deescalate plan --check {where} SNAPSHOT` "
                "first"
            )
        out.append((pp, rendered))
    return out


_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def _tf_label(*parts: str) -> str:
    # Terraform resource names: letters, digits, underscores and dashes, starting with a letter or _.
    label = "_".join(_UNSAFE.sub("_", p) for p in parts)
    return label if label[:1].isalpha() or label[:1] == "_" else f"_{label}"


def _cfn_id(*parts: str) -> str:
    # CloudFormation logical ids: alphanumeric only.
    return "".join(re.sub(r"[^A-Za-z0-9]", "", p[:1].upper() + p[1:]) for p in parts)[:255]


def _tf_literal(text: str) -> str:
    # In Terraform's JSON syntax every string is a template: "${" and "%{" start interpolation and
    # directives, so a policy variable such as ${aws:username} must be written "$${aws:username}".
    return text.replace("${", "$${").replace("%{", "%%{")


def _description(plan: Plan, source: str) -> str:
    return (f"Explicit denies from deescalate plan {source} (account {plan.account_id}, snapshot "
            f"{plan.snapshot or 'unknown'}): they cut privilege-escalation paths to admin.")


def to_terraform(plan: Plan, *, source: str) -> dict[str, Any]:
    resources: dict[str, dict[str, Any]] = {}
    for pp, document in checked_documents(plan, source):
        kind = principal_kind(pp.principal)
        name = name_of(pp.principal)
        policy = _tf_literal(json.dumps(document, indent=2))
        if pp.placement == "managed":
            label = _tf_label(pp.policy_name)
            resources.setdefault("aws_iam_policy", {})[label] = {
                "name": pp.policy_name,
                "description": _tf_literal(_description(plan, source)[:1000]),
                "policy": policy,
            }
            resources.setdefault(f"aws_iam_{kind}_policy_attachment", {})[label] = {
                kind: name,
                "policy_arn": f"${{aws_iam_policy.{label}.arn}}",
            }
        else:
            resources.setdefault(f"aws_iam_{kind}_policy", {})[_tf_label(kind, name, pp.policy_name)] = {
                "name": pp.policy_name,
                kind: name,
                "policy": policy,
            }
    return {"//": _tf_literal(_description(plan, source)), "resource": resources}


_CFN_LIST = {"user": "Users", "role": "Roles", "group": "Groups"}


def to_cloudformation(plan: Plan, *, source: str) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    for pp, document in checked_documents(plan, source):
        kind = principal_kind(pp.principal)
        name = name_of(pp.principal)
        if pp.placement == "managed":
            resources[_cfn_id("Deescalate", kind, name, "Managed")] = {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "ManagedPolicyName": pp.policy_name,
                    "Description": _description(plan, source)[:1000],
                    "PolicyDocument": document,
                    _CFN_LIST[kind]: [name],
                },
            }
        else:
            resources[_cfn_id("Deescalate", kind, name)] = {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyName": pp.policy_name,
                    "PolicyDocument": document,
                    _CFN_LIST[kind]: [name],
                },
            }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": _description(plan, source)[:1024],
        "Resources": resources,
    }


def export_plan(plan: Plan, fmt: ExportFormat, *, source: str) -> dict[str, Any]:
    match fmt:
        case ExportFormat.TERRAFORM:
            return to_terraform(plan, source=source)
        case ExportFormat.CLOUDFORMATION:
            return to_cloudformation(plan, source=source)
        case _:
            assert_never(fmt)
