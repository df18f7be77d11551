"""Hash the content of `deescalate plan` on generated accounts and the IAM-Vulnerable fixtures.

    python benchmarks/plan_hashes.py [--cases default:1000 groups:1000 ...] [--no-fixtures] [-o FILE]

A change meant to make planning faster must not change any plan: run this before and after and
compare the output (`diff`). For each generated account (shape:size, benchmarks/shapes.py) and each
IAM-Vulnerable technique fixture in three variants (tests/support/technique_cases.py, as
tests/unit/remediate/test_plan_techniques.py builds them), the plan is built with the library's
`build_plan` (what `deescalate plan` runs) and two SHA-256 hashes are printed:

- `full`: the whole plan file content (`planfile.plan_to_json`: every deny with its why, scores,
  alternatives, cuts; placement and document; the instance's edges; verified and remaining),
  without the snapshot's path;
- `core`: only (principal, action, resource, apply, disruption, narrowness) of every deny, and
  `verified`, so a difference in wording can be told from a different plan.

with the number of principals planned and denies. Deterministic: the same code gives the same lines.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "support"))

from deescalate.analysis.analyze import analyze  # noqa: E402
from deescalate.model import Plan, Snapshot  # noqa: E402
from deescalate.remediate.plan import build_plan, default_analyze  # noqa: E402
from deescalate.remediate.planfile import plan_to_json  # noqa: E402

DEFAULT_CASES = ("default:1000", "groups:1000", "iam-writers:1000", "chains:1000", "mesh:1000",
                 "replicated:1000", "groups-ro:1000", "default:2000")


def hashes(plan: Plan) -> tuple[str, str, int, int]:
    raw: dict[str, Any] = plan_to_json(plan)
    raw.pop("snapshot", None)
    full = hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()
    core_items = [
        [p["principal"], [[d["action"], d["resource"], d["apply"], d.get("score")] for d in p["denies"]]]
        for p in raw["principals"]
    ]
    core = hashlib.sha256(json.dumps([raw["verified"], core_items], sort_keys=True).encode()).hexdigest()
    return full, core, len(plan.principals), sum(len(p.denies) for p in plan.principals)


def plan_of(snapshot: Snapshot) -> Plan:
    return build_plan(snapshot, analyze(snapshot), default_analyze())


def generated(shape: str, n: int) -> Snapshot:
    from generate_account import snapshot

    return snapshot(n, seed=1, shape=shape)


def fixtures() -> list[tuple[str, Snapshot]]:
    from technique_cases import CASES, fixture

    return [
        (f"fixture {case.id} {variant}", fixture(case, variant)[0])
        for case in CASES
        for variant in ("plain", "split", "exact")
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Hash plans before and after a change (they must not differ).")
    p.add_argument("--cases", nargs="*", default=list(DEFAULT_CASES), metavar="SHAPE:SIZE")
    p.add_argument("--no-fixtures", action="store_true", help="skip the IAM-Vulnerable fixtures")
    p.add_argument("-o", dest="out", type=Path, help="also write the lines to FILE")
    args = p.parse_args(argv)
    lines: list[str] = []

    def emit(name: str, plan: Plan) -> None:
        full, core, principals, denies = hashes(plan)
        line = (f"{name}: principals={principals} denies={denies} verified={plan.verified} "
                f"core={core[:16]} full={full[:16]}")
        lines.append(line)
        print(line, flush=True)

    for case in args.cases:
        shape, _, size = case.partition(":")
        emit(f"{shape} {size}", plan_of(generated(shape, int(size))))
    if not args.no_fixtures:
        for name, snap in fixtures():
            emit(name, plan_of(snap))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
