"""`deescalate collect` against a real moto server round-trips a seeded account.

The account is seeded through boto3 over HTTP; the snapshot is collected through the CLI and read
back with `load_snapshot`; every seeded thing must be there, and nothing else of the customer's.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from collect_seed import ACCT, REGIONS, REPO, iam_arn, seed

from deescalate.analysis.analyze import analyze
from deescalate.cli import main
from deescalate.model import InventoryState, Snapshot
from deescalate.snapshot import layout as L
from deescalate.snapshot import load_snapshot

pytestmark = pytest.mark.e2e

ORGANIZATION_ONLY_CALLS = {
    "organizations:ListAccounts",
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
    "sts:AssumeRole",
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
    assert "4 failed call(s)" in err and "ssm DescribeInstanceInformation" in err, err
    assert "apprunner ListServices" in err
    s = load_snapshot(tmp_path / "snap")
    assert s.account_id == ACCT and s.has_inventory and s.regions == REGIONS
    _check_iam(s, seeded)
    _check_resources(s, seeded)
    _check_organization(s, seeded)
    manifest = json.loads((tmp_path / "snap" / "manifest.json").read_text())
    # SSM and App Runner answer HTTP 500 on moto: recorded per region, and everything after them
    # was still collected; the techniques through App Runner services are listed as unexamined.
    assert [(f["service"], f["operation"], f["region"], f["code"]) for f in manifest["failures"]] == [
        ("apprunner", "ListServices", r, "HTTP 500") for r in sorted(REGIONS)
    ] + [("ssm", "DescribeInstanceInformation", r, "HTTP 500") for r in sorted(REGIONS)]
    failed = {(i.kind, i.region) for i in s.inventory if i.state is InventoryState.FAILED}
    assert failed == {(k, r) for k in (L.SSM_MANAGED_INSTANCE, L.APPRUNNER_SERVICE) for r in REGIONS}
    unexamined = analyze(s).unexamined
    assert any(u.startswith("apprunner-002") and "HTTP 500" in u for u in unexamined), unexamined
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
    # Batch runs a compute environment on an ECS cluster of its own (AWS does, and so does moto).
    batch_clusters = [r for r in s.resources if r.kind == L.ECS_CLUSTER and r.name.startswith("OnDemand_Batch_")]
    assert len(batch_clusters) == 1
    got = sorted((r.kind, r.region, r.name, r.role_arns) for r in s.resources if r not in batch_clusters)
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
            (L.EC2_LAUNCH_TEMPLATE, "us-east-1", "web", (admin,)),
            (L.BATCH_COMPUTE_ENVIRONMENT, "us-east-1", "compute", ()),
            (L.BATCH_JOB_QUEUE, "us-east-1", "queue", ()),
            (L.BATCH_JOB_DEFINITION, "us-east-1", "jobdef", (admin,)),
            # the group's EC2 tag filter selects the instance with the admin profile
            (L.CODEDEPLOY_DEPLOYMENT_GROUP, "us-east-1", "app/group", (admin,)),
            (L.AGENTCORE_RUNTIME, "us-east-1", "agent", (admin,)),
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
    assert by_name["web"].arn.endswith(f":launch-template/{seeded['template']}")
    assert by_name["jobdef"].attributes["job_role_arn"] == admin
    assert by_name["app/group"].arn == f"arn:aws:codedeploy:us-east-1:{ACCT}:deploymentgroup:app/group"
    assert by_name["agent"].arn == f"arn:aws:bedrock-agentcore:us-east-1:{ACCT}:runtime/{seeded['runtime']}"


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
    # A client's service name is not always the IAM prefix (bedrock-agentcore-control's actions are
    # bedrock-agentcore:...): botocore's signing name is.
    session = botocore.session.get_session()

    def prefix(service: str) -> str:
        meta = session.get_service_model(service).metadata
        return str(meta.get("signingName") or meta["endpointPrefix"])

    made = {f"{prefix(c['service'])}:{c['operation']}" for c in [*calls, *manifest["calls"]]}
    policy = json.loads((REPO / "policies" / "collector-readonly.json").read_text())
    allowed = {a for st in policy["Statement"] for a in st["Action"]}
    assert made <= allowed, made - allowed
    # Every kind of call the collector can make was made here, but App Runner's DescribeService:
    # moto does not implement App Runner, so ListServices fails and nothing is described.
    # The access-advisor calls are made only with --last-accessed; the organization-wide ones only
    # with --organization (tests/e2e/test_collect_organization.py checks those).
    assert allowed - made == {
        "apprunner:DescribeService",
        "iam:GenerateServiceLastAccessedDetails",
        "iam:GetServiceLastAccessedDetails",
        *ORGANIZATION_ONLY_CALLS,
    }
    read_only = ("Get", "List", "Describe", "BatchGet", "GenerateServiceLastAccessedDetails")
    # sts:AssumeRole (into each account's role, only with --organization) is the one exception.
    assert all(a.split(":")[1].startswith(read_only) for a in allowed - {"sts:AssumeRole"})


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
    assert "\r" not in err and "collected account" in err  # not a terminal: no progress bar
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


def test_without_a_terminal_progress_lines_say_what_is_retried(
    moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto answers SSM DescribeInstanceInformation with HTTP 500: botocore retries it. Without a
    terminal, a progress line comes every few seconds (here every 0.2 s) and names the retried call;
    with -v the log names every call and every retry."""
    from deescalate.commands import collect_cmd

    monkeypatch.setattr(collect_cmd, "HEARTBEAT_SECONDS", 0.2)
    argv = ["collect", "-o", str(tmp_path / "snap"), "--endpoint-url", moto_endpoint,
            "--region", "us-east-1", "--max-attempts", "3"]
    assert main([*argv, "-v"]) == 0
    err = capsys.readouterr().err
    lines = err.splitlines()
    beats = [line for line in lines if line.startswith("deescalate: collect: ")]
    assert beats, err
    assert any("retrying ssm DescribeInstanceInformation in us-east-1 (attempt 3 of 3, after " in line
               for line in lines if "] collect: " in line), err  # the -v log
    assert any("] collect: call iam GetAccountAuthorizationDetails in global" in line for line in lines)
    assert any("retries since the last line" in b or "retry since the last line" in b for b in beats), err
    assert "failed: ssm DescribeInstanceInformation in us-east-1: HTTP 500" in err
