"""The hitting-set reductions stay about linear when one grant is shared by very many sets (issue 12).

Composed edges through one helper put the same key (say `sts:AssumeRole` on the helper) into tens
of thousands of alternatives: on a 1,000-principal `iam-writers` account, one principal group's
instance had 149,390 sets over 35,876 keys, two keys each in 42,987 of them. Dropping supersets
then checked every set against every kept set sharing a key with it, which never finished. The
guard counts the subset checks (a deterministic work count) at two sizes 4x apart.
"""

from __future__ import annotations

from deescalate.remediate.hitting import Key, minimum_hitting_set, reduce_sets

HOT: Key = ("sts:AssumeRole", "arn:aws:iam::111111111111:role/helper")


class _Counted(frozenset[Key]):
    """A set that counts the subset tests made against it."""

    checks = 0

    def __le__(self, other: object) -> bool:
        _Counted.checks += 1
        return frozenset.__le__(self, other)  # type: ignore[operator]


def _instance(n: int) -> list[frozenset[Key]]:
    sets: list[frozenset[Key]] = []
    for i in range(n):
        x: Key = ("iam:CreateAccessKey", f"arn:aws:iam::111111111111:user/u{i}")
        y: Key = ("iam:UpdateLoginProfile", f"arn:aws:iam::111111111111:user/u{i}")
        z: Key = ("iam:PutUserPolicy", f"arn:aws:iam::111111111111:user/u{i}")
        sets += [_Counted({HOT, x}), _Counted({HOT, x, y}), _Counted({HOT, z})]
    return sets


def _checks(n: int) -> int:
    _Counted.checks = 0
    kept = reduce_sets(_instance(n))
    assert len(kept) == 2 * n  # every {HOT, x, y} is a superset of {HOT, x}
    return _Counted.checks


def test_superset_removal_is_about_linear_with_a_shared_key() -> None:
    small, large = _checks(500), _checks(2000)
    # Linear is 4x; checking every kept set that shares HOT was 16x.
    assert large <= 6 * small, (small, large)


def test_shared_key_instance_is_solved_exactly() -> None:
    """The instance's optimum is the shared key alone (one deny hits every set)."""
    solution = minimum_hitting_set(_instance(300), lambda k: 1)
    assert solution.chosen == (HOT,)
    assert solution.optimal
