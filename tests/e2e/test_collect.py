"""`deescalate collect` against a real moto server round-trips a seeded account.

The account is seeded through boto3 over HTTP; the snapshot is collected through the CLI and read
back with `load_snapshot`; every seeded thing must be there, and nothing else of the customer's.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from deescalate.cli import main
from deescalate.model import InventoryState, Snapshot
from deescalate.snapshot import layout as L
from deescalate.snapshot import load_snapshot

pytestmark = pytest.mark.e2e

ACCT = "123456789012"
REGIONS = ("us-east-1", "eu-west-1")
REPO = Path(__file__).resolve().parents[2]


def iam_arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCT}:{kind}/{name}"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str, resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def trust(service: str) -> str:
    return doc({"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"})


def seed(url: str) -> dict[str, Any]:
    """Create one of everything collect reads; returns what the snapshot must hold."""

    def c(service: str, region: str = "us-east-1") -> Any:
        return boto3.client(service, endpoint_url=url, region_name=region)

    iam = c("iam")
    boundary = iam.create_policy(PolicyName="Boundary", PolicyDocument=doc(allow("s3:*")))["Policy"]["Arn"]
    custom = iam.create_policy(PolicyName="Custom", Path="/team/", PolicyDocument=doc(allow("ec2:Describe*")))
    custom_arn = custom["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=custom_arn, PolicyDocument=doc(allow("iam:Get*")), SetAsDefault=False)
    iam.create_policy_version(PolicyArn=custom_arn, PolicyDocument=doc(allow("iam:List*")), SetAsDefault=True)

    # moto 5.2 keeps no permissions boundary for users and its GetAccountAuthorizationDetails omits
    # user tags, so those two are checked on roles here and on users in tests/unit/test_snapshot.py.
    iam.create_user(UserName="alice", Tags=[{"Key": "team", "Value": "red"}])
    iam.create_access_key(UserName="alice")
    iam.create_access_key(UserName="alice")
    iam.create_login_profile(UserName="alice", Password="Secret-123!")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-mfa")["VirtualMFADevice"][
        "SerialNumber"
    ]
    iam.enable_mfa_device(
        UserName="alice", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    iam.put_user_policy(UserName="alice", PolicyName="inline-a", PolicyDocument=doc(allow("sts:AssumeRole")))
    iam.attach_user_policy(UserName="alice", PolicyArn=custom_arn)
    iam.create_user(UserName="bob", Path="/ops/")
    iam.create_group(GroupName="devs", Path="/eng/")
    iam.put_group_policy(
        GroupName="devs", PolicyName="inline-g", PolicyDocument=doc(allow("s3:ListAllMyBuckets"))
    )
    iam.attach_group_policy(GroupName="devs", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.add_user_to_group(GroupName="devs", UserName="alice")
    iam.add_user_to_group(GroupName="devs", UserName="bob")

    iam.create_role(
        RoleName="ec2-admin",
        AssumeRolePolicyDocument=trust("ec2.amazonaws.com"),
        PermissionsBoundary=boundary,
        Tags=[{"Key": "tier", "Value": "0"}],
    )
    iam.attach_role_policy(RoleName="ec2-admin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    iam.create_role(RoleName="worker", Path="/svc/", AssumeRolePolicyDocument=trust("lambda.amazonaws.com"))
    iam.put_role_policy(RoleName="worker", PolicyName="inline-r", PolicyDocument=doc(allow("logs:*")))
    iam.create_instance_profile(InstanceProfileName="ec2-admin-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="ec2-admin-profile", RoleName="ec2-admin")
    iam.create_instance_profile(InstanceProfileName="empty-profile")
    admin_role, worker = iam_arn("role", "ec2-admin"), iam_arn("role", "svc/worker")
    profile = iam_arn("instance-profile", "ec2-admin-profile")

    ec2 = c("ec2")
    ami = ec2.describe_images()["Images"][0]["ImageId"]
    with_profile = ec2.run_instances(
        ImageId=ami, MinCount=1, MaxCount=1, IamInstanceProfile={"Arn": profile}
    )["Instances"][0]["InstanceId"]
    ec2_eu = c("ec2", "eu-west-1")
    ami_eu = ec2_eu.describe_images()["Images"][0]["ImageId"]
    plain_eu = ec2_eu.run_instances(ImageId=ami_eu, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("f.py", "def handler(event, context):\n    return None\n")
    lam = c("lambda")
    for name in ("with-policy", "no-policy"):
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=worker,
            Handler="f.handler",
            Code={"ZipFile": buf.getvalue()},
        )
    lam.add_permission(
        FunctionName="with-policy",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
    )

    c("cloudformation").create_stack(
        StackName="stack",
        RoleARN=admin_role,
        TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
    )
    c("codebuild").create_project(
        name="build",
        serviceRole=admin_role,
        source={"type": "S3", "location": "bucket/src.zip"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
        },
    )
    glue = c("glue")
    glue.create_dev_endpoint(EndpointName="dev", RoleArn=admin_role)
    glue.create_job(Name="etl", Role=admin_role, Command={"Name": "glueetl", "ScriptLocation": "s3://b/s.py"})
    c("sagemaker").create_notebook_instance(
        NotebookInstanceName="nb", InstanceType="ml.t2.medium", RoleArn=admin_role
    )
    ecs = c("ecs")
    ecs.create_cluster(clusterName="cluster")
    td = ecs.register_task_definition(
        family="task",
        taskRoleArn=admin_role,
        executionRoleArn=worker,
        containerDefinitions=[{"name": "c", "image": "nginx", "memory": 128}],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="cluster", serviceName="svc", taskDefinition=td, desiredCount=0)
    pipeline = c("datapipeline").create_pipeline(name="pipe", uniqueId="pipe-1")["pipelineId"]

    org = c("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    org.enable_policy_type(RootId=root, PolicyType="RESOURCE_CONTROL_POLICY")
    ou = org.create_organizational_unit(ParentId=root, Name="Prod")["OrganizationalUnit"]["Id"]
    org.move_account(AccountId=ACCT, SourceParentId=root, DestinationParentId=ou)
    scp = org.create_policy(
        Name="NoLeave",
        Description="d",
        Type="SERVICE_CONTROL_POLICY",
        Content=doc({"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}),
    )["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=scp, TargetId=root)
    return {
        "custom": custom_arn,
        "boundary": boundary,
        "admin_role": admin_role,
        "worker": worker,
        "profile": profile,
        "instance": with_profile,
        "instance_eu": plain_eu,
        "task": td,
        "pipeline": pipeline,
        "root": root,
        "ou": ou,
    }


def collect(
    url: str, out: Path, capsys: pytest.CaptureFixture[str], regions: tuple[str, ...] = REGIONS
) -> tuple[int, str]:
    argv = ["collect", "-o", str(out), "--endpoint-url", url, "--max-attempts", "2"]
    for r in regions:
        argv += ["--region", r]
    code = main(argv)
    return code, capsys.readouterr().err


def test_collect_round_trips_the_seeded_account(
    moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everything seeded comes back; SSM's HTTP 500 is recorded and collection goes on; every call
    made is in policies/collector-readonly.json."""
    seeded = seed(moto_endpoint)
    code, err = collect(moto_endpoint, tmp_path / "snap", capsys)
    assert code == 0, err
    assert "2 failed call(s)" in err and "ssm DescribeInstanceInformation" in err
    s = load_snapshot(tmp_path / "snap")
    assert s.account_id == ACCT and s.has_inventory and s.regions == REGIONS
    _check_iam(s, seeded)
    _check_resources(s, seeded)
    _check_organization(s, seeded)
    manifest = json.loads((tmp_path / "snap" / "manifest.json").read_text())
    # SSM answers HTTP 500 on moto: recorded per region, and everything after it was still collected.
    assert [(f["service"], f["operation"], f["region"], f["code"]) for f in manifest["failures"]] == [
        ("ssm", "DescribeInstanceInformation", r, "HTTP 500") for r in sorted(REGIONS)
    ]
    failed = {(i.kind, i.region) for i in s.inventory if i.state is InventoryState.FAILED}
    assert failed == {(L.SSM_MANAGED_INSTANCE, r) for r in REGIONS}
    assert len(s.inventory) == len(REGIONS) * len(L.RESOURCE_KINDS)
    _check_every_call_is_in_the_read_only_policy(manifest["calls"], moto_endpoint, tmp_path, monkeypatch)


def _check_iam(s: Snapshot, seeded: dict[str, Any]) -> None:
    assert sorted(s.users) == [iam_arn("user", "alice"), iam_arn("user", "ops/bob")]
    assert sorted(s.roles) == sorted([seeded["admin_role"], seeded["worker"]])
    assert sorted(s.groups) == [iam_arn("group", "eng/devs")]
    alice, bob = s.users[iam_arn("user", "alice")], s.users[iam_arn("user", "ops/bob")]
    assert (alice.access_key_count, alice.has_login_profile, alice.mfa_device_count) == (2, True, 1)
    assert (bob.access_key_count, bob.has_login_profile, bob.mfa_device_count) == (0, False, 0)
    assert [p.ref.name for p in alice.inline_policies] == ["inline-a"]
    assert alice.inline_policies[0].statements[0].actions == ("sts:AssumeRole",)
    assert alice.managed_policy_arns == (seeded["custom"],)
    assert alice.group_arns == bob.group_arns == (iam_arn("group", "eng/devs"),)
    devs = s.groups[iam_arn("group", "eng/devs")]
    assert [p.ref.name for p in devs.inline_policies] == ["inline-g"]
    assert devs.managed_policy_arns == ("arn:aws:iam::aws:policy/ReadOnlyAccess",)
    admin, worker = s.roles[seeded["admin_role"]], s.roles[seeded["worker"]]
    assert admin.trust_policy is not None and admin.trust_policy.statements[0].principal is not None
    assert admin.trust_policy.statements[0].principal.entries == (("Service", "ec2.amazonaws.com"),)
    assert admin.boundary_arn == seeded["boundary"] and dict(admin.tags) == {"tier": "0"}
    assert admin.managed_policy_arns == ("arn:aws:iam::aws:policy/AdministratorAccess",)
    assert admin.instance_profile_arns == (seeded["profile"],)
    assert [p.ref.name for p in worker.inline_policies] == ["inline-r"] and worker.path == "/svc/"
    customer = sorted(a for a in s.policies if not s.policies[a].aws_managed)
    assert customer == sorted([seeded["custom"], seeded["boundary"]])
    custom = s.policies[seeded["custom"]]
    assert custom.name == "Custom" and custom.path == "/team/"
    assert sorted(custom.versions) == ["v1", "v2", "v3"] and custom.default_version == "v3"
    assert [custom.versions[v].statements[0].actions for v in ("v1", "v2", "v3")] == [
        ("ec2:Describe*",),
        ("iam:Get*",),
        ("iam:List*",),
    ]
    admin_policy = s.policies["arn:aws:iam::aws:policy/AdministratorAccess"]
    assert admin_policy.name == "AdministratorAccess"  # moto omits PolicyName: derived from the ARN
    assert s.instance_profiles[seeded["profile"]].role_arns == (seeded["admin_role"],)
    assert s.instance_profiles[iam_arn("instance-profile", "empty-profile")].role_arns == ()


def _check_resources(s: Snapshot, seeded: dict[str, Any]) -> None:
    got = sorted((r.kind, r.region, r.name, r.role_arns) for r in s.resources)
    admin, worker = seeded["admin_role"], seeded["worker"]
    assert got == sorted(
        [
            (L.EC2_INSTANCE, "us-east-1", seeded["instance"], (admin,)),
            (L.EC2_INSTANCE, "eu-west-1", seeded["instance_eu"], ()),
            (L.LAMBDA_FUNCTION, "us-east-1", "with-policy", (worker,)),
            (L.LAMBDA_FUNCTION, "us-east-1", "no-policy", (worker,)),
            (L.CLOUDFORMATION_STACK, "us-east-1", "stack", (admin,)),
            (L.CODEBUILD_PROJECT, "us-east-1", "build", (admin,)),
            (L.GLUE_DEV_ENDPOINT, "us-east-1", "dev", (admin,)),
            (L.GLUE_JOB, "us-east-1", "etl", (admin,)),
            (L.SAGEMAKER_NOTEBOOK, "us-east-1", "nb", (admin,)),
            (L.ECS_CLUSTER, "us-east-1", "cluster", ()),
            (L.ECS_SERVICE, "us-east-1", "svc", (admin, worker)),
            (L.ECS_TASK_DEFINITION, "us-east-1", "task", (admin, worker)),
            (L.DATAPIPELINE_PIPELINE, "us-east-1", "pipe", ()),
        ]
    )
    by_name = {r.name: r for r in s.resources}
    with_policy = by_name["with-policy"].policy
    assert with_policy is not None
    assert with_policy.statements[0].principal is not None
    assert with_policy.statements[0].principal.entries == (("Service", "s3.amazonaws.com"),)
    assert by_name["no-policy"].policy is None
    assert by_name[seeded["instance"]].attributes["instance_profile_arn"] == seeded["profile"]
    assert by_name["task"].arn == seeded["task"]
    assert by_name["pipe"].arn.endswith(f":pipeline/{seeded['pipeline']}")


def _check_organization(s: Snapshot, seeded: dict[str, Any]) -> None:
    o = s.organization
    assert o is not None and o.scps_enabled and o.rcps_enabled and o.management_account_id == ACCT
    assert o.id.startswith("o-")
    assert [(n.id, n.kind) for n in o.path] == [
        (seeded["root"], "root"),
        (seeded["ou"], "ou"),
        (ACCT, "account"),
    ]
    assert o.path[1].name == "Prod"
    assert [sorted(p.ref.name for p in n.scps) for n in o.path] == [
        ["FullAWSAccess", "NoLeave"],
        ["FullAWSAccess"],
        ["FullAWSAccess"],
    ]
    # AWS (and moto) attach RCPFullAWSAccess at every level when RCPs are enabled.
    assert [[p.ref.name for p in n.rcps] for n in o.path] == [["RCPFullAWSAccess"]] * 3
    assert all(p.ref.kind.value == "rcp" for n in o.path for p in n.rcps)
    noleave = next(p for p in o.path[0].scps if p.ref.name == "NoLeave")
    assert noleave.statements[0].actions == ("organizations:LeaveOrganization",)


def _check_every_call_is_in_the_read_only_policy(
    calls: list[dict[str, Any]], url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without --region the collector asks EC2 for the enabled regions; skip the per-region work here.
    import deescalate.collect.run as run

    monkeypatch.setattr(run, "KIND_COLLECTORS", {})
    assert main(["collect", "-o", str(tmp_path / "no-regions"), "--endpoint-url", url]) == 0
    manifest = json.loads((tmp_path / "no-regions" / "manifest.json").read_text())
    assert len(manifest["regions"]) > 2
    made = {f"{c['service']}:{c['operation']}" for c in [*calls, *manifest["calls"]]}
    policy = json.loads((REPO / "policies" / "collector-readonly.json").read_text())
    allowed = {a for st in policy["Statement"] for a in st["Action"]}
    assert made <= allowed, made - allowed
    # Every kind of call the collector can make was made here (moto answers them all).
    assert allowed == made
    assert all(a.split(":")[1].startswith(("Get", "List", "Describe", "BatchGet")) for a in allowed)


def test_unreachable_endpoint_is_one_sentence_and_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "snap"
    code = main(["collect", "-o", str(out), "--endpoint-url", "http://127.0.0.1:1", "--region", "us-east-1"])
    err = capsys.readouterr().err
    assert code == 3
    assert err.startswith("deescalate: cannot reach http://127.0.0.1:1") and err.count("\n") == 1
    assert "Traceback" not in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_no_credentials_is_one_sentence_and_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code = main(["collect", "-o", str(tmp_path / "snap"), "--endpoint-url", "http://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code == 3 and err.startswith("deescalate: no AWS credentials found") and err.count("\n") == 1


def test_unknown_profile_is_exit_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    code = main(["collect", "-o", str(tmp_path / "snap"), "--profile", "nope"])
    err = capsys.readouterr().err
    assert code == 3 and err.startswith("deescalate: the AWS profile 'nope' is not configured")


def test_output_that_is_not_a_snapshot_is_refused(
    moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    code, err = collect(moto_endpoint, tmp_path, capsys)
    assert code == 2 and "exists and is not a snapshot directory" in err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_collecting_again_replaces_the_snapshot(
    moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "snap"
    assert collect(moto_endpoint, out, capsys, ("us-east-1",))[0] == 0
    assert load_snapshot(out).users == {}
    boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1").create_user(UserName="carol")
    code, err = collect(moto_endpoint, out, capsys, ("us-east-1",))
    assert code == 0
    assert "\r" not in err and err.startswith("collected account")  # not a terminal: no progress bar
    assert [u.name for u in load_snapshot(out).users.values()] == ["carol"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["snap"]  # no partial directory left behind


def test_progress_bar_only_on_a_terminal(
    moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1").create_user(UserName="carol")
    term = Terminal()
    monkeypatch.setattr("sys.stderr", term)
    argv = ["collect", "-o", str(tmp_path / "snap"), "--endpoint-url", moto_endpoint, "--region", "us-east-1"]
    assert main([*argv, "--max-attempts", "1"]) == 0
    frames = term.getvalue().split("\r")
    total = 4 + len(L.RESOURCE_KINDS) + 1  # + one step per user
    assert any(" iam: user carol" in f for f in frames)
    assert any(f.startswith(f"[{'#' * 30}] {total}/{total} ") for f in frames)
    assert frames[1].startswith("[") and " 1/" in frames[1]
    assert "collected account 123456789012" in frames[-1]


def test_an_unexpected_response_fails_one_kind_only(
    moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import deescalate.collect.run as run

    def broken(aws: Any, region: str) -> dict[str, Any]:
        return {"describe-instances": aws.pages("ec2", region, "describe_instances")["NoSuchKey"]}

    kinds = {L.EC2_INSTANCE: ("ec2", broken), L.GLUE_JOB: run.KIND_COLLECTORS[L.GLUE_JOB]}
    monkeypatch.setattr(run, "KIND_COLLECTORS", kinds)
    code, err = collect(moto_endpoint, tmp_path / "snap", capsys, ("us-east-1",))
    assert code == 0, err
    s = load_snapshot(tmp_path / "snap")
    states = {i.kind: (i.state, i.error) for i in s.inventory}
    assert states[L.GLUE_JOB] == (InventoryState.OK, None)
    assert states[L.EC2_INSTANCE] == (InventoryState.FAILED, "UnexpectedResponse: KeyError: 'NoSuchKey'")
