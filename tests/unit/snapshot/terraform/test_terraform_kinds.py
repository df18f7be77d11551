"""Every resource kind a plan can hold, read into the account before and after the change.

tests/assets/terraform/resource_kinds.json: a prior state (users, a group, a role with two inline
policies, a customer managed policy with an exclusive attachment, memberships, keys, a login
profile, data sources) and changes that exercise each kind's add and remove.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deescalate.snapshot import layout as L
from deescalate.snapshot.terraform import PlanScan, load_terraform_plan

ASSETS = Path(__file__).resolve().parents[3] / "assets/terraform"
A = "arn:aws:iam::123456789012"
RO = "arn:aws:iam::aws:policy/ReadOnlyAccess"
CUSTOM = f"{A}:policy/team/custom"
RUNNER = f"{A}:role/runner"


@pytest.fixture(scope="module")
def scan() -> PlanScan:
    return load_terraform_plan(ASSETS / "resource_kinds.json")


def test_prior_state_is_the_account_before(scan: PlanScan) -> None:
    b = scan.before
    alice, bob = b.users[f"{A}:user/alice"], b.users[f"{A}:user/bob"]
    assert alice.group_arns == (f"{A}:group/eng/devs",)  # aws_iam_user_group_membership, group path kept
    assert alice.managed_policy_arns == bob.managed_policy_arns == (CUSTOM,)  # aws_iam_policy_attachment
    assert bob.has_login_profile is True  # aws_iam_user_login_profile
    assert alice.access_key_count is None  # keys made outside Terraform are not known
    assert [p.ref.name for p in b.roles[RUNNER].inline_policies] == ["keep", "drop"]
    assert b.groups[f"{A}:group/eng/devs"].managed_policy_arns == ("arn:aws:iam::aws:policy/PowerUserAccess",)
    assert b.policies[CUSTOM].document.statements[0].actions == ("ec2:Describe*",)
    assert b.policies[RO].document.statements[0].actions == (
        "s3:Get*",
        "ec2:Describe*",
    )  # data "aws_iam_policy"
    assert b.resources == ()


def test_changes_applied(scan: PlanScan) -> None:
    a = scan.after
    assert f"{A}:user/bob" not in a.users  # deleted
    alice = a.users[f"{A}:user/alice"]
    assert alice.group_arns == ()  # membership deleted
    assert set(alice.managed_policy_arns) == {CUSTOM, RO}  # attachment added
    # aws_iam_policy_attachment is exclusive: updated to alice and the runner role, bob dropped.
    assert a.roles[RUNNER].managed_policy_arns == (CUSTOM,)
    # *_policy_attachments_exclusive and *_policies_exclusive replace the whole relation.
    assert a.groups[f"{A}:group/eng/devs"].managed_policy_arns == (RO,)
    assert [p.ref.name for p in a.roles[RUNNER].inline_policies] == ["keep"]
    assert a.roles[RUNNER].instance_profile_arns == (f"{A}:instance-profile/runner-profile",)
    # name_prefix: a placeholder name; the boundary follows its reference to the custom policy.
    tmp = a.roles[f"{A}:role/tmp-(known after apply: aws_iam_role.tmp)"]
    assert tmp.boundary_arn == CUSTOM
    assert any(d.arn == tmp.arn and "known only after apply" in d.why for d in scan.doubts)


def test_technique_resources_and_their_roles(scan: PlanScan) -> None:
    by_kind = {r.kind: r for r in scan.after.resources}
    expect = {
        L.EC2_INSTANCE: "arn:aws:ec2:us-east-1:123456789012:instance/(known after apply: aws_instance.vm[0])",
        L.GLUE_DEV_ENDPOINT: "arn:aws:glue:us-east-1:123456789012:devEndpoint/ep",
        L.GLUE_JOB: "arn:aws:glue:us-east-1:123456789012:job/job",
        L.SAGEMAKER_NOTEBOOK: "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/mynotebook",
        L.CLOUDFORMATION_STACK: "arn:aws:cloudformation:us-east-1:123456789012:stack/st/(known after apply)",
        L.CODEBUILD_PROJECT: "arn:aws:codebuild:us-east-1:123456789012:project/cb",
        L.ECS_TASK_DEFINITION: "arn:aws:ecs:us-east-1:123456789012:task-definition/app:(known after apply)",
        L.ECS_SERVICE: "arn:aws:ecs:us-east-1:123456789012:service/main/web",
    }
    for kind, arn in expect.items():
        assert by_kind[kind].arn == arn
        assert by_kind[kind].role_arns == (RUNNER,), (
            kind
        )  # by ARN, by name (codebuild), via the task definition
    assert by_kind[L.ECS_CLUSTER].arn == "arn:aws:ecs:us-east-1:123456789012:cluster/main"
    assert (
        by_kind[L.EC2_INSTANCE].attributes["instance_profile_arn"] == f"{A}:instance-profile/runner-profile"
    )
    # A role from a module output cannot be followed: the function holds no known role, and it is said.
    fn = by_kind[L.LAMBDA_FUNCTION]
    assert fn.region == "eu-west-1" and fn.role_arns == ()
    assert any("aws_lambda_function.fn: its role is known only after apply" in n for n in scan.notes)
    assert any("aws_launch_template.lt" in n for n in scan.notes)
    # Which instances SSM manages is a runtime fact: the SSM inventory is missing, not "none".
    ssm = [r for r in scan.after.inventory if r.kind == L.SSM_MANAGED_INSTANCE]
    assert ssm and all(r.state.value == "missing" for r in ssm)


def test_the_managed_policies_the_plan_cannot_show_are_noted(scan: PlanScan) -> None:
    assert any("PowerUserAccess" in n and 'data "aws_iam_policy"' in n for n in scan.notes)
    pu = scan.before.policies["arn:aws:iam::aws:policy/PowerUserAccess"]
    assert pu.document.statements[0].conditions[0].key == "terraform:KnownAfterApply"


def test_forget_read_and_deposed_leave_the_account_alone(tmp_path) -> None:
    plan = json.loads((ASSETS / "resource_kinds.json").read_text())
    alice = next(
        r
        for r in plan["prior_state"]["values"]["root_module"]["resources"]
        if r["address"] == "aws_iam_user.a"
    )
    plan["resource_changes"] = [
        {
            "address": "aws_iam_user.a",
            "mode": "managed",
            "type": "aws_iam_user",
            "name": "a",
            "change": {"actions": ["forget"], "before": alice["values"], "after": None},
        },
        {
            "address": "aws_iam_user.a",
            "mode": "managed",
            "type": "aws_iam_user",
            "name": "a",
            "deposed": "00000001",
            "change": {"actions": ["no-op"], "before": alice["values"], "after": alice["values"]},
        },
    ]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(plan))
    s = load_terraform_plan(path)
    assert f"{A}:user/alice" in s.after.users and s.changed == ()
