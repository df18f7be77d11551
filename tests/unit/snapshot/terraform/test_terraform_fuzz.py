"""A plan is hostile input: any value of any type anywhere gives a plan or one clear error, never a crash."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from deescalate.errors import DeescalateError
from deescalate.snapshot.terraform import load_terraform_plan

ASSETS = Path(__file__).resolve().parents[3] / "assets/terraform"
ODD: list[Any] = [
    None,
    0,
    -1,
    1.5,
    True,
    "",
    "x",
    "arn:aws:iam::123456789012:role/x",
    [],
    {},
    [None],
    {"a": None},
    "{not json",
    '{"Statement": 5}',
    [[[]]],
    {"references": 5},
    {"constant_value": {"x": []}},
]


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*here, i))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


@pytest.mark.parametrize(
    "name", ["whole_account.json", "change_plan.json", "resource_kinds.json", "unknown_values.json"]
)
def test_mutated_plans_load_or_fail_cleanly(tmp_path: Path, name: str) -> None:
    original = json.loads((ASSETS / name).read_text())
    paths = [p for p in _paths(original) if p]
    rng = random.Random(name)
    target = tmp_path / "plan.json"
    for _ in range(60):
        doc = copy.deepcopy(original)
        for path in rng.sample(paths, 3):
            try:
                _set(doc, path, copy.deepcopy(rng.choice(ODD)))
            except (KeyError, IndexError, TypeError):
                continue  # an earlier mutation replaced a parent
        target.write_text(json.dumps(doc))
        try:
            load_terraform_plan(target, account_id="123456789012")
        except DeescalateError as e:
            assert str(e) and "\n" not in str(e)


def test_deep_nesting_is_an_error_not_a_crash(tmp_path: Path) -> None:
    deep = '{"a":' * 5000 + "true" + "}" * 5000
    text = json.dumps(
        {
            "format_version": "1.2",
            "resource_changes": [
                {
                    "address": "aws_iam_user.u",
                    "type": "aws_iam_user",
                    "name": "u",
                    "change": {"actions": ["create"], "after": {"name": "u"}, "after_unknown": {"tags": "X"}},
                }
            ],
        }
    )
    target = tmp_path / "deep.json"
    target.write_text(text.replace('"X"', deep))
    with pytest.raises(DeescalateError):
        load_terraform_plan(target, account_id="123456789012")
