"""Plan → IAM calls, with a journal (revert.py undoes them; the calls go through aws.py).

`prepare` reads the live account and works out the exact calls, each with its undo:
  * refuses a plan for another account, a plan touching the caller's own principal (an assumed-role
    caller `arn:PARTITION:sts::ACCT:assumed-role/NAME/session` is the role NAME), and a plan whose
    principals changed since the snapshot (their live state lines differ from the recorded ones);
  * skips what is already in place (idempotent: a second apply makes no call);
  * never touches a policy it did not create: only names starting `deescalate-`, and an existing
    policy of that name is overwritten only if every statement in it is a Deny whose Sid starts
    with `Deescalate` (what apply writes); anything else is refused, naming the policy.
`execute` journals each call before making it and marks it done after (journal.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deescalate.arn import account_of, name_of, require_arn
from deescalate.errors import ApplyError
from deescalate.model import Plan, PrincipalPlan
from deescalate.remediate.aws import Clients, call_api, decode_doc, maybe_call, pages
from deescalate.remediate.fingerprint import document_digest, state_diff, state_lines
from deescalate.remediate.journal import Call, Journal
from deescalate.remediate.plan import require_matchable
from deescalate.remediate.quotas import (
    POLICY_PREFIX,
    is_own_document,
    managed_policy_arn,
    principal_kind,
    render_document,
)

# --------------------------------------------------------------------------- live state


def live_state(iam: Any, arn: str) -> tuple[str, ...] | None:
    """The principal's state lines read live (same format as fingerprint.snapshot_state)."""
    kind, name = principal_kind(arn), name_of(arn)
    K = "User" if kind == "user" else "Role"
    who = {f"{K}Name": name}
    got = maybe_call(iam, f"Get{K}", **who)
    if got is None:
        return None
    inline = {
        n: decode_doc(call_api(iam, f"Get{K}Policy", {**who, "PolicyName": n})["PolicyDocument"])
        for n in pages(iam, f"List{K}Policies", "PolicyNames", **who)
    }
    managed = [p["PolicyArn"] for p in pages(iam, f"ListAttached{K}Policies", "AttachedPolicies", **who)]
    groups = [g["Arn"] for g in pages(iam, "ListGroupsForUser", "Groups", **who)] if kind == "user" else []
    boundary = got[K].get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
    return state_lines(inline=inline, managed=managed, boundary=boundary, groups=groups)


def caller_principal(sts: Any) -> str:
    """The caller as an IAM principal ARN; an assumed-role session resolves to its role (by name)."""
    arn = str(call_api(sts, "GetCallerIdentity", {})["Arn"])
    parsed = require_arn(arn, "sts:GetCallerIdentity", ApplyError)
    if parsed.service == "sts" and parsed.resource_type == "assumed-role":
        role = parsed.resource_id.split("/", 1)[0]
        return f"arn:{parsed.partition}:iam::{parsed.account}:role/{role}"
    if parsed.service == "sts" and parsed.resource_type == "user":
        # moto's caller identity for the root-ish user
        return f"arn:{parsed.partition}:iam::{parsed.account}:{parsed.resource}"
    return arn


def _same_principal(a: str, b: str) -> bool:
    # IAM names are unique per account and kind whatever the path, so compare (account, kind, name).
    def key(arn: str) -> tuple[str, str, str]:
        return (account_of(arn), principal_kind(arn), name_of(arn))

    return key(a) == key(b)


# --------------------------------------------------------------------------- prepare


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    calls: tuple[Call, ...]
    notes: tuple[str, ...]  # principals skipped and why (unfixable, already applied, ...)


def prepare(plan: Plan, clients: Clients, *, where: str = "plan") -> Prepared:
    """The exact calls that bring the live account to the plan, after every safety check.

    A plan holding a switched-on deny that can never match a request is refused (UsageError)
    before anything is asked of AWS.
    """
    require_matchable(plan, where)
    caller = caller_principal(clients.sts)
    caller_account = account_of(caller)
    # A plan made from several accounts' snapshots holds principals of each: one run of apply
    # changes those of the credentials' account only, and says which it left for another run.
    accounts = {plan.account_id} | {account_of(pp.principal) for pp in plan.principals}
    if caller_account not in accounts:
        raise ApplyError(
            f"the plan is for account {', '.join(sorted(accounts))}, but the credentials are for "
            f"{caller_account} ({caller})"
        )
    calls: list[Call] = []
    notes: list[str] = []
    stale: list[str] = []
    for pp in plan.principals:
        elsewhere = account_of(pp.principal)
        if elsewhere != caller_account:
            notes.append(f"{pp.principal}: skipped, in account {elsewhere}; apply this plan again with "
                         "credentials for that account")
            continue
        if pp.unfixable:
            notes.append(f"{pp.principal}: skipped, unfixable within quotas: {pp.unfixable}")
            continue
        live = live_state(clients.iam, pp.principal)
        if live is None:
            stale.append(f"{pp.principal} no longer exists")
            continue
        diff = state_diff(pp.state, live)
        if diff:
            stale.append(f"{pp.principal} changed since the snapshot:\n    " + "\n    ".join(diff))
            continue
        mine = _principal_calls(plan, pp, clients.iam)
        if mine and _same_principal(pp.principal, caller):
            raise ApplyError(
                f"the plan changes the caller's own principal {pp.principal} ({caller}); apply never does "
                f'that. Run apply as another principal, or set "apply": false on its denies.'
            )
        calls += mine
        if not mine:
            notes.append(f"{pp.principal}: already as planned, nothing to do")
    if stale:
        raise ApplyError(
            "the account changed since the plan's snapshot; collect again and re-plan:\n  "
            + "\n  ".join(stale)
        )
    return Prepared(calls=tuple(calls), notes=tuple(notes))


def _principal_calls(plan: Plan, pp: PrincipalPlan, iam: Any) -> list[Call]:
    kind, name = principal_kind(pp.principal), name_of(pp.principal)
    who = {"UserName": name} if kind == "user" else {"RoleName": name}
    K = "User" if kind == "user" else "Role"
    document = render_document(pp.denies)
    active = bool(document["Statement"])
    text = json.dumps(document, separators=(",", ":"))
    calls: list[Call] = []
    inline_name = pp.policy_name if pp.placement == "inline" else f"{POLICY_PREFIX}deny"
    # Inline policy: wanted when the placement is inline and a deny is switched on.
    live = maybe_call(iam, f"Get{K}Policy", **who, PolicyName=inline_name)
    live_doc = decode_doc(live["PolicyDocument"]) if live else None
    if live_doc is not None and not is_own_document(live_doc):
        raise ApplyError(
            f"{pp.principal} already has an inline policy {inline_name} that deescalate did not "
            "write (a statement is not a Deny with a Deescalate Sid); refusing to overwrite it"
        )
    # What undoes a change to the inline policy: the live document put back, or none there again.
    restore = (
        Call(api=f"Delete{K}Policy", params={**who, "PolicyName": inline_name})
        if live_doc is None
        else Call(
            api=f"Put{K}Policy",
            params={
                **who,
                "PolicyName": inline_name,
                "PolicyDocument": json.dumps(live_doc, separators=(",", ":")),
            },
        )
    )
    want_inline = active and pp.placement == "inline"
    if want_inline and (live_doc is None or document_digest(live_doc) != document_digest(document)):
        calls.append(
            Call(
                api=f"Put{K}Policy",
                params={**who, "PolicyName": inline_name, "PolicyDocument": text},
                principal=pp.principal,
                undo=(restore,),
                note="replaces our earlier deny" if live_doc else "",
            )
        )
    elif not want_inline and live_doc is not None:
        calls.append(
            Call(
                api=f"Delete{K}Policy",
                params={**who, "PolicyName": inline_name},
                principal=pp.principal,
                undo=(restore,),
                note="no deny is switched on for this principal any more",
            )
        )
    wanted = document if active and pp.placement == "managed" else None
    calls += _managed_calls(plan, pp, iam, who, K, document=wanted)
    return calls


def _managed_calls(
    plan: Plan, pp: PrincipalPlan, iam: Any, who: dict[str, str], K: str, *, document: dict[str, Any] | None
) -> list[Call]:
    arn = managed_policy_arn(plan.account_id, pp.principal)
    pname = name_of(arn)
    attached = {p["PolicyArn"] for p in pages(iam, f"ListAttached{K}Policies", "AttachedPolicies", **who)}
    policy = maybe_call(iam, "GetPolicy", PolicyArn=arn)
    calls: list[Call] = []
    if document is None:
        if arn in attached:
            calls.append(_attachment("Detach", K, who, arn, principal=pp.principal))
        return calls
    text = json.dumps(document, separators=(",", ":"))
    if policy is None:
        calls.append(
            Call(
                api="CreatePolicy",
                params={
                    "PolicyName": pname,
                    "PolicyDocument": text,
                    "Description": f"deescalate denies for {pp.principal}",
                },
                principal=pp.principal,
                undo=(Call(api="DeleteOwnManagedPolicy", params={"PolicyArn": arn}),),
            )
        )
    else:
        default = policy["Policy"]["DefaultVersionId"]
        current = decode_doc(
            call_api(iam, "GetPolicyVersion", {"PolicyArn": arn, "VersionId": default})["PolicyVersion"][
                "Document"
            ]
        )
        if not is_own_document(current):
            raise ApplyError(
                f"managed policy {arn} exists and deescalate did not write it; refusing to change it"
            )
        if document_digest(current) != document_digest(document):
            versions = [v["VersionId"] for v in pages(iam, "ListPolicyVersions", "Versions", PolicyArn=arn)]
            if len(versions) >= 5:
                raise ApplyError(
                    f"managed policy {arn} already has 5 versions (the IAM maximum); "
                    "delete its old versions or run `deescalate revert` first"
                )
            calls.append(
                Call(
                    api="CreatePolicyVersion",
                    params={"PolicyArn": arn, "PolicyDocument": text, "SetAsDefault": True},
                    principal=pp.principal,
                    undo=(
                        Call(
                            api="RestorePolicyVersions",
                            params={"PolicyArn": arn, "DefaultVersionId": default, "Keep": versions},
                        ),
                    ),
                )
            )
    if arn not in attached:
        calls.append(_attachment("Attach", K, who, arn, principal=pp.principal))
    return calls


def _attachment(verb: str, K: str, who: dict[str, str], arn: str, *, principal: str) -> Call:
    """`verb` ("Attach" or "Detach") {K}Policy of `arn`, undone by the other verb."""
    undo_verb = "Detach" if verb == "Attach" else "Attach"
    return Call(
        api=f"{verb}{K}Policy",
        params={**who, "PolicyArn": arn},
        principal=principal,
        undo=(Call(api=f"{undo_verb}{K}Policy", params={**who, "PolicyArn": arn}),),
    )


# --------------------------------------------------------------------------- execute


def execute(
    calls: tuple[Call, ...], iam: Any, journal: Journal, progress: Callable[[int, Call], None] | None = None
) -> int:
    """Make the calls in order, journalling each before and after. Returns the number made."""
    for n, call in enumerate(calls, start=1):
        seq = journal.pending(call)
        try:
            result = call_api(iam, call.api, dict(call.params))
        except ApplyError as e:
            journal.failed(seq, str(e))
            raise ApplyError(
                f"{e}\n{n - 1} of {len(calls)} calls were made before it; the journal "
                f"{journal.path} records them: `deescalate revert --journal {journal.path} --yes` "
                "undoes them"
            ) from e
        version = result.get("PolicyVersion", {}).get("VersionId")
        journal.done(seq, {"VersionId": version} if version else {})
        if progress:
            progress(n, call)
    return len(calls)
