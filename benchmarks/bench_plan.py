"""Benchmark `deescalate plan` end to end on generated accounts.

    python benchmarks/bench_plan.py [--sizes 1000 5000 10000] [--shape SHAPE] [--seed 1] [--timeout S]

For each size: writes the generated account (benchmarks/generate_account.py with --shape, see
benchmarks/shapes.py) as a raw get-account-authorization-details file (not timed), then runs
`deescalate plan FILE -o PLAN` in a fresh process and prints one row: principals, the process's
wall time, CPU time (user + system, from wait4) and peak RSS, the plan's principals with denies,
denies, verification rounds and whether it verified, and the load average when the row ended.
A size that runs past `--timeout` seconds is killed and reported, and larger sizes are skipped.
Deterministic: the same seed gives the same accounts and plans (benchmarks/plan_hashes.py hashes them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_account import generate
from subproc import wait_with_deadline

HEADER = ("shape | principals | plan wall s | plan CPU s | peak RSS MiB | principals with denies | denies | "
          "verify rounds | verified | load avg")


def run_one(account: Path, out: Path, timeout: float) -> dict[str, object] | None:
    cmd = [sys.executable, "-m", "deescalate", "-v", "plan", str(account), "-o", str(out)]
    with tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        waited = wait_with_deadline(proc, timeout)
        if waited is None:
            return None
        code, usage = waited
        wall = time.perf_counter() - started
        err.seek(0)
        log = err.read()
    if code not in (0, 1) or not out.is_file():
        raise SystemExit(f"bench_plan: `{' '.join(cmd)}` exited {code}:\n{log[-2000:]}")
    plan = json.loads(out.read_text())
    return {
        "wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mib": usage.ru_maxrss / 1024,
        "planned": len(plan["principals"]), "denies": sum(len(p["denies"]) for p in plan["principals"]),
        "rounds": log.count("verify round"), "verified": plan["verified"], "load": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Time `deescalate plan` on generated accounts.")
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--shape", default="default", help="account shape from benchmarks/shapes.py")
    p.add_argument("--timeout", type=float, default=600.0,
                   help="seconds one size may take before it is killed and larger sizes skipped (600)")
    args = p.parse_args(argv)
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            doc = (generate(n, seed=args.seed) if args.shape == "default"
                   else _shaped(args.shape, n, args.seed))
            account = Path(tmp) / f"{args.shape}-{n}.json"
            account.write_text(json.dumps(doc))
            principals = len(doc["UserDetailList"]) + len(doc["RoleDetailList"])
            row = run_one(account, Path(tmp) / f"plan-{n}.json", args.timeout)
            if row is None:
                print(f"{args.shape} | {principals} | killed after {args.timeout:.0f} s: "
                      "larger sizes skipped", flush=True)
                break
            print(f"{args.shape} | {principals} | {row['wall']:.1f} | {row['cpu']:.1f} | "
                  f"{row['rss_mib']:.0f} | {row['planned']} | {row['denies']} | {row['rounds']} | "
                  f"{row['verified']} | {row['load']:.1f}", flush=True)
    return 0


def _shaped(shape: str, n: int, seed: int) -> dict[str, object]:
    from shapes import shaped

    return shaped(shape, n, seed)


if __name__ == "__main__":
    raise SystemExit(main())
