"""The 31 IAM-Vulnerable techniques as test cases: the account around the attacker, the statement
that makes the technique work (`key`), the other actions it needs, and how to break it.

Every case builds the same small world: an admin target for the technique, a harmless user, a
harmless role trusting every service (so passing it escalates nothing), and the attacker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from builders import (
    ACCT,
    ADMIN_ACCESS,
    OTHER,
    REGION,
    Account,
    allow,
    doc,
    group_arn,
    policy_arn,
    role_arn,
    trust_aws,
    trust_service,
    user_arn,
)

from deescalate.model import ADMIN, Snapshot

SERVICES = (
    "ec2.amazonaws.com",
    "lambda.amazonaws.com",
    "glue.amazonaws.com",
    "cloudformation.amazonaws.com",
    "datapipeline.amazonaws.com",
    "codebuild.amazonaws.com",
    "sagemaker.amazonaws.com",
    "ecs-tasks.amazonaws.com",
)
SVC_ADMIN = role_arn("svc-admin")
ADMIN_USER = user_arn("admin-user")
ADMIN_ROLE = role_arn("admin-role")
HARMLESS_USER = user_arn("harmless")
HARMLESS_ROLE = role_arn("harmless-role")
READ = doc(allow("s3:ListAllMyBuckets"))

Setup = Callable[[Account], dict[str, Any]]


@dataclass(frozen=True)
class Case:
    id: str
    key: str  # the escalation's own action: traps deny it, limit it, condition it
    setup: Setup  # builds the world; returns extra keyword arguments for the attacker
    others: tuple[str, ...] = ()  # further actions the technique needs (allowed on "*")
    target: str = ADMIN
    attacker: str = "user"
    exact: tuple[str, ...] = ()  # key resources narrowed to exactly what is needed (still flagged)
    harmless: str = HARMLESS_USER  # a key resource through which nothing escalates
    broken: Setup | None = None  # the world with the technique's own precondition missing

    def __str__(self) -> str:
        return self.id


def world(acct: Account) -> None:
    acct.user("harmless")
    acct.role("harmless-role", trust_service(*SERVICES), profile=True)
    acct.group("harmless-group", READ)
    acct.managed("other-policy", READ)


def nothing(acct: Account) -> dict[str, Any]:
    return {}


def attached_policy(*versions: dict[str, Any], default: int | None = None) -> Setup:
    def setup(acct: Account) -> dict[str, Any]:
        return {"managed": (acct.managed("attacker-policy", *versions, default=default),)}

    return setup


def in_group(acct: Account) -> dict[str, Any]:
    acct.group("attacker-group", READ)
    return {"groups": ("attacker-group",)}


def admin_group(admin: bool) -> Setup:
    def setup(acct: Account) -> dict[str, Any]:
        if admin:
            acct.group("admins", managed=(ADMIN_ACCESS,))
        else:
            acct.group("admins", READ)
        return {}

    return setup


def admin_user(*, keys: int = 0, login: bool = False) -> Setup:
    def setup(acct: Account) -> dict[str, Any]:
        acct.user("admin-user", managed=(ADMIN_ACCESS,), keys=keys, login=login)
        return {}

    return setup


def admin_role(trust: dict[str, Any], admin: bool = True) -> Setup:
    def setup(acct: Account) -> dict[str, Any]:
        if admin:
            acct.role("admin-role", trust, managed=(ADMIN_ACCESS,))
        else:
            acct.role("admin-role", trust, READ)
        return {}

    return setup


def svc_admin(service: str, *, profile: bool = False) -> Setup:
    def setup(acct: Account) -> dict[str, Any]:
        acct.admin_role("svc-admin", trust_service(service), profile=profile)
        return {}

    return setup


def with_resource(
    service: str,
    kind: str,
    arn: str,
    *,
    profile: bool = False,
    present: bool = True,
    managed_by_ssm: bool = False,
) -> Setup:
    def setup(acct: Account) -> dict[str, Any]:
        acct.admin_role("svc-admin", trust_service(service), profile=profile)
        if present:
            acct.resource(kind, arn, SVC_ADMIN)
            if managed_by_ssm:
                acct.resource("ssm:managed-instance", arn)
        return {}

    return setup


def _arn(service: str, rest: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCT}:{rest}"


FUNCTION = _arn("lambda", "function:fn")
ENDPOINT = _arn("glue", "devEndpoint/ep")
NOTEBOOK = _arn("sagemaker", "notebook-instance/nb")
STACK = _arn("cloudformation", "stack/st/0b1c")
INSTANCE = _arn("ec2", "instance/i-0abc")
RUN_SHELL = f"arn:aws:ssm:{REGION}::document/AWS-RunShellScript"


def pass_role(tid: str, service: str, others: tuple[str, ...], *, profile: bool = False) -> Case:
    return Case(
        id=tid,
        key="iam:PassRole",
        others=others,
        target=SVC_ADMIN,
        setup=svc_admin(service, profile=profile),
        exact=(SVC_ADMIN,),
        harmless=HARMLESS_ROLE,
        broken=svc_admin("states.amazonaws.com", profile=profile),
    )


def existing(
    tid: str,
    service: str,
    kind: str,
    arn: str,
    key: str,
    others: tuple[str, ...] = (),
    *,
    profile: bool = False,
    exact: tuple[str, ...] = (),
    ssm: bool = False,
) -> Case:
    return Case(
        id=tid,
        key=key,
        others=others,
        target=SVC_ADMIN,
        setup=with_resource(service, kind, arn, profile=profile, managed_by_ssm=ssm),
        exact=exact or (arn,),
        harmless=arn.rsplit("/", 1)[0] + "/unrelated",
        broken=with_resource(service, kind, arn, profile=profile, present=ssm, managed_by_ssm=False),
    )


CASES: tuple[Case, ...] = (
    Case(
        id="iam-001",
        key="iam:CreatePolicyVersion",
        setup=attached_policy(READ),
        exact=(policy_arn("attacker-policy"),),
        harmless=policy_arn("other-policy"),
        broken=nothing,
    ),
    Case(
        id="iam-setdefaultversion",
        key="iam:SetDefaultPolicyVersion",
        setup=attached_policy(doc(allow("*")), READ),
        exact=(policy_arn("attacker-policy"),),
        harmless=policy_arn("other-policy"),
        broken=attached_policy(doc(allow("s3:Get*")), READ),
    ),
    pass_role("ec2-001", "ec2.amazonaws.com", ("ec2:RunInstances",), profile=True),
    Case(
        id="iam-002",
        key="iam:CreateAccessKey",
        target=ADMIN_USER,
        setup=admin_user(keys=1),
        exact=(ADMIN_USER,),
        broken=admin_user(keys=2),
    ),
    Case(
        id="iam-004",
        key="iam:CreateLoginProfile",
        target=ADMIN_USER,
        setup=admin_user(login=False),
        exact=(ADMIN_USER,),
        broken=admin_user(login=True),
    ),
    Case(
        id="iam-006",
        key="iam:UpdateLoginProfile",
        target=ADMIN_USER,
        setup=admin_user(login=True),
        exact=(ADMIN_USER,),
        broken=admin_user(login=False),
    ),
    Case(id="iam-008", key="iam:AttachUserPolicy", setup=nothing, exact=(user_arn("attacker"),)),
    Case(
        id="iam-010",
        key="iam:AttachGroupPolicy",
        setup=in_group,
        exact=(group_arn("attacker-group"),),
        harmless=group_arn("harmless-group"),
        broken=nothing,
    ),
    Case(
        id="iam-009",
        key="iam:AttachRolePolicy",
        attacker="role",
        setup=nothing,
        exact=(role_arn("attacker"),),
        harmless=HARMLESS_ROLE,
    ),
    Case(id="iam-007", key="iam:PutUserPolicy", setup=nothing, exact=(user_arn("attacker"),)),
    Case(
        id="iam-011",
        key="iam:PutGroupPolicy",
        setup=in_group,
        exact=(group_arn("attacker-group"),),
        harmless=group_arn("harmless-group"),
        broken=nothing,
    ),
    Case(
        id="iam-005",
        key="iam:PutRolePolicy",
        attacker="role",
        setup=nothing,
        exact=(role_arn("attacker"),),
        harmless=HARMLESS_ROLE,
    ),
    Case(
        id="iam-013",
        key="iam:AddUserToGroup",
        setup=admin_group(True),
        exact=(group_arn("admins"),),
        harmless=group_arn("harmless-group"),
        broken=admin_group(False),
    ),
    Case(
        id="iam-012",
        key="iam:UpdateAssumeRolePolicy",
        target=ADMIN_ROLE,
        setup=admin_role(trust_service("ec2.amazonaws.com")),
        exact=(ADMIN_ROLE,),
        harmless=HARMLESS_ROLE,
        broken=admin_role(trust_service("ec2.amazonaws.com"), admin=False),
    ),
    pass_role("lambda-001", "lambda.amazonaws.com", ("lambda:CreateFunction", "lambda:InvokeFunction")),
    pass_role(
        "lambda-002", "lambda.amazonaws.com", ("lambda:CreateFunction", "lambda:CreateEventSourceMapping")
    ),
    existing("lambda-003", "lambda.amazonaws.com", "lambda:function", FUNCTION, "lambda:UpdateFunctionCode"),
    pass_role("glue-001", "glue.amazonaws.com", ("glue:CreateDevEndpoint",)),
    existing("glue-002", "glue.amazonaws.com", "glue:devendpoint", ENDPOINT, "glue:UpdateDevEndpoint"),
    pass_role("cloudformation-001", "cloudformation.amazonaws.com", ("cloudformation:CreateStack",)),
    pass_role(
        "datapipeline-001",
        "datapipeline.amazonaws.com",
        (
            "datapipeline:CreatePipeline",
            "datapipeline:PutPipelineDefinition",
            "datapipeline:ActivatePipeline",
        ),
    ),
    pass_role(
        "codebuild-001", "codebuild.amazonaws.com", ("codebuild:CreateProject", "codebuild:StartBuild")
    ),
    pass_role(
        "sagemaker-001",
        "sagemaker.amazonaws.com",
        ("sagemaker:CreateNotebookInstance", "sagemaker:CreatePresignedNotebookInstanceUrl"),
    ),
    pass_role("sagemaker-002", "sagemaker.amazonaws.com", ("sagemaker:CreateTrainingJob",)),
    pass_role("sagemaker-003", "sagemaker.amazonaws.com", ("sagemaker:CreateProcessingJob",)),
    existing(
        "sagemaker-004",
        "sagemaker.amazonaws.com",
        "sagemaker:notebook-instance",
        NOTEBOOK,
        "sagemaker:CreatePresignedNotebookInstanceUrl",
    ),
    existing(
        "ssm-002",
        "ec2.amazonaws.com",
        "ec2:instance",
        INSTANCE,
        "ssm:SendCommand",
        profile=True,
        exact=(INSTANCE, RUN_SHELL),
        ssm=True,
    ),
    existing(
        "ssm-001", "ec2.amazonaws.com", "ec2:instance", INSTANCE, "ssm:StartSession", profile=True, ssm=True
    ),
    Case(
        id="sts-001",
        key="sts:AssumeRole",
        target=ADMIN_ROLE,
        setup=admin_role(trust_aws(f"arn:aws:iam::{ACCT}:root")),
        exact=(ADMIN_ROLE,),
        harmless=HARMLESS_ROLE,
        broken=admin_role(trust_aws(f"arn:aws:iam::{OTHER}:root")),
    ),
    existing(
        "ec2-003",
        "ec2.amazonaws.com",
        "ec2:instance",
        INSTANCE,
        "ec2-instance-connect:SendSSHPublicKey",
        profile=True,
    ),
    existing(
        "cloudformation-002",
        "cloudformation.amazonaws.com",
        "cloudformation:stack",
        STACK,
        "cloudformation:UpdateStack",
    ),
)


def statements(
    case: Case, *, key_resource: Any = "*", condition: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    key = allow(case.key, key_resource)
    if condition:
        key["Condition"] = condition
    out = [key]
    if case.others:
        out.append(allow(list(case.others)))
    return out


def attacker(acct: Account, case: Case, *inline: dict[str, Any], **kwargs: Any) -> str:
    if case.attacker == "role":
        kwargs.pop("groups", None)
        return acct.role("attacker", trust_aws(f"arn:aws:iam::{ACCT}:root"), *inline, **kwargs)
    return acct.user("attacker", *inline, **kwargs)


def fixture(case: Case, variant: str) -> tuple[Snapshot, str]:
    """The case's account with its attacker, and the attacker's ARN. Variants: `plain` (the
    technique's statements in one inline policy), `split` (the first inline, the rest in a managed
    policy, a user also in a harmless group), `exact` (each key action on its exact resource),
    `notaction-allow` (an Allow of everything but s3 and dynamodb)."""
    acct = Account()
    world(acct)
    kwargs: dict[str, Any] = case.setup(acct)
    sts = statements(case)
    inline = [doc(*sts)]
    if variant == "split":
        inline = [doc(sts[0])]
        if sts[1:]:
            kwargs["managed"] = (*kwargs.get("managed", ()), acct.managed("split-part", doc(*sts[1:])))
        if case.attacker == "user":
            acct.group("split-group", doc(allow("s3:GetObject")))
            kwargs["groups"] = (*kwargs.get("groups", ()), "split-group")
    elif variant == "exact":
        inline = [doc(*statements(case, key_resource=list(case.exact) if len(case.exact) > 1 else case.exact[0]))]
    elif variant == "notaction-allow":
        inline = [doc({"Effect": "Allow", "NotAction": ["s3:*", "dynamodb:*"], "Resource": "*"})]
    arn = attacker(acct, case, *inline, **kwargs)
    return acct.build(), arn
