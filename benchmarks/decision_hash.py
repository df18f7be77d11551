"""Hash every decision the analysis makes, to show a change to it keeps the results identical.

    python benchmarks/decision_hash.py [--sizes 300 1000] [--shapes default mfa-wildcard ...]
                                       [--fixtures] [--dump DIR]
    python benchmarks/decision_hash.py --compare BEFORE_DIR AFTER_DIR

For each shape of benchmarks/shapes.py at each size (seed 1), and the demo account, it analyses the
generated account and prints four hashes:

    admins     every admin and target verdict (ARN, reason)
    reach      every finding's principal, whether it is conditional, and the sinks it reaches
    findings   the above plus each finding's techniques, shortest paths (each step: source, target,
               technique, via, conditional) and escalation edges (target, technique, via, conditions)
    edges      every edge of Report.edges: source, target, technique, via, conditions, alternatives

With `--fixtures` it also runs the technique tests (tests/techniques: IAM-Vulnerable's 31
techniques in every variant and trap, the added techniques, composition, plans) and hashes every
report `analyze()` returns during them, in order (the plans' verification analyses included).
`--dump DIR` writes each case's semantic form as JSON; `--compare` says, case by case, whether two
dumps are identical and, where not, what differs (principals at risk, conditional flags, sinks
reached, paths, edges). Compare the printed lines of two runs (before and after a change) with `diff`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from deescalate.model import ADMIN, Edge, Report  # noqa: E402


def _step(e: Edge) -> list[Any]:
    return [e.source, e.target, e.technique, e.via or "", e.conditional]


def semantic(report: Report) -> dict[str, Any]:
    """The report as plain JSON values, in a stable order."""
    sinks = {v.arn for v in report.admins} | {ADMIN}
    findings = {}
    for f in report.findings:
        reached = sorted({p[-1].target for p in f.paths if p})
        findings[f.principal] = {
            "conditional": f.conditional,
            "reaches": reached,
            "techniques": list(f.techniques),
            "paths": [[_step(e) for e in p] for p in f.paths],
            "escalations": sorted(
                [e.target, e.technique, e.via or "", list(e.conditions)] for e in f.edges if e.target in sinks
            ),
        }
    edges = sorted(
        [
            e.source,
            e.target,
            e.technique,
            e.via or "",
            list(e.conditions),
            [[[g.action, g.resource, [list(map(str, c)) for c in g.context], g.principal] for g in alt]
             for alt in e.alternatives],
        ]
        for e in report.edges
    )
    return {
        "admins": sorted([v.arn, v.reason, v.target_only] for v in report.admins),
        "findings": findings,
        "edges": edges,
    }


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def hashes(sem: dict[str, Any]) -> dict[str, str]:
    reach = {p: [f["conditional"], f["reaches"]] for p, f in sem["findings"].items()}
    return {
        "admins": _digest(sem["admins"]),
        "reach": _digest(reach),
        "findings": _digest(sem["findings"]),
        "edges": _digest(sem["edges"]),
    }


def _line(name: str, sem: dict[str, Any], seconds: float) -> str:
    h = hashes(sem)
    counts = f"findings={len(sem['findings'])} edges={len(sem['edges'])}"
    return f"{name:28} " + " ".join(f"{k}={v}" for k, v in h.items()) + f"  {counts}  ({seconds:.1f}s)"


def _dump(out: Path | None, name: str, sem: dict[str, Any]) -> None:
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{name}.json").write_text(json.dumps(sem, indent=1, sort_keys=True))


def run_fixtures(out: Path | None) -> str:
    """Run tests/techniques with analyze() wrapped; hash every report it returns, in order."""
    import pytest

    import deescalate.analysis.analyze as analysis

    current = [""]
    seen: list[str] = []
    sems: dict[str, list[dict[str, Any]]] = {}
    original: Callable[..., Report] = analysis.analyze

    def wrapped(*args: Any, **kwargs: Any) -> Report:
        report = original(*args, **kwargs)
        sem = semantic(report)
        sems.setdefault(current[0], []).append(sem)
        seen.append(json.dumps(hashes(sem), sort_keys=True))
        return report

    class Plugin:
        def pytest_configure(self) -> None:
            analysis.analyze = wrapped  # before the test modules import it by name

        def pytest_runtest_logstart(self, nodeid: str) -> None:
            current[0] = nodeid

    repo = HERE.parent
    code = pytest.main(
        ["-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--hypothesis-seed=0",
         str(repo / "tests" / "techniques")],
        plugins=[Plugin()],
    )
    analysis.analyze = original
    if out is not None:
        _dump(out, "fixtures", {"tests": sems})
    per = {k: _digest([json.loads(s)[k] for s in seen]) for k in ("admins", "reach", "findings", "edges")}
    return f"{'fixtures (' + str(len(seen)) + ' reports)':28} " + " ".join(
        f"{k}={v}" for k, v in per.items()
    ) + f"  pytest exit {int(code)}"


def _compare_one(name: str, a: dict[str, Any], b: dict[str, Any]) -> str:
    """What differs between two semantic forms of one account's report."""
    if a == b:
        return f"{name}: identical"
    fa, fb = a["findings"], b["findings"]
    common = set(fa) & set(fb)
    flips = sorted(p for p in common if fa[p]["conditional"] != fb[p]["conditional"])
    admin_a = {p for p in common if ADMIN in fa[p]["reaches"]}
    admin_b = {p for p in common if ADMIN in fb[p]["reaches"]}
    changed = sorted(p for p in common if fa[p] != fb[p])
    fewer = sum(1 for p in changed if set(fb[p]["reaches"]) < set(fa[p]["reaches"]))
    more = sorted(p for p in changed if not set(fb[p]["reaches"]) <= set(fa[p]["reaches"]))
    kept = [(p, path) for p in common for path in fb[p]["paths"]]
    same = sum(1 for p, path in kept if path in fa[p]["paths"])
    longer = sorted(
        {
            p
            for p, path in kept
            if path and any(q and q[-1][1] == path[-1][1] and len(q) < len(path) for q in fa[p]["paths"])
        }
    )
    key = [(e[0], e[1], e[2], e[3]) for e in a["edges"]], [(e[0], e[1], e[2], e[3]) for e in b["edges"]]
    ea, eb = set(key[0]), set(key[1])
    return "\n".join(
        [
            f"{name}: differs",
            f"  admins equal: {a['admins'] == b['admins']}",
            f"  principals at risk equal: {set(fa) == set(fb)} ({len(fa)} / {len(fb)})",
            f"  'conditional' differs for: {flips}",
            f"  reaching ADMIN (self-escalation) differs for: {sorted(admin_a ^ admin_b)}",
            f"  findings changed: {len(changed)}, of which reach fewer individual sinks: {fewer}",
            f"  findings reaching a sink they did not before: {more}",
            f"  paths kept: {len(kept)}, identical to before: {same}; longer than before: {longer}",
            f"  edges: {len(ea)} -> {len(eb)}; after, not before: {len(eb - ea)}",
        ]
    )


def compare(before: Path, after: Path) -> int:
    for path in sorted(before.glob("*.json")):
        other = after / path.name
        if not other.exists():
            print(f"{path.stem}: missing in {after}")
            continue
        a, b = json.loads(path.read_text()), json.loads(other.read_text())
        if "tests" in a:
            ta, tb = a["tests"], b["tests"]
            same = [t for t in ta if ta[t] == tb.get(t)]
            print(f"{path.stem}: {len(same)} of {len(ta)} tests' reports identical ({len(tb)} tests after)")
            for t in sorted(set(ta) | set(tb)):
                ra, rb = ta.get(t, []), tb.get(t, [])
                if ra == rb:
                    continue
                print(f"  {t}: {len(ra)} reports before, {len(rb)} after")
                for i, (x, y) in enumerate(zip(ra, rb, strict=False)):
                    if x != y:
                        print(_compare_one(f"    report {i}", x, y))
            continue
        print(_compare_one(path.stem, a, b))
    return 0


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--compare"]:
        return compare(Path(argv[1]), Path(argv[2]))
    from generate_account import snapshot
    from shapes import SHAPES

    from deescalate.analysis.analyze import analyze
    from deescalate.snapshot import load_demo

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[300, 1000])
    p.add_argument("--shapes", nargs="*", default=list(SHAPES))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--fixtures", action="store_true", help="also hash every report of tests/techniques")
    p.add_argument("--dump", type=Path, metavar="DIR", help="write each case's semantic form as JSON")
    args = p.parse_args(argv)
    started = time.process_time()
    sem = semantic(analyze(load_demo()))
    _dump(args.dump, "demo", sem)
    print(_line("demo", sem, time.process_time() - started), flush=True)
    for shape in args.shapes:
        for n in args.sizes:
            snap = snapshot(n, seed=args.seed, shape=shape)
            started = time.process_time()
            sem = semantic(analyze(snap))
            name = f"{shape}-{n}"
            _dump(args.dump, name, sem)
            print(_line(name, sem, time.process_time() - started), flush=True)
    if args.fixtures:
        print(run_fixtures(args.dump), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
