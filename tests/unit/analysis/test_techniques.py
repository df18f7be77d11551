"""The technique table the reports draw their titles, help texts and links from."""

from __future__ import annotations

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
