"""Whatever a details file or a snapshot directory holds, loading it succeeds or raises a DeescalateError.

Hypothesis replaces one node of a valid document with arbitrary JSON, or cuts the text short; a
KeyError/TypeError/AttributeError escaping the loader would be a traceback for the user.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from snapshot_samples import details

from deescalate.errors import DeescalateError
from deescalate.snapshot import demo_path, load_snapshot

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


def _replace(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return doc


def _load_or_deescalate_error(path: Path) -> None:
    try:
        load_snapshot(path)
    except DeescalateError as e:
        assert str(e) and "\n" not in str(e).strip()


SAMPLE = details()
SAMPLE_PATHS = _paths(SAMPLE)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(SAMPLE_PATHS) - 1), value=JSON)
def test_any_node_replaced_in_a_details_file(index: int, value: Any) -> None:
    doc = _replace(json.loads(json.dumps(SAMPLE)), SAMPLE_PATHS[index], value)
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "gaad.json"
        f.write_text(json.dumps(doc))
        _load_or_deescalate_error(f)


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(0, len(json.dumps(SAMPLE)) - 1))
def test_any_truncation_of_a_details_file(cut: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "gaad.json"
        f.write_text(json.dumps(SAMPLE)[:cut])
        _load_or_deescalate_error(f)


DEMO_FILES = sorted(str(p.relative_to(demo_path())) for p in demo_path().rglob("*.json"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), value=JSON)
def test_any_node_replaced_in_a_snapshot_directory(data: st.DataObject, value: Any) -> None:
    rel = data.draw(st.sampled_from(DEMO_FILES))
    doc = json.loads((demo_path() / rel).read_text())
    path = data.draw(st.sampled_from(_paths(doc)))
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "snap"
        shutil.copytree(demo_path(), d)
        (d / rel).write_text(json.dumps(_replace(doc, path, value)))
        _load_or_deescalate_error(d)


def test_a_hostile_key_in_the_place_keeps_the_error_on_one_line() -> None:
    """Found by the fuzzer above: a map keyed by user name put a "\\n" key into the error's place."""
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "snap"
        shutil.copytree(demo_path(), d)
        (d / "iam" / "get-login-profile.json").write_text(json.dumps({"\n\x1b[2J": False}))
        try:
            load_snapshot(d)
        except DeescalateError as e:
            assert "get-login-profile.json" in str(e) and "\n" not in str(e) and "\x1b" not in str(e)
        else:
            raise AssertionError("a login-profile entry that is not an object must be refused")
