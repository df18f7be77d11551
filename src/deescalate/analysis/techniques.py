"""Technique metadata for reports: a title, a description, a remediation hint and a link per id.

The table lives in `data/techniques.json` (built from the project's reference list of 117 known
techniques; the prose is ours), the one source of titles: checkers (analysis/edges/) and
composition name ids only, and `detected: false` marks a known technique no checker finds yet
(tests/unit/analysis/test_techniques.py ties the registry to the table both ways). Ids follow
pathfinding.cloud's where it has one; the others are ours (`X-...`). Reports must cope with ids
the table does not know (a snapshot of edges from another version), so `technique()` never fails:
it returns a generic entry instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

_GENERIC_LINK = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html"


@dataclass(frozen=True, slots=True, kw_only=True)
class Technique:
    id: str
    title: str
    kind: str  # SELF, P2P, P2P-svc, P2P-res, ... as in the reference list
    permissions: str
    reaches: str
    description: str
    remediation: str
    link: str
    iam_vulnerable: str | None = None
    detected: bool = True  # False: a known technique no checker of this version finds
    known: bool = True  # False for an id the table does not list


@cache
def _table() -> dict[str, Technique]:
    # Read lazily (no import-time I/O) and once.
    text = resources.files("deescalate").joinpath("data/techniques.json").read_text(encoding="utf-8")
    table: dict[str, Technique] = {}
    for row in json.loads(text):
        t = Technique(
            id=row["id"],
            title=row["title"],
            kind=row["kind"],
            permissions=row["permissions"],
            reaches=row["reaches"],
            description=row["description"],
            remediation=row["remediation"],
            link=row["link"],
            iam_vulnerable=row.get("iam_vulnerable"),
            detected=bool(row.get("detected", True)),
        )
        for key in (row["id"], *row.get("aliases", ())):
            table[key.lower()] = t
    return table


def all_techniques() -> tuple[Technique, ...]:
    """Every known technique once, in the reference order."""
    seen: dict[str, Technique] = {}
    for t in _table().values():
        seen.setdefault(t.id, t)
    return tuple(seen.values())


def technique(technique_id: str) -> Technique:
    """Metadata for an id (case-insensitive, aliases accepted); a generic entry when unknown."""
    found = _table().get(technique_id.lower())
    if found is not None:
        return found
    return Technique(
        id=technique_id,
        title=f"escalation technique {technique_id}",
        kind="unknown",
        permissions="",
        reaches="",
        description=f"An escalation edge of technique {technique_id}; see the finding for the "
        "permissions it needs.",
        remediation="Deny at least one permission the edge requires (see `deescalate plan`).",
        link=_GENERIC_LINK,
        known=False,
    )
