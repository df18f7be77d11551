"""Benchmark the split analysis of a generated organization: a local process pool and a local Dask cluster.

    python benchmarks/bench_org.py --accounts 1000 --principals 100 --workers 1,2 --dask-workers 1,2

generates the organization (benchmarks/generate_org.py) into --dir (kept and reused when it
already holds one of the same size), then analyses it with `analysis.split.analyze_accounts` in
each mode: `pool N` (--workers N: N = 1 runs in this process) and `dask N` (a Dask LocalCluster of
N single-threaded worker processes, started here). For each run it prints wall time, CPU time
(this process + the workers), peak RSS of this process and of each worker (VmHWM / ru_maxrss),
the load average before and after, and the report's size; and it checks every mode's Report is
equal to the first one's. `--json FILE` appends one JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from generate_org import DEFAULT_SHAPES, generate_org

from deescalate.analysis.split import analyze_accounts, local_map, organization_refs
from deescalate.model import Report


def _proc(pid: int) -> tuple[float, int]:
    """(CPU seconds, peak RSS in KiB) of a live process, from /proc."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    cpu = (int(stat[11]) + int(stat[12])) / tick
    hwm = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
    return cpu, hwm


def _self_usage() -> tuple[float, int]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, r.ru_maxrss


def _worker_usage() -> tuple[float, int]:  # run on each Dask worker
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime, r.ru_maxrss


def run_pool(org: Path, workers: int) -> tuple[Report, dict[str, Any]]:
    refs, infos = organization_refs(org)
    if workers == 1:
        report = analyze_accounts(refs, mapper=local_map, source=str(org), infos=infos)
        return report, {"workers": []}
    with ProcessPoolExecutor(max_workers=workers) as pool:

        def run(func: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
            return list(pool.map(func, items))

        report = analyze_accounts(refs, mapper=run, source=str(org), infos=infos)
        usage = [_proc(pid) for pid in list(pool._processes)]  # the pool's worker pids
    return report, {"workers": usage}


def run_dask(org: Path, workers: int) -> tuple[Report, dict[str, Any]]:
    from distributed import Client, LocalCluster

    started = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, Client(cluster) as client:
        startup = time.perf_counter() - started
        before = client.run(_worker_usage)

        def run(func: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
            return list(client.gather(client.map(func, list(items), pure=False)))

        refs, infos = organization_refs(org)
        report = analyze_accounts(refs, mapper=run, source=str(org), infos=infos)
        after = client.run(_worker_usage)
    usage = [(after[w][0] - before[w][0], after[w][1]) for w in sorted(after)]
    return report, {"workers": usage, "cluster_startup_s": round(startup, 2)}


def measure(org: Path, mode: str, n: int) -> tuple[Report, dict[str, Any]]:
    load_before = os.getloadavg()
    cpu0, _ = _self_usage()
    started = time.perf_counter()
    report, extra = (run_pool if mode == "pool" else run_dask)(org, n)
    wall = time.perf_counter() - started
    cpu1, rss = _self_usage()
    workers = extra.pop("workers")
    row = {
        "mode": f"{mode} {n}",
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu1 - cpu0 + sum(c for c, _ in workers), 2),
        "main_cpu_s": round(cpu1 - cpu0, 2),
        "main_peak_rss_mib": round(rss / 1024),
        "worker_cpu_s": [round(c, 2) for c, _ in workers],
        "worker_peak_rss_mib": [round(m / 1024) for _, m in workers],
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "findings": len(report.findings),
        "edges": len(report.edges),
        "admins": len(report.admins),
        **extra,
    }
    return report, row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--accounts", type=int, default=1000)
    p.add_argument("--principals", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--shapes", default=",".join(DEFAULT_SHAPES))
    p.add_argument("--dir", help="where to generate the organization (default: /tmp, named by size)")
    p.add_argument("--workers", default="2", help="comma-separated process pool sizes (1 = in this process)")
    p.add_argument("--dask-workers", default="2", help="comma-separated Dask cluster sizes ('' for none)")
    p.add_argument("--json", help="append one JSON line per run to this file")
    args = p.parse_args(argv)
    org = Path(args.dir or f"/tmp/deescalate-org-{args.accounts}x{args.principals}-s{args.seed}")
    expected_file = org / "expected.json"
    if expected_file.is_file() and json.loads(expected_file.read_text()).get("accounts") == args.accounts:
        expected = json.loads(expected_file.read_text())
        print(f"reusing {org}: {expected['principals']} principals")
    else:
        if org.exists():
            shutil.rmtree(org)
        started = time.perf_counter()
        expected = generate_org(org, accounts=args.accounts, principals=args.principals, seed=args.seed,
                                shapes=tuple(s for s in args.shapes.split(",") if s))
        print(f"generated {org}: {expected['principals']} principals in {time.perf_counter() - started:.1f}s")
    runs = [("pool", int(n)) for n in args.workers.split(",") if n] + [
        ("dask", int(n)) for n in args.dask_workers.split(",") if n
    ]
    first: Report | None = None
    for mode, n in runs:
        report, row = measure(org, mode, n)
        row.update(accounts=args.accounts, principals=expected["principals"], cpus=os.cpu_count())
        if first is None:
            first = report
            found = {(f.principal, p[-1].target) for f in report.findings for p in f.paths}
            lost = [x for x in expected["paths"] if (x["principal"], x["reaches"]) not in found]
            trapped = [x for x in expected["traps"] if (x["principal"], x["must_not_reach"]) in found]
            row.update(planted_found=len(expected["paths"]) - len(lost), planted=len(expected["paths"]),
                       traps_reported=len(trapped))
        row["same_report"] = report == first
        print(json.dumps(row), flush=True)
        if args.json:
            with open(args.json, "a") as out:
                out.write(json.dumps(row) + "\n")
        if report != first:
            print("error: this mode's report differs from the first mode's", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
