"""Benchmark the whole analysis (admins, every technique's edges, findings) on generated accounts.

    python benchmarks/bench_scan.py [--sizes 1000 10000] [--shape SHAPE] [--seed 1] [--timeout S]
                                    [--tracemalloc] [--reports DIR]

For each size, one fresh process (so each row's peak RSS is its own): generates the account
(benchmarks/generate_account.py with --shape, benchmarks/shapes.py; not timed), then times
`deescalate.analysis.analyze.analyze(snapshot)` and prints one row: principals, analysis wall time,
CPU time (time.process_time), the process's peak RSS (wait4's ru_maxrss: generated snapshot
included), edges, findings, and the load average when the row ended. With `--tracemalloc`, also
the peak Python heap during a second, traced run (tracing slows Python down, so it is not the
timed run). A size that runs past `--timeout` seconds is killed and reported as such, and the
larger sizes of that shape are skipped. With `--reports DIR`, then times `deescalate scan` writing
each report format (benchmarks/bench_reports.py) into DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from subproc import wait_with_deadline

HEADER = "shape | principals | analyze wall s | analyze CPU s | peak RSS MiB | edges | findings | load avg"


def child(n: int, seed: int, shape: str, traced: bool) -> None:
    """In the measured process: generate, analyse (timed), print the figures as one JSON line."""
    import tracemalloc

    from generate_account import snapshot

    from deescalate.analysis.analyze import analyze

    snap = snapshot(n, seed=seed, shape=shape)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    report = analyze(snap)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    peak_heap = None
    if traced:
        tracemalloc.start()
        analyze(snap)
        peak_heap = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(json.dumps({
        "principals": len(snap.users) + len(snap.roles), "users": len(snap.users), "roles": len(snap.roles),
        "groups": len(snap.groups), "policies": len(snap.policies), "wall": wall, "cpu": cpu,
        "heap": peak_heap, "edges": len(report.edges), "findings": len(report.findings),
        "admins": len(report.admins),
        "techniques": dict(sorted(Counter(e.technique for e in report.edges).items())),
    }))


def run_one(n: int, seed: int, shape: str, traced: bool, timeout: float) -> dict[str, object] | None:
    """One size in a fresh process; None when it ran past `timeout`."""
    cmd = [sys.executable, __file__, "--child", str(n), str(seed), shape, "1" if traced else "0"]
    with tempfile.TemporaryFile("w+") as got:
        proc = subprocess.Popen(cmd, stdout=got)
        waited = wait_with_deadline(proc, timeout)
        if waited is None:
            return None
        code, usage = waited
        if code != 0:
            raise SystemExit(f"bench_scan: the run of {shape} at {n} failed (exit {code})")
        got.seek(0)
        row: dict[str, object] = json.loads(got.read().strip().splitlines()[-1])
    row["rss_mib"] = usage.ru_maxrss / 1024
    row["load"] = os.getloadavg()[0]
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Time deescalate's analysis on generated accounts.")
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--shape", default="default",
                   help="account shape from benchmarks/shapes.py (default, groups, groups-ro, mfa-wildcard, "
                   "iam-writers, chains, mesh, replicated)")
    p.add_argument("--tracemalloc", action="store_true",
                   help="also report the peak Python heap of a second, traced run")
    p.add_argument("--no-tracemalloc", action="store_true", help=argparse.SUPPRESS)  # the old default
    p.add_argument("--timeout", type=float, default=600.0,
                   help="seconds one size may take before it is killed and larger sizes skipped (600)")
    p.add_argument("--reports", type=Path, metavar="DIR",
                   help="then time each report format end to end (bench_reports.py), files in DIR")
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1")
        return 0
    args = p.parse_args(argv)
    print(HEADER, flush=True)
    for n in args.sizes:
        row = run_one(n, args.seed, args.shape, args.tracemalloc, args.timeout)
        if row is None:
            print(f"{args.shape} | {n} | killed after {args.timeout:.0f} s: larger sizes skipped", flush=True)
            break
        heap = f" (peak heap {row['heap'] / 2**20:.1f} MiB)" if isinstance(row["heap"], (int, float)) else ""
        print(f"{args.shape} | {row['principals']} | {row['wall']:.2f} | {row['cpu']:.2f} | "
              f"{row['rss_mib']:.0f}{heap} | {row['edges']} | {row['findings']} | {row['load']:.1f}",
              flush=True)
        print(f"    users={row['users']} roles={row['roles']} groups={row['groups']} "
              f"policies={row['policies']} admins={row['admins']} techniques={row['techniques']}", flush=True)
    if args.reports:
        from bench_reports import HEADER as REPORT_HEADER
        from bench_reports import measure

        print(REPORT_HEADER, flush=True)
        measure(args.sizes, args.seed, args.reports)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
