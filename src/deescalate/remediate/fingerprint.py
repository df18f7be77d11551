"""A principal's permission-defining IAM state as a few comparable lines.

The plan records, per principal, what the snapshot saw: each inline policy (name and a digest of
its document), each attached managed policy, the permissions boundary, and (for users) the groups.
`apply` fetches the same facts live and refuses the plan when they differ, naming the lines that
changed: a plan made from an older snapshot must not be applied to a principal that has since
changed. Our own `deescalate-…` policies are left out, so re-applying a plan that was already
applied still matches.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from deescalate.model import POLICY_PREFIX, Role, Snapshot, User


def document_digest(document: Any) -> str:
    """A digest of a policy document's meaning-preserving canonical JSON (keys sorted, no spaces)."""
    doc = json.loads(document) if isinstance(document, str) else document
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def state_lines(
    *,
    inline: Mapping[str, Any],
    managed: Iterable[str],
    boundary: str | None,
    groups: Iterable[str] = (),
) -> tuple[str, ...]:
    """The sorted state lines; `inline` maps policy name to its document (object or JSON text)."""
    lines = [f"inline {name} {document_digest(doc)}" for name, doc in inline.items()
             if not name.startswith(POLICY_PREFIX)]
    lines += [f"managed {arn}" for arn in managed if not arn.rsplit("/", 1)[-1].startswith(POLICY_PREFIX)]
    if boundary:
        lines.append(f"boundary {boundary}")
    lines += [f"group {arn}" for arn in groups]
    return tuple(sorted(lines))


def snapshot_state(snapshot: Snapshot, arn: str) -> tuple[str, ...] | None:
    """The state lines of one user or role as the snapshot saw it; None when it is not there."""
    principal: User | Role | None = snapshot.users.get(arn) or snapshot.roles.get(arn)
    if principal is None:
        return None
    return state_lines(
        inline={p.ref.name: p.document_json() for p in principal.inline_policies},
        managed=principal.managed_policy_arns,
        boundary=principal.boundary_arn,
        groups=principal.group_arns if isinstance(principal, User) else (),
    )


def state_diff(recorded: Iterable[str], live: Iterable[str]) -> tuple[str, ...]:
    """Human lines for what changed: '- …' no longer there, '+ …' new."""
    old, new = set(recorded), set(live)
    return tuple([f"- {line}" for line in sorted(old - new)] + [f"+ {line}" for line in sorted(new - old)])
