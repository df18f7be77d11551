"""Time `deescalate collect --organization` against a moto server holding an organization.

    python benchmarks/bench_collect_org.py [--accounts 24] [--users 20] [--parallel 1 4]

Starts moto's server in a child process (bench_collect.start_moto), creates an organization with
`--accounts` member accounts spread over three OUs, attaches an SCP to each OU, seeds `--users`
IAM users (inline policy, access key) in each member through its OrganizationAccountAccessRole,
then runs `deescalate collect --organization` (one region) as a child process under
`/usr/bin/time -v` once per `--parallel` value, into a fresh directory each time, and prints the
collector's wall time, CPU time (user+sys), peak RSS, and the moto server's CPU time meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_collect import cpu_seconds, start_moto

for _k, _v in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
               ("AWS_DEFAULT_REGION", "us-east-1")):
    os.environ.setdefault(_k, _v)
ALLOW_GET = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}
)


def seed(url: str, accounts: int, users: int) -> None:
    def c(service: str, **creds: str) -> Any:
        return boto3.client(service, endpoint_url=url, region_name="us-east-1", **creds)

    org = c("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    ous = []
    for i in range(3):
        ou = org.create_organizational_unit(ParentId=root, Name=f"ou{i}")["OrganizationalUnit"]["Id"]
        scp = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": f"s3:Delete{i}*", "Resource": "*"}]})
        pid = org.create_policy(Name=f"scp{i}", Description="", Type="SERVICE_CONTROL_POLICY",
                                Content=scp)["Policy"]["PolicySummary"]["Id"]
        org.attach_policy(PolicyId=pid, TargetId=ou)
        ous.append(ou)
    sts = c("sts")
    for n in range(accounts):
        aid = org.create_account(AccountName=f"a{n}", Email=f"a{n}@example.com")["CreateAccountStatus"][
            "AccountId"
        ]
        org.move_account(AccountId=aid, SourceParentId=root, DestinationParentId=ous[n % 3])
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{aid}:role/OrganizationAccountAccessRole",
                                RoleSessionName="seed")["Credentials"]
        iam = c("iam", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"])
        for u in range(users):
            iam.create_user(UserName=f"u{u}")
            iam.put_user_policy(UserName=f"u{u}", PolicyName="p", PolicyDocument=ALLOW_GET)
            iam.create_access_key(UserName=f"u{u}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=24)
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--parallel", type=int, nargs="+", default=[1, 4])
    args = ap.parse_args()
    proc, url = start_moto()
    try:
        t = time.monotonic()
        seed(url, args.accounts, args.users)
        print(f"seeded {args.accounts} member accounts x {args.users} users in {time.monotonic() - t:.1f}s")
        deescalate = Path(sys.executable).parent / "deescalate"
        for parallel in args.parallel:
            out = Path(tempfile.mkdtemp(prefix="bench-org-")) / "org"
            cmd = ["/usr/bin/time", "-v", str(deescalate), "collect", "--organization", "-o", str(out),
                   "--endpoint-url", url, "--region", "us-east-1",
                   "--max-accounts-in-parallel", str(parallel)]
            moto0 = cpu_seconds(proc.pid)
            run = subprocess.run(cmd, capture_output=True, text=True, check=False)
            moto = cpu_seconds(proc.pid) - moto0
            err = run.stderr

            def field(name: str, text: str = err) -> str:
                m = re.search(rf"{re.escape(name)}: (.+)", text)
                return m.group(1).strip() if m else "?"

            lines = err.splitlines()
            summary = next((ln for ln in lines if ln.startswith("collected organization")), err[-300:])
            cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
            wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
            rss = int(field("Maximum resident set size (kbytes)")) // 1024
            print(f"--max-accounts-in-parallel {parallel}: wall {wall}, collector CPU {cpu:.1f}s, "
                  f"peak RSS {rss} MB, moto server CPU {moto:.1f}s\n  {summary}")
    finally:
        proc.terminate()


if __name__ == "__main__":
    main()
