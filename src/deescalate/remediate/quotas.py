"""Deny statements → a policy document that fits AWS's IAM size quotas, and where to put it.

Quotas (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html):
the aggregate size of all inline policies of a user is 2,048 characters, of a group 5,120, of a
role 10,240; a managed policy is at most 6,144 characters; a user or role has at most 10 managed
policies attached by default. IAM does not count white space when it measures a policy.

Placement rule: one inline policy named `deescalate-deny` when it fits next to the principal's
other inline policies (our own earlier `deescalate-…` inline policy is replaced, so it does not
count); otherwise one customer managed policy `deescalate-deny-<user|role>-<name>` when a managed
attachment slot is free; otherwise the principal is reported unfixable within quotas, with the
numbers. Denies only ever go on users and roles, never on groups (a group deny would reach every
member, not just the principal at risk).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from deescalate.arn import account_of, name_of, parse_arn, partition_of
from deescalate.model import POLICY_PREFIX, Deny, PolicyPlacement, Role, Snapshot, User

INLINE_POLICY_NAME = "deescalate-deny"
SID_PREFIX = "Deescalate"  # every statement we write: Sid Deescalate<n>x<seal> (see document_seal)

INLINE_QUOTA = {"user": 2048, "group": 5120, "role": 10240}
MANAGED_POLICY_QUOTA = 6144
MANAGED_ATTACHMENTS_QUOTA = 10


def policy_size(document: Any) -> int:
    """Characters IAM counts: the JSON text without any white space."""
    text = document if isinstance(document, str) else json.dumps(document, separators=(",", ":"))
    return sum(map(len, text.split()))  # split() drops exactly the characters isspace() names


def principal_kind(arn: str) -> str:
    """'user' or 'role' from an IAM ARN (arn:PARTITION:iam::ACCT:user/path/name)."""
    parsed = parse_arn(arn)
    return parsed.resource_type if parsed is not None else ""


def managed_policy_name(arn: str) -> str:
    return f"{POLICY_PREFIX}deny-{principal_kind(arn)}-{name_of(arn)}"[:128]


def managed_policy_arn(account_id: str, arn: str) -> str:
    """The customer managed policy apply creates for the principal `arn` (in its partition)."""
    return f"arn:{partition_of(arn)}:iam::{account_id}:policy/{managed_policy_name(arn)}"


def render_document(denies: Iterable[Deny]) -> dict[str, Any]:
    """One Deny statement per group of denies, merged to be as small as possible.

    Two merges are tried and the smaller document kept: denies on the same resource share one
    statement listing several actions; statements with the same action list then share one
    statement listing several resources. (The other order is tried too.) Merging never changes
    what is denied: a statement denies the cross product of its actions and resources, and merges
    only combine pairs that are all in the plan.
    """
    pairs = sorted({(d.action, d.resource) for d in denies if d.apply})
    if not pairs:
        return {"Version": "2012-10-17", "Statement": []}
    by_resource = _merge(pairs, group_on_resource=True)
    by_action = _merge(pairs, group_on_resource=False)
    best = min((by_resource, by_action), key=lambda sts: (policy_size(sts), len(sts)))
    statements = [
        {
            "Effect": "Deny",
            "Action": actions[0] if len(actions) == 1 else list(actions),
            "Resource": resources[0] if len(resources) == 1 else list(resources),
        }
        for actions, resources in best
    ]
    seal = document_seal(statements)
    sealed = [{"Sid": f"{SID_PREFIX}{i}x{seal}", **st} for i, st in enumerate(statements, start=1)]
    return {"Version": "2012-10-17", "Statement": sealed}


def size_floor(denies: Iterable[Deny]) -> int:
    """A lower bound of `policy_size(render_document(denies))`, without rendering it.

    Every distinct resource of an active deny is written at least once, as an ASCII-escaped JSON
    string: two quotes, and at least one character for each of its own characters except a space
    (the only white space the encoder writes as itself; `policy_size` drops it)."""
    return sum(len(r) - r.count(" ") + 2 for r in {d.resource for d in denies if d.apply})


def largest_quota(arn: str) -> int:
    """The most characters a deny document of `arn` may hold in any placement (inline or managed)."""
    return max(INLINE_QUOTA.get(principal_kind(arn), 0), MANAGED_POLICY_QUOTA)


def document_seal(statements: list[dict[str, Any]]) -> str:
    """12 hex digits of SHA-256 over the statements without their Sids (canonical JSON).

    Every statement apply writes carries `Sid: Deescalate<n>x<seal>`; `is_own_document` recomputes
    it. A hand-written look-alike (`deescalate-…` name, `Deescalate` Sids) does not carry the
    right seal, so apply never overwrites it and revert never deletes it. The seal is a marker, not
    a signature: it tells our documents from look-alikes written by mistake or by another tool.
    """
    bare = [{k: v for k, v in st.items() if k != "Sid"} for st in statements]
    text = json.dumps(bare, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _merge(
    pairs: list[tuple[str, str]], *, group_on_resource: bool
) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    # First pass: resource -> actions (or action -> resources); second pass: identical lists merge.
    first: dict[str, set[str]] = {}
    for action, resource in pairs:
        key, val = (resource, action) if group_on_resource else (action, resource)
        first.setdefault(key, set()).add(val)
    second: dict[tuple[str, ...], set[str]] = {}
    for key, members in first.items():
        second.setdefault(tuple(sorted(members)), set()).add(key)
    out: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    for shared, keys in second.items():
        keys_sorted = tuple(sorted(keys))
        out.append((shared, keys_sorted) if group_on_resource else (keys_sorted, shared))
    return sorted(out)


def is_own_document(document: Any) -> bool:
    """True for a document apply wrote: only Deny statements, each Sid `Deescalate<n>x<seal>`.

    Exactly the shape `render_document` makes (Version 2012-10-17; statements with Sid, Effect
    Deny, Action and Resource as strings or lists of strings, nothing else) with the seal of its
    own statements; anything else, however close, is someone else's document.
    """
    try:
        doc = json.loads(document) if isinstance(document, str) else document
    except (ValueError, RecursionError):
        return False
    if not isinstance(doc, Mapping) or set(doc) != {"Version", "Statement"} or doc["Version"] != "2012-10-17":
        return False
    statements = doc["Statement"]
    if not isinstance(statements, list) or not statements:
        return False
    for st in statements:
        if not isinstance(st, Mapping) or set(st) != {"Sid", "Effect", "Action", "Resource"}:
            return False
        if st["Effect"] != "Deny" or not all(_str_or_strs(st[k]) for k in ("Action", "Resource")):
            return False
    seal = document_seal([dict(st) for st in statements])
    return all(st["Sid"] == f"{SID_PREFIX}{i}x{seal}" for i, st in enumerate(statements, start=1))


def _str_or_strs(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Placement:
    placement: PolicyPlacement
    policy_name: str
    unfixable: str | None = None
    detail: str = ""  # the numbers behind the choice, for the plan's why and the docs


def choose_placement(snapshot: Snapshot, arn: str, document: Mapping[str, Any]) -> Placement:
    """Where the deny document goes for this principal, within AWS's quotas."""
    principal: User | Role | None = snapshot.users.get(arn) or snapshot.roles.get(arn)
    kind = principal_kind(arn)
    size = policy_size(document)
    if principal is None:
        return Placement(
            placement=PolicyPlacement.NONE, policy_name="", unfixable=f"{arn} is not in the snapshot"
        )
    used = sum(
        policy_size(p.document or p.document_json())
        for p in principal.inline_policies
        if not p.ref.name.startswith(POLICY_PREFIX)
    )
    quota = INLINE_QUOTA[kind]
    if used + size <= quota:
        return Placement(
            placement=PolicyPlacement.INLINE,
            policy_name=INLINE_POLICY_NAME,
            detail=f"inline: {used} + {size} of {quota} characters",
        )
    own_managed = managed_policy_arn(account_of(arn), arn)  # in the principal's account
    attached = [a for a in principal.managed_policy_arns if a != own_managed]
    reason_inline = f"inline space is gone ({used} of {quota} characters used, the denies need {size})"
    if size > MANAGED_POLICY_QUOTA:
        return Placement(
            placement=PolicyPlacement.NONE,
            policy_name="",
            unfixable=f"{reason_inline}, and the denies exceed a managed policy's {MANAGED_POLICY_QUOTA}",
        )
    if len(attached) >= MANAGED_ATTACHMENTS_QUOTA:
        return Placement(
            placement=PolicyPlacement.NONE,
            policy_name="",
            unfixable=f"{reason_inline}, and {len(attached)} managed policies are already attached "
            f"(quota {MANAGED_ATTACHMENTS_QUOTA})",
        )
    return Placement(
        placement=PolicyPlacement.MANAGED,
        policy_name=managed_policy_name(arn),
        detail=f"{reason_inline}; managed policy: {size} of {MANAGED_POLICY_QUOTA} characters, "
        f"attachment {len(attached) + 1} of {MANAGED_ATTACHMENTS_QUOTA}",
    )


def resource_pattern(resources: Iterable[str]) -> str:
    """The narrowest `prefix*` pattern covering all the resources, cut at an ARN separator."""
    items = sorted(resources)
    first, last = items[0], items[-1]
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    prefix = first[:n]
    cut = max(prefix.rfind("/"), prefix.rfind(":"))
    return prefix[: cut + 1] + "*" if cut >= 0 else "*"


def widen(denies: tuple[Deny, ...], fits: Callable[[tuple[Deny, ...]], bool]) -> tuple[Deny, ...] | None:
    """Merge denies of one action into one deny on a resource pattern until the document fits.

    The last resort before "unfixable": the action with the most resources is widened first (it
    shrinks the document most), then the next, until `fits` says the document fits. A widened deny
    denies more than the escalation needs (every resource matching the pattern) and says so in its
    `why`. None when even widening every action does not fit.
    """
    current = tuple(denies)
    while not fits(current):
        groups: dict[str, list[Deny]] = {}
        for d in current:
            if d.apply:
                groups.setdefault(d.action, []).append(d)
        candidates = [(a, ds) for a, ds in groups.items() if len({d.resource for d in ds}) > 1]
        if not candidates:
            return None
        action, group = max(candidates, key=lambda item: (len(item[1]), item[0]))
        pattern = resource_pattern(d.resource for d in group)
        examples = ", ".join(d.resource for d in group[:2])
        merged = Deny(
            id=group[0].id,
            principal=group[0].principal,
            action=action,
            resource=pattern,
            cuts=tuple(dict.fromkeys(c for d in group for c in d.cuts)),
            techniques=tuple(sorted({t for d in group for t in d.techniques})),
            why=f"Widened to fit AWS's policy size quotas: replaces {len(group)} denies of {action} on "
            f"specific resources ({examples}, ...) with one on {pattern}. It denies {action} on every "
            f"resource matching the pattern, including ones through which nothing escalates.",
        )
        gone = {id(d) for d in group[1:]}
        current = tuple(merged if d is group[0] else d for d in current if id(d) not in gone)
    return current
