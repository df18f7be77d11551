"""The technique table the reports draw their titles, help texts and links from."""

from __future__ import annotations

import dataclasses

from builders import Account

from deescalate.analysis import compose
from deescalate.analysis.edges import REGISTRY, EdgeContext, unexamined
from deescalate.analysis.edges.base import Checker
from deescalate.analysis.techniques import all_techniques, technique


def test_table_is_complete_and_unique() -> None:
    ts = all_techniques()
    ids = [t.id for t in ts]
    assert len(ids) == len(set(ids)) == 120  # the reference list, plus the three composition techniques
    for t in ts:
        assert t.title and t.permissions and t.reaches and t.description and t.remediation
        assert t.link.startswith("https://")
        assert t.kind in {"SELF", "P2P", "P2P-svc", "P2P-res", "SELF/P2P", "P2P-svc/res", "P2P (partial)", "P2P (org)"}
    # the 31 IAM-Vulnerable techniques are all there
    assert sum(1 for t in ts if t.iam_vulnerable and not t.iam_vulnerable.startswith("(")) >= 31


def test_lookup_is_case_insensitive_with_aliases_and_a_generic_fallback() -> None:
    assert technique("IAM-002").id == "iam-002"
    assert technique("iam-setdefaultversion").id == "X-SetDefaultPolicyVersion"
    assert "pathfinding.cloud" in technique("ec2-001").link
    unknown = technique("new-999")
    assert not unknown.known and unknown.id == "new-999" and unknown.link.startswith("https://")


def _emitted() -> dict[str, str]:
    """Every technique id an edge can carry -> where it comes from."""
    out = {i: f"checker {c.technique}" for c in REGISTRY for i in c.ids}
    out.update(dict.fromkeys(compose.TECHNIQUES, "composition"))
    return out


def test_every_id_the_analysis_emits_has_a_row() -> None:
    missing = {i: where for i, where in _emitted().items() if not technique(i).known}
    assert not missing, f"ids without a row in data/techniques.json: {missing}"


def test_every_row_is_found_by_a_checker_or_says_it_is_not() -> None:
    emitted = {i.lower() for i in _emitted()}
    for t in all_techniques():
        found = t.id.lower() in emitted or any(technique(i).id == t.id for i in emitted)
        assert found is t.detected, f"{t.id}: detected={t.detected} in the table, found={found}"


def test_checkers_take_their_titles_from_the_table() -> None:
    assert "title" not in {f.name for f in dataclasses.fields(Checker)}
    for c in REGISTRY:
        assert c.title == " / ".join(dict.fromkeys(technique(i).title for i in c.ids))
        assert not c.title.startswith("escalation technique")  # the unknown-id fallback


def test_the_unexamined_note_names_the_tables_title() -> None:
    snap = Account(has_inventory=False).build()
    notes = unexamined(EdgeContext(snap))
    lambda_003 = next(n for n in notes if n.startswith("lambda-003 "))
    assert lambda_003.startswith(f"lambda-003 ({technique('lambda-003').title}): the snapshot has no ")
