"""planfile.layout_json writes what json.dumps(indent=2) writes (the JSON report relies on it)."""

from __future__ import annotations

import enum
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deescalate.remediate.planfile import layout_json


class Kind(enum.Enum):
    A = "a"


class Level(enum.IntEnum):
    LOW = 1


class Tag(enum.StrEnum):
    X = "x\u00e9"


leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.sampled_from([Level.LOW, Tag.X])
)
keys = st.text() | st.integers(-5, 5) | st.booleans() | st.none() | st.floats(allow_nan=True)
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4)
    | st.lists(inner, max_size=3).map(tuple)
    | st.dictionaries(keys, inner, max_size=4),
    max_leaves=30,
)


@given(values, st.sampled_from(["", "  ", "    "]))
@settings(max_examples=600, deadline=None)
def test_the_bytes_of_json_dumps_with_an_indent(value: Any, indent: str) -> None:
    out = [indent]
    layout_json(value, indent, out)
    assert "".join(out) == indent + json.dumps(value, indent=2).replace("\n", "\n" + indent)


@pytest.mark.parametrize("value", [{(1, 2): 3}, {"a": {Kind.A: 1}}, [object()]])
def test_what_json_dumps_refuses_it_refuses(value: Any) -> None:
    with pytest.raises(TypeError):
        json.dumps(value, indent=2)
    with pytest.raises(TypeError):
        layout_json(value, "", [])
