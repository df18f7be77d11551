"""A small deterministic layered layout of the escalation subgraph, for the HTML report's SVG.

Columns by distance to an admin or target (admins on the right, the farthest principal at risk on
the left), rows ordered by name and then by one barycentre sweep so edges cross less. No
randomness: the same report always draws the same picture. Output is geometry only; the HTML
renderer does the drawing and the escaping.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

from deescalate.model import ADMIN, Edge
from deescalate.report.common import kind_of, short_name

NODE_W = 210
NODE_H = 46
COL_GAP = 190
ROW_GAP = 26
MARGIN = 30


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    arn: str
    role: str  # "admin", "target", "self-admin" (the pseudo node), "risk", "other"
    label: str
    kind: str
    x: float
    y: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    edge: Edge
    path: str  # SVG path data
    label_x: float
    label_y: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Layout:
    nodes: tuple[Node, ...]
    links: tuple[Link, ...]
    width: float
    height: float


def layout(
    edges: tuple[Edge, ...], admins: tuple[str, ...], targets: tuple[str, ...], at_risk: frozenset[str]
) -> Layout:
    names: set[str] = set(admins) | set(targets)
    for e in edges:
        names.update((e.source, e.target))
    sinks = set(admins) | set(targets) | ({ADMIN} & names)
    # Distance to the nearest sink, walking edges backwards (BFS: deterministic, linear).
    back: dict[str, list[str]] = defaultdict(list)
    for e in edges:
        back[e.target].append(e.source)
    dist: dict[str, int] = dict.fromkeys(sinks, 0)
    queue = deque(sorted(sinks))
    while queue:
        n = queue.popleft()
        for m in sorted(back[n]):
            if m not in dist:
                dist[m] = dist[n] + 1
                queue.append(m)
    far = max(dist.values(), default=0)
    for n in names:
        dist.setdefault(n, far + 1)  # cannot reach a sink: put it at the far left
    depth = max(dist.values(), default=0)
    columns: dict[int, list[str]] = defaultdict(list)
    for n in sorted(names, key=lambda a: (short_name(a).lower(), a)):
        columns[dist[n]].append(n)
    # One sweep from the admins outwards: order each column by the mean row of its targets.
    row: dict[str, float] = {n: float(i) for i, n in enumerate(columns[0])}
    fwd: dict[str, list[str]] = defaultdict(list)
    for e in edges:
        fwd[e.source].append(e.target)
    for layer in range(1, depth + 1):
        col = columns[layer]
        idx = {n: i for i, n in enumerate(col)}

        def key(n: str, idx: dict[str, int] = idx) -> tuple[float, int]:
            ys = [row[t] for t in fwd[n] if t in row]
            return (sum(ys) / len(ys) if ys else float(len(idx)), idx[n])

        col.sort(key=key)
        for i, n in enumerate(col):
            row[n] = float(i)
    tallest = max((len(c) for c in columns.values()), default=1)
    height = MARGIN * 2 + tallest * NODE_H + (tallest - 1) * ROW_GAP
    pos: dict[str, tuple[float, float]] = {}
    nodes: list[Node] = []
    for layer, col in sorted(columns.items()):
        x = MARGIN + (depth - layer) * (NODE_W + COL_GAP)
        top = (height - (len(col) * NODE_H + (len(col) - 1) * ROW_GAP)) / 2
        for i, n in enumerate(col):
            y = top + i * (NODE_H + ROW_GAP)
            pos[n] = (x, y)
            if n == ADMIN:
                role, label = "self-admin", "admin (by self-escalation)"
            elif n in admins:
                role, label = "admin", short_name(n)
            elif n in targets:
                role, label = "target", short_name(n)
            else:
                role, label = ("risk" if n in at_risk else "other"), short_name(n)
            nodes.append(Node(arn=n, role=role, label=label, kind=kind_of(n), x=x, y=y))
    width = MARGIN * 2 + (depth + 1) * NODE_W + depth * COL_GAP
    links: list[Link] = []
    seen: dict[tuple[str, str], int] = defaultdict(int)
    # Placed labels (centre x, y, half width) in a grid of `cell`-wide, 20-high cells, so checking a
    # new label against its neighbours costs the same however many labels there are.
    placed: dict[tuple[int, int], list[tuple[float, float, float]]] = defaultdict(list)
    cell = max((8 + 7 * len(e.technique) + 4 for e in edges), default=1.0)  # >= the widest overlap
    for e in sorted(edges, key=lambda e: (e.source, e.target, e.technique, e.via or "")):
        k = seen[(e.source, e.target)]
        seen[(e.source, e.target)] += 1
        ln = _link(e, pos[e.source], pos[e.target], k)
        # Labels of edges converging on one node would sit on each other: nudge down until free.
        half = (8 + 7 * len(e.technique)) / 2
        lx, ly = ln.label_x, ln.label_y
        for _ in range(12):
            if not _overlaps(placed, cell, lx, ly, half):
                break
            ly += 20
        placed[(int(lx // cell), int(ly // 20))].append((lx, ly, half))
        links.append(Link(edge=e, path=ln.path, label_x=lx, label_y=ly))
    return Layout(nodes=tuple(nodes), links=tuple(links), width=width, height=height)


def _overlaps(placed: dict[tuple[int, int], list[tuple[float, float, float]]], cell: float, lx: float,
              ly: float, half: float) -> bool:
    """Does a label centred at (lx, ly) overlap one placed? Only the 3 x 3 cells around it can hold one."""
    cx, cy = int(lx // cell), int(ly // 20)
    for gx in (cx - 1, cx, cx + 1):
        for gy in (cy - 1, cy, cy + 1):
            for px, py, ph in placed.get((gx, gy), ()):
                if abs(lx - px) < half + ph + 4 and abs(ly - py) < 20:
                    return True
    return False


def _link(e: Edge, src: tuple[float, float], dst: tuple[float, float], k: int) -> Link:
    # Parallel edges between one pair fan out: alternate above and below the straight line.
    offset = 0.0 if k == 0 else (1 if k % 2 else -1) * ((k + 1) // 2) * 22.0
    x0, y0 = src[0] + NODE_W, src[1] + NODE_H / 2
    x3, y3 = dst[0], dst[1] + NODE_H / 2
    if x3 > x0:
        dx = (x3 - x0) / 2
        c1 = (x0 + dx, y0 + offset * 2)
        c2 = (x3 - dx, y3 + offset * 2)
    else:
        # Same column or backwards: loop out to the right and back in from the left.
        c1 = (x0 + 120, y0 + 60 + offset * 2)
        c2 = (x3 - 120, y3 + 60 + offset * 2)
    # The label sits 40% of the way along the curve: nearer the source than the crowded target.
    t = 0.4
    w0, w1, w2, w3 = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
    lx = w0 * x0 + w1 * c1[0] + w2 * c2[0] + w3 * x3
    ly = w0 * y0 + w1 * c1[1] + w2 * c2[1] + w3 * y3
    d = f"M {x0:.1f} {y0:.1f} C {c1[0]:.1f} {c1[1]:.1f}, {c2[0]:.1f} {c2[1]:.1f}, {x3:.1f} {y3:.1f}"
    return Link(edge=e, path=d, label_x=lx, label_y=ly)
