"""Shared by `scan`, `plan` and `explain`: `--workers N` and `--dask ADDRESS`, the Mapper that runs the
split analysis's per-account tasks (analysis/split.py).

Not a subcommand. `--workers 1` runs every task in this process; N > 1 a local process pool
(concurrent.futures); `--dask ADDRESS` an existing Dask distributed cluster (the `dask` extra:
`pip install 'iam-deescalate[dask]'`), whose workers must see the snapshot directory at the same
path. The result is the same whichever runs the tasks.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, TypeVar

from deescalate.errors import DeescalateError, UsageError
from deescalate.model import Report

log = logging.getLogger("deescalate.analysis")

T = TypeVar("T")
R = TypeVar("R")
Mapper = Callable[[Callable[[T], R], Sequence[T]], list[R]]


def cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _workers(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of worker processes, 1 or more")
    return n


def add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workers",
        type=_workers,
        default=None,
        metavar="N",
        help="for an organization snapshot: analyse the accounts in N local processes "
        f"(default: the CPU count, here {cpu_count()}; 1 = in this process)",
    )
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="for an organization snapshot: run the per-account analysis on the Dask "
        "distributed cluster whose scheduler is at ADDRESS (e.g. tcp://10.0.0.5:8786); its "
        "workers must read the snapshot at the same path (needs `pip install "
        "'iam-deescalate[dask]'`)",
    )


def _local(func: Callable[[T], R], items: Sequence[T]) -> list[R]:
    return [func(item) for item in items]


class RunnerError(DeescalateError):
    """The pool or the cluster failed (a worker died, the scheduler went away)."""


@contextmanager
def mapper(args: argparse.Namespace) -> Iterator[Mapper[Any, Any]]:
    """The Mapper `--workers`/`--dask` ask for, open for the duration of the block."""
    if args.dask and args.workers is not None:
        raise UsageError("give --workers (a local process pool) or --dask (a Dask cluster), not both")
    if args.dask:
        with _dask(args.dask) as run:
            yield run
        return
    workers = args.workers if args.workers is not None else cpu_count()
    if workers == 1:
        log.info("per-account analysis in this process")
        yield _local
        return
    log.info("per-account analysis in %d local processes", workers)
    with ProcessPoolExecutor(max_workers=workers) as pool:

        def run(func: Callable[[T], R], items: Sequence[T]) -> list[R]:
            try:
                return list(pool.map(func, items))
            except BrokenProcessPool as e:
                raise RunnerError(
                    f"a worker process of --workers {workers} died ({e}); out of memory? try fewer --workers"
                ) from e

        yield run


@contextmanager
def _dask(address: str) -> Iterator[Mapper[Any, Any]]:
    try:
        from distributed import Client
    except ImportError as e:
        raise UsageError("--dask needs Dask: pip install 'iam-deescalate[dask]'") from e
    try:
        client = Client(address, timeout="20s")  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as e:
        raise RunnerError(f"--dask {address}: cannot reach the Dask scheduler ({e})") from e
    log.info(
        "per-account analysis on the Dask cluster at %s (%d worker(s))",
        address,
        len(client.scheduler_info().get("workers", {})),
    )

    def run(func: Callable[[T], R], items: Sequence[T]) -> list[R]:
        futures = client.map(func, list(items), pure=False)
        try:
            return list(client.gather(futures))  # type: ignore[no-untyped-call]
        except DeescalateError:
            raise
        except Exception as e:  # KilledWorker, a lost scheduler, ...: one line, never a traceback
            raise RunnerError(
                f"--dask {address}: the cluster failed during the analysis ({type(e).__name__}: {e})"
            ) from e

    try:
        yield run
    finally:
        client.close()  # type: ignore[no-untyped-call]


def organization_dir(args: argparse.Namespace) -> str | None:
    """The organization snapshot directory SNAPSHOT names (analysed account by account), or None.

    `--workers`/`--dask` given for anything else is a usage error: they would silently do nothing.
    """
    from deescalate.snapshot.load import is_org_dir

    paths: list[str] = list(getattr(args, "snapshots", None) or [])
    if len(paths) == 1 and not getattr(args, "demo", False) and is_org_dir(paths[0]):
        return paths[0]
    if args.workers is not None or args.dask:
        raise UsageError(
            "--workers and --dask apply to an organization snapshot directory (collect "
            "--organization); give one as the only SNAPSHOT"
        )
    return None


def analyze_organization(root: str, args: argparse.Namespace) -> Report:
    """The organization's report, its accounts analysed by the Mapper `--workers`/`--dask` ask for."""
    from deescalate.analysis.split import analyze_accounts, organization_refs

    refs, infos = organization_refs(root)
    log.info("organization %s: %d account(s) collected, %d not", root, len(refs), len(infos) - len(refs))
    started = time.perf_counter()
    with mapper(args) as run:
        report = analyze_accounts(
            refs, targets=tuple(args.targets), mapper=run, source=root, infos=infos
        )
    log.info(
        "analysis done: %d admin(s), %d finding(s), %d edge(s) in %.2fs",
        len(report.admins),
        len(report.findings),
        len(report.edges),
        time.perf_counter() - started,
    )
    return report
