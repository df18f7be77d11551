"""Fewer full garbage collections while an analysis or a plan builds what it keeps.

CPython's cyclic garbage collector has three generations. A collection of the oldest one (a "full"
collection) examines every container object the process holds, and it runs again each time
`threshold2` (10 by default) collections of the middle generation have happened and the objects
promoted since the last one exceed a quarter of the old generation
(https://docs.python.org/3/library/gc.html#gc.set_threshold, and the interpreter's own notes on
its collector: https://devguide.python.org/internals/garbage-collector/). An analysis builds edges,
decisions and per-principal results that stay alive until it ends, so every full collection walks a
heap that only grows, and finds almost nothing to free: before this module, 25 full collections
took 11.5 s of the 44 s CPU of a 10,000-principal `plan` (the `mesh` shape, 1.27 GB peak RSS), 30
took 15.4 of 65 s (`iam-writers`, 3,000 principals), 11 took 1.4 of 6.8 s of a `groups` scan.

Inside `fewer_full_collections()` the oldest generation is not collected automatically; the two
young ones are, as before, so reference cycles that die young (the usual garbage) are still freed.
The cost is memory held by cycles that became garbage after reaching the old generation; on every
benchmark shape peak RSS stayed within 1% (docs/analysis.md, "Performance"). Only code that reads
files and computes runs inside it: `collect`, `apply` and a live `scan`'s collection (boto3
clients and thread pools, and their cycles) keep the interpreter's defaults.
The previous thresholds come back when the outermost use ends (uses may nest, and may come from
several threads: a counter under a lock decides which exit restores them).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# An old-generation threshold no run reaches (it counts middle-generation collections; a C int).
NEVER = 1_000_000_000


class _State:
    """How many uses are open, and the thresholds to restore when the last one ends."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.saved: tuple[int, int, int] | None = None


_STATE = _State()


@contextmanager
def fewer_full_collections() -> Iterator[None]:
    """Run the body with the oldest generation's automatic collections off (module docstring)."""
    st = _STATE
    with st.lock:
        if st.depth == 0:
            st.saved = gc.get_threshold()
            gc.set_threshold(st.saved[0], st.saved[1], NEVER)
        st.depth += 1
    try:
        yield
    finally:
        with st.lock:
            st.depth -= 1
            if st.depth == 0 and st.saved is not None:
                gc.set_threshold(*st.saved)
                st.saved = None


__all__ = ["NEVER", "fewer_full_collections"]
