"""Benchmark the whole analysis (admins, every technique's edges, findings) on generated accounts.

    python benchmarks/bench_scan.py [--sizes 1000 10000] [--seed 1] [--reports DIR]

For each size: generates the account (benchmarks/generate_account.py, not timed), then times
`deescalate.analysis.analyze.analyze(snapshot)` and reports wall time, CPU time, peak Python heap during
the analysis (tracemalloc, measured in a second run since tracing slows Python down) and peak RSS
of the process, with the number of edges and findings. With `--reports DIR`, then times
`deescalate scan` writing each report format (benchmarks/bench_reports.py) into DIR.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_account import snapshot

from deescalate.analysis.analyze import analyze


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Time deescalate's analysis on generated accounts.")
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--shape", default="default",
                   help="account shape from benchmarks/shapes.py (default, groups, groups-ro, mfa-wildcard, "
                   "iam-writers, chains, mesh, replicated)")
    p.add_argument("--no-tracemalloc", action="store_true", help="skip the second, traced run")
    p.add_argument("--reports", type=Path, metavar="DIR",
                   help="then time each report format end to end (bench_reports.py), files in DIR")
    args = p.parse_args(argv)
    for n in args.sizes:
        snap = snapshot(n, seed=args.seed, shape=args.shape)
        wall0, cpu0 = time.perf_counter(), time.process_time()
        report = analyze(snap)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        peak_heap = None
        if not args.no_tracemalloc:
            tracemalloc.start()
            analyze(snap)
            peak_heap = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        techniques = Counter(e.technique for e in report.edges)
        size = f"users={len(snap.users)} roles={len(snap.roles)} groups={len(snap.groups)}"
        size += f" policies={len(snap.policies)} resources={len(snap.resources)}"
        print(f"principals={len(snap.users) + len(snap.roles)} ({size})")
        print(
            f"  analyze: wall {wall:.2f} s, cpu {cpu:.2f} s"
            + (f", peak heap {peak_heap / 2**20:.1f} MiB" if peak_heap is not None else "")
            + f", process max RSS {rss_mb:.0f} MiB"
        )
        print(
            f"  admins={len(report.admins)} edges={len(report.edges)} findings={len(report.findings)} "
            f"techniques={dict(sorted(techniques.items()))}"
        )
    if args.reports:
        from bench_reports import HEADER, measure

        print(HEADER, flush=True)
        measure(args.sizes, args.seed, args.reports)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
