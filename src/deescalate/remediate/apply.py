"""Plan → IAM calls, with a journal. The write side of apply (revert.py undoes it).

`prepare` first vets the plan without any call (`safety.vet_plan`: names, kinds, placement, state,
deny-only documents equal to the checked ones, manual denies), then reads the live account and
works out the exact calls, each with its undo:
  * refuses a plan for another account, a plan touching the caller's own principal (an assumed-role
    caller `arn:aws:sts::ACCT:assumed-role/NAME/session` is the role NAME), a change to a managed
    deny policy that is also attached to the caller (or a group of the caller), and a plan whose
    principals are gone, have another ARN (kind or path) live, or changed since the snapshot (their
    live state lines differ from the recorded ones);
  * skips what is already in place (idempotent: a second apply makes no call);
  * never touches a policy it did not create: only names starting `deescalate-`, and an existing
    policy of that name is overwritten only if it is a document deescalate wrote (sealed Sids,
    `quotas.is_own_document`); anything else is refused, naming the policy.
`execute` re-checks every call against what apply can make (`journal.check_call`), refuses while
manual denies are not allowed, journals each call before making it and marks it done after.
`apply_plan` does all of that while holding the journal's and the account's locks (lock.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, assert_never

from deescalate.arn import account_of, require_arn
from deescalate.errors import ApplyError
from deescalate.model import Plan, PolicyPlacement, PrincipalPlan
from deescalate.remediate.aws import Clients, call_api, decode_doc, maybe_call, pages
from deescalate.remediate.fingerprint import document_digest, state_diff, state_lines
from deescalate.remediate.journal import Api, Call, Journal, check_call
from deescalate.remediate.lock import DEFAULT_TIMEOUT, locked
from deescalate.remediate.names import IamPrincipal, PrincipalKind, iam_principal, own_managed_arn
from deescalate.remediate.plan import require_matchable
from deescalate.remediate.quotas import INLINE_POLICY_NAME, is_own_document, render_document
from deescalate.remediate.safety import ManualDeny, vet_plan

# --------------------------------------------------------------------------- live state


def live_state(iam: Any, arn: str) -> tuple[str, ...] | None:
    """The principal's state lines read live (same format as fingerprint.snapshot_state).

    None when no user or role of that kind and name exists, or when the one that exists has another
    ARN (another path): the plan is then not about that principal.
    """
    who = iam_principal(arn)
    if who is None:
        raise ApplyError(f"{arn!r} is not an IAM user or role ARN")
    K = who.kind.api
    by_name = {who.kind.name_key: who.name}
    got = maybe_call(iam, f"Get{K}", **by_name)
    if got is None or got.get(K, {}).get("Arn") != arn:
        return None
    inline = {
        n: decode_doc(call_api(iam, f"Get{K}Policy", {**by_name, "PolicyName": n})["PolicyDocument"])
        for n in pages(iam, f"List{K}Policies", "PolicyNames", **by_name)
    }
    managed = [p["PolicyArn"] for p in pages(iam, f"ListAttached{K}Policies", "AttachedPolicies", **by_name)]
    groups = (
        [g["Arn"] for g in pages(iam, "ListGroupsForUser", "Groups", **by_name)]
        if who.kind is PrincipalKind.USER else []
    )
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


def account_of_caller(caller: str) -> str:
    return account_of(caller)


def same_principal(a: str, b: str) -> bool:
    """Same account, kind and name (IAM names are unique per account and kind whatever the path)."""
    pa, pb = iam_principal(a), iam_principal(b)
    if pa is None or pb is None:
        return a == b
    return (pa.account, pa.kind, pa.name) == (pb.account, pb.kind, pb.name)


# --------------------------------------------------------------------------- prepare


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    calls: tuple[Call, ...]
    notes: tuple[str, ...]  # principals skipped and why (unfixable, already applied, ...)
    manual: tuple[ManualDeny, ...] = ()  # hand-written denies among the calls (need allow_manual)
    allow_manual: bool = False
    caller: str = ""


def prepare(plan: Plan, clients: Clients, *, allow_manual: bool = False, where: str = "plan") -> Prepared:
    """The exact calls that bring the live account to the plan, after every safety check.

    A plan holding a switched-on deny that can never match a request is refused (UsageError)
    before anything is asked of AWS, as is any plan `safety.vet_plan` refuses (PlanError).
    """
    require_matchable(plan, where)
    vetting = vet_plan(plan)
    caller = caller_principal(clients.sts)
    caller_account = account_of_caller(caller)
    # A plan made from several accounts' snapshots holds principals of each: one run of apply
    # changes those of the credentials' account only, and says which it left for another run.
    accounts = {plan.account_id} | {account_of_caller(pp.principal) for pp in plan.principals}
    if caller_account not in accounts:
        raise ApplyError(
            f"the plan is for account {', '.join(sorted(accounts))}, but the credentials are for "
            f"{caller_account} ({caller})"
        )
    calls: list[Call] = []
    notes: list[str] = []
    stale: list[str] = []
    for pp in plan.principals:
        elsewhere = account_of_caller(pp.principal)
        if elsewhere != caller_account:
            notes.append(f"{pp.principal}: skipped, in account {elsewhere}; apply this plan again with "
                         "credentials for that account")
            continue
        if pp.unfixable:
            notes.append(f"{pp.principal}: skipped, unfixable within quotas: {pp.unfixable}")
            continue
        live = live_state(clients.iam, pp.principal)
        if live is None:
            stale.append(f"{pp.principal} no longer exists (no user or role with this ARN)")
            continue
        diff = state_diff(pp.state, live)
        if diff:
            stale.append(f"{pp.principal} changed since the snapshot:\n    " + "\n    ".join(diff))
            continue
        mine = _principal_calls(pp, clients.iam, caller)
        if mine and same_principal(pp.principal, caller):
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
    with_calls = {c.principal for c in calls}
    manual = tuple(m for m in vetting.manual if m.principal in with_calls)
    return Prepared(calls=tuple(calls), notes=tuple(notes), manual=manual, allow_manual=allow_manual,
                    caller=caller)


def _principal_calls(pp: PrincipalPlan, iam: Any, caller: str) -> list[Call]:
    who = iam_principal(pp.principal)
    assert who is not None  # vet_plan checked it
    K, by_name = who.kind.api, {who.kind.name_key: who.name}
    document = render_document(pp.denies)
    active = bool(document["Statement"])
    text = json.dumps(document, separators=(",", ":"))
    calls: list[Call] = []
    match pp.placement:
        case PolicyPlacement.INLINE:
            inline_name, want_inline, managed_doc = pp.policy_name, active, None
        case PolicyPlacement.MANAGED:
            inline_name, want_inline, managed_doc = INLINE_POLICY_NAME, False, document if active else None
        case PolicyPlacement.NONE:
            inline_name, want_inline, managed_doc = INLINE_POLICY_NAME, False, None
        case _:
            assert_never(pp.placement)
    live = maybe_call(iam, f"Get{K}Policy", **by_name, PolicyName=inline_name)
    live_doc = decode_doc(live["PolicyDocument"]) if live else None
    if live_doc is not None and not is_own_document(live_doc):
        raise ApplyError(
            f"{pp.principal} already has an inline policy {inline_name} that deescalate did not "
            "write (not a document of sealed Deescalate Deny statements); refusing to overwrite it"
        )
    # What undoes a change to the inline policy: the live document put back, or none there again.
    restore = (
        Call(api=Api.of("Delete", who.kind), params={**by_name, "PolicyName": inline_name})
        if live_doc is None
        else Call(
            api=Api.of("Put", who.kind),
            params={
                **by_name,
                "PolicyName": inline_name,
                "PolicyDocument": json.dumps(live_doc, separators=(",", ":")),
            },
        )
    )
    if want_inline and (live_doc is None or document_digest(live_doc) != document_digest(document)):
        calls.append(
            Call(
                api=Api.of("Put", who.kind),
                params={**by_name, "PolicyName": inline_name, "PolicyDocument": text},
                principal=pp.principal,
                undo=(restore,),
                note="replaces our earlier deny" if live_doc else "",
            )
        )
    elif not want_inline and live_doc is not None:
        calls.append(
            Call(
                api=Api.of("Delete", who.kind),
                params={**by_name, "PolicyName": inline_name},
                principal=pp.principal,
                undo=(restore,),
                note="no deny is switched on for this principal any more",
            )
        )
    calls += _managed_calls(pp, who, iam, caller, document=managed_doc)
    return calls


def _managed_calls(
    pp: PrincipalPlan, who: IamPrincipal, iam: Any, caller: str, *, document: dict[str, Any] | None
) -> list[Call]:
    arn = own_managed_arn(who)
    K, by_name = who.kind.api, {who.kind.name_key: who.name}
    pname = arn.rsplit("/", 1)[-1]
    attached = {p["PolicyArn"] for p in pages(iam, f"ListAttached{K}Policies", "AttachedPolicies", **by_name)}
    calls: list[Call] = []
    if document is None:
        if arn in attached:
            calls.append(_attachment("Detach", who, arn))
        return calls
    policy = maybe_call(iam, "GetPolicy", PolicyArn=arn)
    text = json.dumps(document, separators=(",", ":"))
    if policy is None:
        calls.append(
            Call(
                api=Api.CREATE_POLICY,
                params={
                    "PolicyName": pname,
                    "PolicyDocument": text,
                    "Description": f"deescalate denies for {pp.principal}",
                },
                principal=pp.principal,
                undo=(Call(api=Api.DELETE_OWN_MANAGED_POLICY, params={"PolicyArn": arn}),),
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
            _refuse_if_attached_to_caller(iam, arn, caller)
            versions = [v["VersionId"] for v in pages(iam, "ListPolicyVersions", "Versions", PolicyArn=arn)]
            if len(versions) >= 5:
                raise ApplyError(
                    f"managed policy {arn} already has 5 versions (the IAM maximum); "
                    "delete its old versions or run `deescalate revert` first"
                )
            calls.append(
                Call(
                    api=Api.CREATE_POLICY_VERSION,
                    params={"PolicyArn": arn, "PolicyDocument": text, "SetAsDefault": True},
                    principal=pp.principal,
                    undo=(
                        Call(
                            api=Api.RESTORE_POLICY_VERSIONS,
                            params={"PolicyArn": arn, "DefaultVersionId": default, "Keep": versions},
                        ),
                    ),
                )
            )
    if arn not in attached:
        calls.append(_attachment("Attach", who, arn))
    return calls


def _refuse_if_attached_to_caller(iam: Any, arn: str, caller: str) -> None:
    """A new version of a managed deny reaches every entity it is attached to: never the caller."""
    me = iam_principal(caller)
    if me is None:
        return
    my_groups: set[str] | None = None
    for kind, key, name_key in (("User", "PolicyUsers", "UserName"), ("Role", "PolicyRoles", "RoleName"),
                                ("Group", "PolicyGroups", "GroupName")):
        for entity in pages(iam, "ListEntitiesForPolicy", key, PolicyArn=arn, EntityFilter=kind):
            name = entity.get(name_key)
            if kind == "Group" and me.kind is PrincipalKind.USER:
                if my_groups is None:
                    my_groups = {g["GroupName"] for g in pages(iam, "ListGroupsForUser", "Groups",
                                                              UserName=me.name)}
                hit = name in my_groups
            else:
                hit = kind.lower() == me.kind.value and name == me.name
            if hit:
                raise ApplyError(
                    f"managed policy {arn} is also attached to the caller {caller} (directly or through "
                    f"{kind.lower()} {name}); changing it could lock the caller out, so apply refuses"
                )


def _attachment(verb: str, who: IamPrincipal, arn: str) -> Call:
    """`verb` ("Attach" or "Detach") of `arn` on `who`, undone by the other verb."""
    undo_verb = "Detach" if verb == "Attach" else "Attach"
    params = {who.kind.name_key: who.name, "PolicyArn": arn}
    return Call(
        api=Api.of(verb, who.kind),
        params=params,
        principal=who.arn,
        undo=(Call(api=Api.of(undo_verb, who.kind), params=params),),
    )


# --------------------------------------------------------------------------- execute


def execute(
    prepared: Prepared, iam: Any, journal: Journal, progress: Callable[[int, int, Call], None] | None = None
) -> int:
    """Make the calls in order, journalling each before and after. Returns the number made.

    Before the first call: every call is re-checked against what apply can make, and manual denies
    are refused unless `prepared.allow_manual`.
    """
    calls = prepared.calls
    if prepared.manual and not prepared.allow_manual:
        shown = "; ".join(f"{m.deny.id} (deny {m.deny.action} on {m.deny.resource} for {m.principal})"
                          for m in prepared.manual)
        raise ApplyError(
            f"the plan has {len(prepared.manual)} hand-written deny(ies) not tied to an escalation edge of a "
            f"finding: {shown}. Review them in the dry run; apply them with --allow-manual"
        )
    for n, call in enumerate(calls, start=1):
        check_call(call, f"call {n} ({call.api})")
        if prepared.caller and call.principal and same_principal(call.principal, prepared.caller):
            raise ApplyError(f"call {n} changes the caller's own principal {call.principal}; refused")
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
            progress(n, len(calls), call)
    return len(calls)


@dataclass(frozen=True, slots=True, kw_only=True)
class Applied:
    prepared: Prepared
    made: int


def apply_plan(
    plan: Plan,
    clients: Clients,
    *,
    journal_path: str | Path,
    lock_dir: str | Path | None,
    allow_manual: bool = False,
    lock_timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[int, int, Call], None] | None = None,
    where: str = "plan",
) -> Applied:
    """Vet, prepare and execute the plan while holding the journal's and the account's locks.

    The live state is read under the locks, so a concurrent apply or revert (waited for, or
    refused after `lock_timeout` seconds) cannot make the recorded undo calls wrong.
    """
    require_matchable(plan, where)  # refuse a bad plan before waiting on any lock
    vet_plan(plan)
    account = account_of_caller(caller_principal(clients.sts))
    with locked(journal=journal_path, account_id=account, lock_dir=lock_dir, timeout=lock_timeout):
        prepared = prepare(plan, clients, allow_manual=allow_manual, where=where)
        if not prepared.calls:
            return Applied(prepared=prepared, made=0)
        journal = Journal(journal_path)
        made = execute(prepared, clients.iam, journal, progress)
    return Applied(prepared=prepared, made=made)
