"""The same account in the `aws`, `aws-us-gov` and `aws-cn` partitions: equal findings and plans.

Every ARN the tool builds (resources a technique would create, AdministratorAccess, the policy
apply attaches, the role of an assumed-role caller, resources read from a snapshot) takes its
partition from an ARN of the account, never `arn:aws:`.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html
Each snapshot is the `aws` one with every `arn:aws:` rewritten; the outputs, rewritten back, must
be identical. The technique cases run with their key resources named exactly, so an `arn:aws:`
built by the tool stops matching the account's own ARNs and the finding would vanish.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from builders import Account, allow, deny, doc, role_arn, trust_aws
from technique_cases import CASES, Case, attacker, statements, world

from deescalate.analysis import compose
from deescalate.analysis.analyze import analyze
from deescalate.arn import partition_of
from deescalate.model import ADMIN, Snapshot
from deescalate.remediate.plan import build_plan, default_analyze
from deescalate.remediate.planfile import plan_to_json
from deescalate.remediate.quotas import managed_policy_arn
from deescalate.report.json_report import report_obj
from deescalate.snapshot import load_snapshot

PARTITIONS = ("aws-us-gov", "aws-cn")
DEMO = Path(__file__).resolve().parents[2] / "src" / "deescalate" / "data" / "demo"


def repartition(obj: Any, partition: str) -> Any:
    """A deep copy of a model value with every `arn:aws:` in its strings moved to `partition`."""
    if isinstance(obj, Enum):
        return obj
    if isinstance(obj, str):
        return obj.replace("arn:aws:", f"arn:{partition}:")
    if isinstance(obj, tuple):
        return tuple(repartition(x, partition) for x in obj)
    if isinstance(obj, list):
        return [repartition(x, partition) for x in obj]
    if isinstance(obj, Mapping):
        return MappingProxyType({repartition(k, partition): repartition(v, partition) for k, v in obj.items()})
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {f.name: repartition(getattr(obj, f.name), partition) for f in dataclasses.fields(obj) if f.init}
        return dataclasses.replace(obj, **changes)
    return obj


def back(text: str, partition: str) -> str:
    return text.replace(f"arn:{partition}:", "arn:aws:")


def outputs(snap: Snapshot) -> tuple[str, str]:
    report = analyze(snap)
    plan = plan_to_json(build_plan(snap, report, default_analyze()))
    for pp in plan["principals"]:
        # The recorded state digests policy documents, whose ARNs name the partition; so does the
        # seal in each deny statement's Sid (Deescalate<n>x<seal>, a hash of the statements).
        pp["state"] = [line for line in pp.get("state", ()) if not line.startswith("inline ")]
        for st in (pp.get("document") or {}).get("Statement", ()):
            st["Sid"] = re.sub(r"x[0-9a-f]{12}$", "x<seal>", st["Sid"])
    return json.dumps(report_obj(report), sort_keys=True), json.dumps(plan, sort_keys=True)


def case_snapshot(case: Case, *, scoped: bool) -> Snapshot:
    """The technique's key action allowed on exactly its resources; with `scoped`, the other
    actions allowed on `arn:aws:*` (the account's partition) instead of `*`."""
    acct = Account()
    world(acct)
    kwargs = case.setup(acct)
    key = list(case.exact) if len(case.exact) > 1 else case.exact[0]
    sts = statements(case, key_resource=key)
    if scoped:
        sts = [sts[0], *({**st, "Resource": "arn:aws:*"} for st in sts[1:])]
    attacker(acct, case, doc(*sts), **kwargs)
    return acct.build()


def _found(snap: Snapshot) -> bool:
    return any(f.principal.endswith("/attacker") for f in analyze(snap).findings)


EXACT = [c for c in CASES if c.exact]


def test_the_cases_find_something() -> None:
    assert all(_found(case_snapshot(c, scoped=False)) for c in EXACT)
    assert sum(_found(case_snapshot(c, scoped=True)) for c in EXACT) >= len(EXACT) // 2


@pytest.mark.parametrize("scoped", [False, True], ids=["exact", "scoped"])
@pytest.mark.parametrize("case", EXACT, ids=str)
def test_every_technique_is_found_alike_in_every_partition(case: Case, scoped: bool) -> None:
    snap = case_snapshot(case, scoped=scoped)
    report, plan = outputs(snap)
    for partition in PARTITIONS:
        moved = repartition(snap, partition)
        assert moved.partition == partition
        got_report, got_plan = outputs(moved)
        assert back(got_report, partition) == report, f"{case.id} in {partition}"
        assert back(got_plan, partition) == plan, f"{case.id} in {partition}"


def test_a_collected_snapshot_reads_its_partition(tmp_path: Path) -> None:
    """The demo account as collected files, in each partition: same findings and plan."""
    report, plan = outputs(load_snapshot(DEMO))
    assert ADMIN in report
    for partition in PARTITIONS:
        root = tmp_path / partition
        shutil.copytree(DEMO, root)
        for f in root.rglob("*.json"):
            f.write_text(f.read_text().replace("arn:aws:", f"arn:{partition}:"))
        snap = load_snapshot(root)
        assert snap.partition == partition
        assert {partition_of(a) for a in snap.principal_arns()} == {partition}
        got_report, got_plan = outputs(snap)
        assert back(got_report, partition).replace(str(root), str(DEMO)) == report
        assert back(got_plan, partition).replace(str(root), str(DEMO)) == plan


@pytest.mark.parametrize("partition", ["aws", *PARTITIONS])
def test_the_policy_apply_attaches_is_in_the_principals_partition(partition: str) -> None:
    principal = f"arn:{partition}:iam::111111111111:role/app"
    assert managed_policy_arn("111111111111", principal) == (
        f"arn:{partition}:iam::111111111111:policy/deescalate-deny-role-app"
    )


@pytest.mark.parametrize("partition", PARTITIONS)
def test_a_many_target_helpers_pattern_cut_is_in_the_helpers_partition(
    partition: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past compose.MAX_HELPER_ROUTES ways into a helper, its cut is its rewrite of every role: a
    pattern the plan must write in the account's partition (`arn:aws:` there would match nothing,
    and the plan would never verify)."""
    monkeypatch.setattr(compose, "MAX_HELPER_ROUTES", 0)
    acct = Account()
    me, helper = role_arn("attacker"), role_arn("helper")
    for i in range(5):
        acct.role(f"r{i}", trust_aws(me))
    acct.role("helper", trust_aws(me), doc(allow("iam:PutRolePolicy", role_arn("*")), deny("iam:PutRolePolicy", helper)))
    acct.role("attacker", trust_aws(me), doc(allow("sts:AssumeRole", "*")))
    snap = acct.build()
    report, plan = outputs(snap)
    assert '"arn:aws:iam::111111111111:role/*"' in plan
    moved = repartition(snap, partition)
    got_report, got_plan = outputs(moved)
    assert f'"arn:{partition}:iam::111111111111:role/*"' in got_plan
    assert back(got_report, partition) == report
    assert back(got_plan, partition) == plan
