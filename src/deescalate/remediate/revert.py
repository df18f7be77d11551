"""Revert: undo what apply did, from its journal, or remove every policy deescalate wrote.

From the journal (`revert_calls`, after `journal.load_journal` has checked every line and call): the
undo recorded with each call apply made, newest first, for every call not yet marked reverted (a
call left *pending* by an interruption is undone too). Each undo is one of the few things apply can
do, and `run_undo` checks the live target again before touching it:

  * Delete{User,Role}Policy of a `deescalate-…` inline policy: only when the live document is one
    deescalate wrote (sealed Sids); a policy already gone is "already absent";
  * Put{User,Role}Policy (an earlier deny of ours put back): only a document deescalate wrote, over
    nothing or over a document deescalate wrote, and never on the caller's own principal;
  * Attach/Detach{User,Role}Policy of the principal's own `deescalate-deny-…` managed policy (attach
    only when its default version is a document deescalate wrote, never to the caller);
  * DeleteOwnManagedPolicy (detach everywhere, delete old versions, delete) and
    RestorePolicyVersions (default version back, newer ones deleted) of that policy, only when its
    documents are ones deescalate wrote.

With `--all` (`scan_own_policies`): every `deescalate-…` inline policy of every user, role and group
and every `deescalate-…` customer managed policy whose document deescalate wrote, found by
following every page of the list calls; look-alikes (our prefix, someone else's document) are
reported as foreign and never touched.
`revert_journal` and `revert_all` hold the journal's and the account's locks (lock.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, assert_never

from deescalate.errors import ApplyError
from deescalate.model import POLICY_PREFIX
from deescalate.remediate.apply import account_of_caller, caller_principal, same_principal
from deescalate.remediate.aws import Clients, call_api, decode_doc, is_gone, maybe_call, pages
from deescalate.remediate.journal import (
    Api,
    Call,
    CallStatus,
    Journal,
    JournalRecord,
    journal_account,
    load_journal,
)
from deescalate.remediate.lock import DEFAULT_TIMEOUT, locked
from deescalate.remediate.quotas import is_own_document


class UndoOutcome(StrEnum):
    DONE = "ok"
    ALREADY_ABSENT = "already absent"


def revert_calls(records: list[JournalRecord]) -> list[tuple[int, Call]]:
    """The undo calls of every journalled call not yet reverted, newest first."""
    out: list[tuple[int, Call]] = []
    for rec in sorted(records, key=lambda r: -r.seq):
        match rec.status:
            case CallStatus.REVERTED:
                continue
            case CallStatus.PENDING | CallStatus.DONE | CallStatus.FAILED:
                out += [(rec.seq, replace(u, principal=rec.call.principal)) for u in rec.call.undo]
            case _:
                assert_never(rec.status)
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnPolicies:
    calls: tuple[Call, ...]  # removing every policy deescalate wrote
    foreign: tuple[str, ...]  # `deescalate-…` look-alikes someone else wrote: reported, left alone


def scan_own_policies(iam: Any) -> OwnPolicies:
    """Every deescalate-… policy in the account, found page by page, sorted into ours and foreign."""
    calls: list[Call] = []
    foreign: list[str] = []
    for kind, list_api, key, name_key in (
        ("User", "ListUsers", "Users", "UserName"),
        ("Role", "ListRoles", "Roles", "RoleName"),
        ("Group", "ListGroups", "Groups", "GroupName"),
    ):
        for entity in pages(iam, list_api, key):
            who = {name_key: entity[name_key]}
            for pname in pages(iam, f"List{kind}Policies", "PolicyNames", **who):
                if not pname.startswith(POLICY_PREFIX):
                    continue
                live = maybe_call(iam, f"Get{kind}Policy", **who, PolicyName=pname)
                if live is None:
                    continue
                if not is_own_document(decode_doc(live["PolicyDocument"])):
                    foreign.append(f"inline policy {pname} of {entity['Arn']}")
                    continue
                calls.append(Call(api=Api(f"Delete{kind}Policy"), params={**who, "PolicyName": pname},
                                  principal=entity["Arn"]))
    for pol in pages(iam, "ListPolicies", "Policies", Scope="Local"):
        if not pol["PolicyName"].startswith(POLICY_PREFIX):
            continue
        if not _default_is_own(iam, pol["Arn"]):
            foreign.append(f"managed policy {pol['Arn']}")
            continue
        calls.append(Call(api=Api.DELETE_OWN_MANAGED_POLICY, params={"PolicyArn": pol["Arn"]}))
    return OwnPolicies(calls=tuple(calls), foreign=tuple(foreign))


def _default_is_own(iam: Any, arn: str) -> bool:
    policy = call_api(iam, "GetPolicy", {"PolicyArn": arn})["Policy"]
    current = call_api(iam, "GetPolicyVersion", {"PolicyArn": arn, "VersionId": policy["DefaultVersionId"]})
    return is_own_document(decode_doc(current["PolicyVersion"]["Document"]))


def run_undo(iam: Any, call: Call, *, caller: str = "") -> UndoOutcome:
    """One undo call, after checking its live target; a target already gone is ALREADY_ABSENT."""
    writes_caller = bool(caller) and bool(call.principal) and same_principal(call.principal, caller)
    try:
        match call.api:
            case Api.DELETE_OWN_MANAGED_POLICY:
                return _delete_managed(iam, call.params["PolicyArn"])
            case Api.RESTORE_POLICY_VERSIONS:
                return _restore_versions(
                    iam, call.params["PolicyArn"], call.params["DefaultVersionId"], call.params["Keep"]
                )
            case Api.DELETE_USER_POLICY | Api.DELETE_ROLE_POLICY | Api.DELETE_GROUP_POLICY:
                live = maybe_call(iam, "Get" + call.api.removeprefix("Delete"), **dict(call.params))
                if live is None:
                    return UndoOutcome.ALREADY_ABSENT
                if not is_own_document(decode_doc(live["PolicyDocument"])):
                    raise ApplyError(f"{call.render().splitlines()[0]}: the live policy is not one "
                                     "deescalate wrote; left alone")
            case Api.PUT_USER_POLICY | Api.PUT_ROLE_POLICY:
                if writes_caller:
                    raise ApplyError(f"{call.render().splitlines()[0]}: writes a deny on the caller's own "
                                     "principal; refused (revert it with other credentials)")
                if not is_own_document(call.params["PolicyDocument"]):
                    raise ApplyError(f"{call.render().splitlines()[0]}: not a document deescalate wrote")
                who = {k: v for k, v in call.params.items() if k != "PolicyDocument"}
                live = maybe_call(iam, "Get" + call.api.removeprefix("Put"), **who)
                if live is not None and not is_own_document(decode_doc(live["PolicyDocument"])):
                    raise ApplyError(f"{call.render().splitlines()[0]}: the live policy is not one "
                                     "deescalate wrote; left alone")
            case Api.ATTACH_USER_POLICY | Api.ATTACH_ROLE_POLICY:
                if writes_caller:
                    raise ApplyError(f"{call.render()}: attaches a deny to the caller's own principal; "
                                     "refused")
                if maybe_call(iam, "GetPolicy", PolicyArn=call.params["PolicyArn"]) is None:
                    return UndoOutcome.ALREADY_ABSENT
                if not _default_is_own(iam, call.params["PolicyArn"]):
                    raise ApplyError(f"{call.render()}: the policy is not one deescalate wrote; left alone")
            case Api.DETACH_USER_POLICY | Api.DETACH_ROLE_POLICY:
                pass  # removing a deny of ours; NoSuchEntity below means it is already detached
            case Api.CREATE_POLICY | Api.CREATE_POLICY_VERSION:
                raise ApplyError(f"iam:{call.api} is never an undo; refused")
            case _:
                assert_never(call.api)
        call_api(iam, call.api, dict(call.params))
        return UndoOutcome.DONE
    except ApplyError as e:
        if is_gone(e):
            return UndoOutcome.ALREADY_ABSENT
        raise


def _delete_managed(iam: Any, arn: str) -> UndoOutcome:
    if maybe_call(iam, "GetPolicy", PolicyArn=arn) is None:
        return UndoOutcome.ALREADY_ABSENT
    if not _default_is_own(iam, arn):
        raise ApplyError(f"managed policy {arn} is not one deescalate wrote; left alone")
    for kind, key, name_key in (
        ("User", "PolicyUsers", "UserName"),
        ("Role", "PolicyRoles", "RoleName"),
        ("Group", "PolicyGroups", "GroupName"),
    ):
        for entity in pages(iam, "ListEntitiesForPolicy", key, PolicyArn=arn, EntityFilter=kind):
            call_api(iam, f"Detach{kind}Policy", {name_key: entity[name_key], "PolicyArn": arn})
    for v in pages(iam, "ListPolicyVersions", "Versions", PolicyArn=arn):
        if not v["IsDefaultVersion"]:
            call_api(iam, "DeletePolicyVersion", {"PolicyArn": arn, "VersionId": v["VersionId"]})
    call_api(iam, "DeletePolicy", {"PolicyArn": arn})
    return UndoOutcome.DONE


def _restore_versions(iam: Any, arn: str, default: str, keep: list[str]) -> UndoOutcome:
    if maybe_call(iam, "GetPolicy", PolicyArn=arn) is None:
        return UndoOutcome.ALREADY_ABSENT
    old = call_api(iam, "GetPolicyVersion", {"PolicyArn": arn, "VersionId": default})
    if not is_own_document(decode_doc(old["PolicyVersion"]["Document"])):
        raise ApplyError(f"managed policy {arn} version {default} is not one deescalate wrote; left alone")
    call_api(iam, "SetDefaultPolicyVersion", {"PolicyArn": arn, "VersionId": default})
    for v in pages(iam, "ListPolicyVersions", "Versions", PolicyArn=arn):
        if v["VersionId"] not in keep:
            call_api(iam, "DeletePolicyVersion", {"PolicyArn": arn, "VersionId": v["VersionId"]})
    return UndoOutcome.DONE


@dataclass(frozen=True, slots=True, kw_only=True)
class RevertResult:
    made: int  # undo calls made
    absent: int = 0  # undo calls whose target was already gone (nothing to do)
    errors: tuple[str, ...] = ()  # calls that failed or were refused, each naming the call


Progress = Callable[[int, int, Call, str], None]


def execute_reverts(
    iam: Any,
    calls: list[tuple[int, Call]],
    *,
    journal: Journal | None = None,
    caller: str = "",
    progress: Progress | None = None,
) -> RevertResult:
    """Run undo calls in order; a failure is recorded and the rest still run.

    `progress(n, total, call, status)` gets "ok", "already absent", or the error. With a journal, a
    journalled call is marked reverted once its undo succeeded, so running revert again only
    retries what failed.
    """
    errors: list[str] = []
    failed_seqs: set[int] = set()
    made = absent = 0
    for n, (seq, call) in enumerate(calls, start=1):
        status: str
        try:
            outcome = run_undo(iam, call, caller=caller)
            status = str(outcome)
            if outcome is UndoOutcome.DONE:
                made += 1
            else:
                absent += 1
        except ApplyError as e:
            status = f"FAILED: {e}"
            errors.append(str(e))
            failed_seqs.add(seq)
        if progress:
            progress(n, len(calls), call, status)
        last_of_seq = n == len(calls) or calls[n][0] != seq
        if journal is not None and seq > 0 and last_of_seq and seq not in failed_seqs:
            journal.reverted(seq)
    return RevertResult(made=made, absent=absent, errors=tuple(errors))


def check_journal_account(sts: Any, journal: list[JournalRecord]) -> str:
    """Refuse to replay a journal written in another account than the credentials' one; the caller."""
    caller = caller_principal(sts)
    account = journal_account(journal)
    mine = account_of_caller(caller)
    if account is not None and account != mine:
        raise ApplyError(
            f"the journal records calls in account(s) {account}, but the credentials "
            f"are for {mine} ({caller}); use credentials of the account the plan was applied to"
        )
    return caller


def revert_journal(
    path: str | Path,
    clients: Clients,
    *,
    lock_dir: str | Path | None,
    lock_timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
) -> RevertResult:
    """Undo a journal: check every line, then, under the locks, re-read it and run its undo calls."""
    recs = load_journal(path)  # refuse a forged journal before any call or lock
    account = journal_account(recs)
    with locked(journal=path, account_id=account, lock_dir=lock_dir, timeout=lock_timeout):
        recs = load_journal(path)
        caller = check_journal_account(clients.sts, recs)
        journal = Journal(path)
        return execute_reverts(clients.iam, revert_calls(recs), journal=journal, caller=caller,
                               progress=progress)


def revert_all(
    clients: Clients,
    *,
    lock_dir: str | Path | None,
    lock_timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
) -> tuple[OwnPolicies, RevertResult]:
    """Remove every policy deescalate wrote in the caller's account (under the account lock)."""
    caller = caller_principal(clients.sts)
    with locked(journal=None, account_id=account_of_caller(caller), lock_dir=lock_dir, timeout=lock_timeout):
        own = scan_own_policies(clients.iam)
        result = execute_reverts(clients.iam, [(0, c) for c in own.calls], caller=caller, progress=progress)
    return own, result
