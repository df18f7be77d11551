"""PMapper side by side: `pmapper graph create` and `deescalate scan` on the same generated account.

    python benchmarks/bench_pmapper.py [--sizes 1000] [--shape SHAPE] [--seed 1] [--pmapper CMD]
                                       [--timeout S]

PMapper (principalmapper, AGPL) is not a dependency of this project and none of its code is here:
install it yourself in a separate virtual environment (it needs Python <= 3.9, as it imports
`collections.Mapping`), e.g.

    python3.9 -m venv /tmp/pmapper && /tmp/pmapper/bin/pip install principalmapper==1.1.5
    python benchmarks/bench_pmapper.py --pmapper /tmp/pmapper/bin/pmapper

Without it (no `--pmapper`, no `pmapper` on PATH) the script says so and exits 0.

PMapper builds its graph from AWS API calls, so for each size: a moto server is started in its own
process (account 123456789012, AWS managed policies loaded), the generated account
(benchmarks/generate_account.py with --shape) is recreated in it by the test helper
`seed_from_snapshot` (customer managed policies, groups, users, roles, inline policies,
attachments, instance profiles; not timed), then `pmapper graph create --localstack-endpoint URL
--include-regions us-east-1` runs in a fresh process with its storage in a temporary directory.
Printed: its wall time, CPU time (user + system, wait4) and peak RSS, the moto server's CPU time
during the run (PMapper's calls are served there), and the nodes and edges PMapper reports; then
`deescalate scan` of the same account, as the raw get-account-authorization-details file, in a
fresh process (wall, CPU, peak RSS, findings). moto's AWS managed policies are its own copies
(e.g. its ReadOnlyAccess may differ from the current one that the raw file holds). moto's
GetAccountAuthorizationDetails leaves out the managed policies' PolicyName, which PMapper reads: a
botocore hook loaded into PMapper's process (a generated sitecustomize module) fills it in from the
policy ARN; PMapper itself is run unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "support"))

from subproc import wait_with_deadline  # noqa: E402

ACCOUNT = "123456789012"


# Run inside PMapper's process (a sitecustomize module on its PYTHONPATH): moto's
# GetAccountAuthorizationDetails leaves out each managed policy's PolicyName, which AWS returns
# and PMapper reads; the hook fills it in from the ARN (the name is the ARN's last path segment).
_MOTO_GAP_HOOK = """
import botocore.session

def _policy_names(parsed=None, **kwargs):
    for p in (parsed or {}).get("Policies", []):
        p.setdefault("PolicyName", p["Arn"].rsplit("/", 1)[-1])

_init = botocore.session.Session.__init__

def _session_init(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    self.register("after-call.iam.GetAccountAuthorizationDetails", _policy_names)

botocore.session.Session.__init__ = _session_init
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_of(pid: int) -> float:
    """utime + stime of a running process, in seconds (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed(cmd: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        waited = wait_with_deadline(proc, timeout)
        if waited is None:
            return {"killed": True}
        code, usage = waited
        out.seek(0)
        text = out.read()
    return {"killed": False, "code": code, "wall": time.perf_counter() - started,
            "cpu": usage.ru_utime + usage.ru_stime, "rss_mib": usage.ru_maxrss / 1024, "output": text}


def _start_moto(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("bench_pmapper: the moto server did not start")


def measure(n: int, shape: str, seed: int, pmapper: list[str], timeout: float) -> None:
    import boto3
    from apply_helpers import seed_from_snapshot
    from shapes import shaped

    from deescalate.snapshot.iam import parse_details

    # IAM refuses S3 ARNs with a region or account (the generator writes arn:aws:s3:*:ACCOUNT:*),
    # and so does moto: both tools get the account with those written as arn:aws:s3:::NAME.
    text = json.dumps(shaped(shape, n, seed))
    doc = json.loads(re.sub(r"arn:aws:s3:[^:\"]*:[^:\"]*:", "arn:aws:s3:::", text))
    principals = len(doc["UserDetailList"]) + len(doc["RoleDetailList"])
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
           "MOTO_ACCOUNT_ID": ACCOUNT}
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    with tempfile.TemporaryDirectory() as tmp:
        account = Path(tmp) / f"{shape}-{n}.json"
        account.write_text(json.dumps(doc))
        moto, url = _start_moto(env)
        try:
            iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                               aws_access_key_id="testing", aws_secret_access_key="testing")
            started = time.perf_counter()
            seed_from_snapshot(iam, parse_details(doc, str(account)))
            seeded = time.perf_counter() - started
            storage = Path(tmp) / "pmapper-storage"
            hook = Path(tmp) / "hook"
            hook.mkdir()
            (hook / "sitecustomize.py").write_text(_MOTO_GAP_HOOK)
            pm_env = {**env, "XDG_DATA_HOME": str(storage), "HOME": tmp, "PYTHONPATH": str(hook)}
            cpu0 = _cpu_of(moto.pid)
            pm = _timed([*pmapper, "graph", "create", "--localstack-endpoint", url,
                         "--include-regions", "us-east-1"], pm_env, timeout)
            moto_cpu = _cpu_of(moto.pid) - cpu0
        finally:
            moto.kill()
            moto.wait()
        ours = _timed([sys.executable, "-m", "deescalate", "scan", str(account), "--format", "json",
                       "-o", str(Path(tmp) / "report.json")], env, timeout)
        findings = "?"
        if not ours["killed"] and (Path(tmp) / "report.json").is_file():
            findings = str(len(json.loads((Path(tmp) / "report.json").read_text())["findings"]))
    print(f"{shape} | {principals} principals (seeded into moto in {seeded:.0f} s)")
    if pm["killed"]:
        print(f"  pmapper graph create: killed after {timeout:.0f} s")
    else:
        summary = " ".join(line.strip() for line in pm["output"].splitlines()
                           if any(w in line for w in ("Nodes", "Edges", "Groups", "Policies", "# of")))
        print(f"  pmapper graph create: exit {pm['code']}, wall {pm['wall']:.1f} s, CPU {pm['cpu']:.1f} s, "
              f"peak RSS {pm['rss_mib']:.0f} MiB; moto server CPU meanwhile {moto_cpu:.1f} s"
              + (f"; {summary}" if summary else ""))
        if pm["code"] != 0:
            print("  pmapper output (last lines):\n    " + "\n    ".join(pm["output"].splitlines()[-8:]))
    if ours["killed"]:
        print(f"  deescalate scan: killed after {timeout:.0f} s")
    else:
        print(f"  deescalate scan (JSON report): exit {ours['code']}, wall {ours['wall']:.1f} s, "
              f"CPU {ours['cpu']:.1f} s, peak RSS {ours['rss_mib']:.0f} MiB, {findings} finding(s)")
    print(f"  load average {os.getloadavg()[0]:.1f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Time PMapper's graph create next to deescalate scan.")
    p.add_argument("--sizes", type=int, nargs="+", default=[1000])
    p.add_argument("--shape", default="default", help="account shape from benchmarks/shapes.py")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--pmapper", help="the pmapper command (default: `pmapper` on PATH, or $PMAPPER)")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per run before it is killed")
    args = p.parse_args(argv)
    command = args.pmapper or os.environ.get("PMAPPER") or shutil.which("pmapper")
    if not command or not (Path(command).is_file() or shutil.which(command)):
        print("bench_pmapper: skipped: PMapper is not installed (install principalmapper==1.1.5 in a "
              "separate Python 3.9 venv and pass --pmapper /path/to/venv/bin/pmapper)")
        return 0
    for n in args.sizes:
        measure(n, args.shape, args.seed, [command], args.timeout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
