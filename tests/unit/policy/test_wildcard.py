"""The one wildcard matcher: agrees with a plain reference matcher, and stays linear on hostile patterns."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deescalate.policy.match import ActionMatcher, ResourceMatcher, wildcard_match
from deescalate.policy.variables import LookupFn
from deescalate.policy.wildcard import Glob, GlobSet, arn_like


def reference(pattern: str, value: str) -> bool:
    """IAM's `*`/`?` semantics, written the obvious way (dynamic programming over both strings)."""
    # ok[j]: pattern[:i] matches value[:j]
    ok = [True] + [False] * len(value)
    for ch in pattern:
        if ch == "*":
            for j in range(1, len(value) + 1):
                ok[j] = ok[j] or ok[j - 1]
        else:
            ok = [False] + [ok[j - 1] and (ch == "?" or ch == value[j - 1]) for j in range(1, len(value) + 1)]
    return ok[len(value)]


ALPHABET = "ab*?:/."
patterns = st.text(alphabet=ALPHABET, max_size=12)
values = st.text(alphabet="ab:/.*?", max_size=16)


@settings(max_examples=600, deadline=None)
@given(patterns, values)
def test_glob_agrees_with_the_reference_matcher(pattern: str, value: str) -> None:
    assert Glob(pattern).match(value) is reference(pattern, value)
    assert wildcard_match(pattern, value) is reference(pattern, value)


@settings(max_examples=300, deadline=None)
@given(st.lists(patterns, min_size=1, max_size=5), values)
def test_glob_set_is_any_of_its_patterns(pats: list[str], value: str) -> None:
    assert GlobSet(pats).match(value) is any(reference(p, value) for p in pats)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="ab*?", max_size=4), st.booleans()), max_size=4), values)
def test_literal_parts_keep_their_wildcards_literal(parts: list[tuple[str, bool]], value: str) -> None:
    # An inactive part matches only itself: the same as the reference with `*`/`?` made unique.
    g = Glob.from_parts(parts)
    expected_pattern = "".join(t if active else t.replace("*", "\x01").replace("?", "\x02") for t, active in parts)
    expected_value = value.replace("*", "\x01").replace("?", "\x02")
    # A literal `*` in the value stands for itself: translate it the same way on both sides.
    assert g.match(value) is reference(expected_pattern, expected_value)


def test_case_folding_and_literal_metacharacters() -> None:
    assert wildcard_match("S3:Get*", "s3:getobject", ignore_case=True)
    assert not wildcard_match("S3:Get*", "s3:getobject")
    assert not wildcard_match("a[bc]d", "abd")  # `[` is literal in IAM, unlike fnmatch
    assert wildcard_match("a[bc]d", "a[bc]d")
    assert not wildcard_match("a.b", "axb")


def test_arn_like_wildcards_stay_inside_their_part() -> None:
    assert arn_like("arn:aws:iam::*:role/*", "arn:aws:iam::111111111111:role/a/b")
    assert not arn_like("arn:aws:*:us-east-1:1:x", "arn:aws:sns:us-east-1:extra:1:x")
    assert arn_like("arn:aws:s3:::b*", "arn:aws:s3:::bucket:with:colons")


HOSTILE = "arn:aws:iam::111111111111:user/" + "*a*b" * 12 + "*c"
LONG_PATH = "arn:aws:iam::111111111111:user/" + "ab" * 2000  # no `c`: every split must fail


def _cpu(fn: object, repeat: int) -> float:
    assert callable(fn)
    t = time.process_time()
    for _ in range(repeat):
        fn()
    return time.process_time() - t


def test_hostile_patterns_match_in_linear_time() -> None:
    # A backtracking regex tries every way of placing 24 stars: it does not finish. Here the cost
    # is a few passes over the value; allow a generous bound, and check growth is about linear.
    g = Glob(HOSTILE)
    short = "arn:aws:iam::111111111111:user/" + "ab" * 200
    assert not g.match(LONG_PATH)
    assert _cpu(lambda: g.match(LONG_PATH), 20) < 0.5
    t_long = _cpu(lambda: g.match(LONG_PATH), 200)
    t_short = _cpu(lambda: g.match(short), 200)
    # 10x the length: linear growth gives ~10x; quadratic would give ~100x.
    assert t_long < 40 * max(t_short, 1e-4)


def test_hostile_resource_through_the_evaluator_matchers_is_fast() -> None:
    class Empty(LookupFn):
        def __init__(self) -> None:
            self.given, self.derived, self.resource_derived = {}, {"aws:username": ("c",)}, None
            self.closed_keys, self.closed_prefixes = frozenset(), ()
            self.memo_key = self.resource_memo_key = None

    rm = ResourceMatcher((HOSTILE, HOSTILE.replace("*c", "*${aws:username}")), substitute=True)
    am = ActionMatcher(("iam:" + "*a*b" * 12 + "*c",))
    t = time.process_time()
    for _ in range(50):
        assert rm.matches(LONG_PATH, Empty()) is False
        assert not am.matches("iam:" + "ab" * 60, "iam", "ab" * 60)
    assert time.process_time() - t < 1.0
    assert rm.matches(LONG_PATH + "c", Empty()) is True


@pytest.mark.parametrize(("pattern", "value", "expected"), [
    ("*", "", True),
    ("?", "", False),
    ("a*", "a", True),
    ("*a", "ba", True),
    ("a*a", "a", False),
    ("a?c*d?", "abcxxdz", True),
    ("**a**", "xay", True),
    ("a*?b", "ab", False),
    ("a*?b", "axb", True),
])
def test_edge_cases(pattern: str, value: str, expected: bool) -> None:
    assert Glob(pattern).match(value) is expected is reference(pattern, value)


def test_a_scan_with_hostile_resource_patterns_finishes_in_well_under_a_second() -> None:
    # Anyone who can write a policy could stall the CI gate with such a Resource: the whole
    # analysis (admins, every checker's edges, findings) over users with long paths stays fast.
    from policy_builders import SnapshotBuilder, doc, stmt

    from deescalate.analysis.analyze import analyze

    b = SnapshotBuilder()
    hostile = "arn:aws:iam::111111111111:role/" + "*a*b" * 12 + "*c"
    b.user("mallory", doc(stmt(action=["iam:*", "sts:AssumeRole"], resource=[hostile, hostile + "?"])))
    long_path = "/" + "ab" * 240 + "/"
    for i in range(20):
        b.role(f"victim{i}", doc(stmt()), path=long_path,
               trust=doc(stmt(action="sts:AssumeRole", resource=None, Principal={"AWS": "111111111111"})))
    snap = b.build()
    t = time.process_time()
    report = analyze(snap)
    spent = time.process_time() - t
    assert len(report.admins) == 20
    assert spent < 1.0, spent
