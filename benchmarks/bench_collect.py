"""Time `deescalate collect` against a moto server seeded with N principals, and how much is moto.

    python benchmarks/bench_collect.py [--principals 1000] [--regions us-east-1 ...]

Starts moto's server in a child process (so its CPU time can be read from /proc), seeds users
(inline policy, a customer managed policy, a group; access keys / console passwords on some),
roles (trust policy, inline policy, managed policy) and groups, then measures:

1. `collect()` wall time, split by step (from its progress callback);
2. the moto server process's CPU time during that collect (what moto itself spends);
3. the same read calls made plainly with boto3 (one thread, nothing written): the floor a
   collector on this endpoint cannot go below;
4. `load_snapshot()` on the result.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3

from deescalate.collect import collect
from deescalate.snapshot import load_snapshot

CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK  # utime + stime


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true")
    code = (
        "import time\nfrom moto.server import ThreadedMotoServer\n"
        f"s = ThreadedMotoServer(ip_address='127.0.0.1', port={port}, verbose=False)\ns.start()\n"
        "while True: time.sleep(3600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/moto-api/data.json", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto server did not start")


def doc(action: str, resource: str = "*") -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}
    )


def seed(url: str, n: int) -> dict[str, int]:
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1")
    n_users, n_roles = n // 2, n - n // 2
    n_groups, n_policies = max(1, n // 20), max(1, n // 10)
    policies = [
        iam.create_policy(PolicyName=f"pol-{i}", PolicyDocument=doc(f"s3:Get{i}*"))["Policy"]["Arn"]
        for i in range(n_policies)
    ]
    for i in range(n_groups):
        iam.create_group(GroupName=f"group-{i}")
        iam.put_group_policy(GroupName=f"group-{i}", PolicyName="g", PolicyDocument=doc("ec2:Describe*"))
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    for i in range(n_users):
        name = f"user-{i}"
        iam.create_user(UserName=name)
        iam.put_user_policy(
            UserName=name,
            PolicyName="inline",
            PolicyDocument=doc("sts:AssumeRole", f"arn:aws:iam::*:role/role-{i}"),
        )
        iam.attach_user_policy(UserName=name, PolicyArn=policies[i % n_policies])
        iam.add_user_to_group(GroupName=f"group-{i % n_groups}", UserName=name)
        if i % 2 == 0:
            iam.create_access_key(UserName=name)
        if i % 3 == 0:
            iam.create_login_profile(UserName=name, Password="Secret-123!")
    for i in range(n_roles):
        name = f"role-{i}"
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=doc("iam:PassRole"))
        iam.attach_role_policy(RoleName=name, PolicyArn=policies[i % n_policies])
    return {"users": n_users, "roles": n_roles, "groups": n_groups, "customer_policies": n_policies}


def plain_boto3(url: str, regions: list[str]) -> tuple[float, int]:
    """The collector's read calls, made one after another with boto3 and thrown away."""
    calls = 0

    def c(service: str, region: str = "us-east-1") -> Any:
        return boto3.client(service, endpoint_url=url, region_name=region)

    t0 = time.perf_counter()
    iam = c("iam")
    c("sts").get_caller_identity()
    details = iam.get_paginator("get_account_authorization_details").paginate().build_full_result()
    iam.get_paginator("list_instance_profiles").paginate().build_full_result()
    calls += 3
    for u in details["UserDetailList"]:
        iam.list_access_keys(UserName=u["UserName"])
        iam.list_mfa_devices(UserName=u["UserName"])
        with contextlib.suppress(iam.exceptions.NoSuchEntityException):
            iam.get_login_profile(UserName=u["UserName"])
        calls += 3
    for region in regions:
        for service, op in (
            ("ec2", "describe_instances"),
            ("lambda", "list_functions"),
            ("cloudformation", "describe_stacks"),
            ("codebuild", "list_projects"),
            ("glue", "get_dev_endpoints"),
            ("glue", "get_jobs"),
            ("sagemaker", "list_notebook_instances"),
            ("ecs", "list_clusters"),
            ("ecs", "list_task_definitions"),
            ("datapipeline", "list_pipelines"),
        ):
            getattr(c(service, region), op)()
            calls += 1
    return time.perf_counter() - t0, calls


def timed_collect(pid: int, url: str, out: Path, regions: list[str], label: str) -> None:
    steps: list[tuple[float, str]] = []
    t0 = time.perf_counter()

    def progress(done: int, total: int, what: str) -> None:
        steps.append((time.perf_counter() - t0, what))

    moto_cpu0, our_cpu0 = cpu_seconds(pid), time.process_time()
    collect(out, regions=regions, endpoint_url=url, progress=progress, max_attempts=2)
    wall = time.perf_counter() - t0
    moto_cpu, our_cpu = cpu_seconds(pid) - moto_cpu0, time.process_time() - our_cpu0
    manifest = json.loads((out / "manifest.json").read_text())
    n_calls = sum(c["count"] for c in manifest["calls"])
    print(
        f"collect, {label}: {wall:.1f}s wall, {n_calls} calls, {len(manifest['failures'])} failed; "
        f"moto server CPU {moto_cpu:.1f}s, collector CPU {our_cpu:.1f}s"
    )
    last = 0.0
    for at, what in steps:  # the per-user ticks ("iam: user ...") are summed into "credentials of"
        if what.startswith(("sts:", "iam: account", "iam: credentials", "organizations:")):
            print(f"  {at - last:6.2f}s  {what}")
            last = at
    print(f"  {wall - last:6.2f}s  {len(regions)} region(s) x 12 resource kinds, manifest, rename")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--principals", type=int, default=1000)
    ap.add_argument("--regions", nargs="+", default=["us-east-1"])
    args = ap.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    proc, url = start_moto()
    out = Path(tempfile.mkdtemp(prefix="bench-collect-")) / "snap"
    try:
        t0 = time.perf_counter()
        seeded = seed(url, args.principals)
        print(f"seeded {seeded} in {time.perf_counter() - t0:.1f}s")

        for label in ("cold (moto builds its regional backends on first use)", "warm"):
            timed_collect(proc.pid, url, out, args.regions, label)
        # The same, one thread for users and one for regions: what the threads buy on this machine.
        import deescalate.collect.iam as collect_iam
        import deescalate.collect.run as collect_run

        collect_iam.USER_WORKERS = collect_run.REGION_WORKERS = 1
        timed_collect(proc.pid, url, out, args.regions, "warm, single-threaded")
        moto_cpu0, our_cpu0 = cpu_seconds(proc.pid), time.process_time()
        plain, plain_calls = plain_boto3(url, args.regions)
        print(
            f"plain boto3, one thread, same reads ({plain_calls} calls): {plain:.1f}s wall, "
            f"moto server CPU {cpu_seconds(proc.pid) - moto_cpu0:.1f}s, "
            f"client CPU {time.process_time() - our_cpu0:.1f}s"
        )

        t0 = time.perf_counter()
        snap = load_snapshot(out)
        print(
            f"load_snapshot: {time.perf_counter() - t0:.2f}s "
            f"({len(snap.users)} users, {len(snap.roles)} roles, "
            f"{len(snap.groups)} groups, {len(snap.policies)} managed policies); "
            f"snapshot size {sum(f.stat().st_size for f in out.rglob('*') if f.is_file()) / 1e6:.1f} MB"
        )
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(out.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
