"""Benchmark the reports end to end: `deescalate scan` of a generated account, one format per run.

    python benchmarks/bench_reports.py [--sizes 1000 10000] [--seed 1] [--out DIR]
    python benchmarks/bench_scan.py --sizes 1000 10000 --reports DIR     # the same, after the scan bench

For each size: writes the generated account (benchmarks/generate_account.py) as a raw
get-account-authorization-details file (not timed), then for each format (text and HTML in both
details, JSON, SARIF) runs, in a fresh process, what `deescalate scan FILE --format F -o OUT` does
(load the file, analyse, gate, write the report through `deescalate.report.write`) and reports the
report's size, the load + analysis time, the writing time, the process's whole wall time (start,
imports, load, analysis, writing) and its peak RSS (wait4's ru_maxrss).
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

RUNS: tuple[tuple[str, str | None], ...] = (
    ("text", "summary"), ("text", "full"), ("html", "summary"), ("html", "full"), ("json", None),
    ("sarif", None),
)
def child(account: str, fmt: str, detail: str, out: str) -> None:
    """In the measured process: load, analyse, gate and write as `scan` does; print the timings."""
    from deescalate.analysis.analyze import analyze
    from deescalate.report import Detail, RenderOptions, write
    from deescalate.report.gate import evaluate
    from deescalate.snapshot import load_snapshot

    started, cpu0 = time.perf_counter(), time.process_time()
    report = analyze(load_snapshot(account))
    gate = evaluate(report)
    analysed, cpu1 = time.perf_counter(), time.process_time()
    options = RenderOptions(detail=Detail(detail)) if detail != "-" else RenderOptions()
    with open(out, "w", encoding="utf-8") as f:
        write(fmt, report, f, gate=gate, options=options)
    done, cpu2 = time.perf_counter(), time.process_time()
    print(json.dumps({"analysis": analysed - started, "write": done - analysed,
                      "analysis_cpu": cpu1 - cpu0, "write_cpu": cpu2 - cpu1,
                      "findings": len(report.findings), "edges": len(report.edges)}))


def run_one(account: Path, fmt: str, detail: str | None, out: Path) -> dict[str, float | str | None]:
    cmd = [sys.executable, __file__, "--child", str(account), fmt, detail or "-", str(out)]
    with tempfile.TemporaryFile("w+") as got, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=got, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        got.seek(0)
        err.seek(0)
        text, problem = got.read(), err.read()
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {code}: {problem}")
    timings = json.loads(text)
    return {
        "format": fmt,
        "detail": detail or "-",
        "bytes": float(out.stat().st_size),
        "analysis": float(timings["analysis"]),
        "write": float(timings["write"]),
        "analysis_cpu": float(timings["analysis_cpu"]),
        "write_cpu": float(timings["write_cpu"]),
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mib": usage.ru_maxrss / 1024,
        "findings": float(timings["findings"]),
    }


def measure(sizes: list[int], seed: int, out: Path) -> list[tuple[int, dict[str, float | str | None]]]:
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in sizes:
        account = out / f"account-{n}.json"
        account.write_text(json.dumps(generate(n, seed=seed)), encoding="utf-8")
        for fmt, detail in RUNS:
            report = out / f"report-{n}-{detail or 'all'}.{fmt}"
            row = run_one(account, fmt, detail, report)
            rows.append((n, row))
            print(_line(n, row), flush=True)
    return rows


def _line(n: int, r: dict[str, float | str | None]) -> str:
    size = float(r["bytes"] or 0)
    shown = f"{size / 1e6:.2f} MB" if size >= 1e5 else f"{size / 1e3:.0f} KB"

    def s(key: str) -> str:
        return f"{float(r[key] or 0):.2f} s ({float(r[key + '_cpu'] or 0):.2f} s)"

    whole = f"{float(r['wall'] or 0):.1f} s ({float(r['cpu'] or 0):.1f} s)"
    return (f"| {n:,} | {r['format']} | {r['detail']} | {shown} | {s('analysis')} | {s('write')} | "
            f"{whole} | {float(r['rss_mib'] or 0):.0f} MiB |")


HEADER = ("| principals | format | --detail | report size | load + analysis, wall (CPU) "
          "| writing, wall (CPU) | whole process, wall (CPU) | peak RSS |\n"
          "|---|---|---|---|---|---|---|---|")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Time `deescalate scan` per report format on generated accounts.")
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path,
                   help="directory for the accounts and reports (default: a temporary one)")
    args = p.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    print(HEADER, flush=True)
    if args.out:
        measure(args.sizes, args.seed, args.out)
    else:
        with tempfile.TemporaryDirectory(prefix="deescalate-bench-") as tmp:
            measure(args.sizes, args.seed, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
