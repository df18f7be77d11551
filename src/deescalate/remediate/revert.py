"""Revert: undo what apply did, from its journal, or remove every `deescalate-…` policy.

From the journal (`revert_calls`): the undo calls recorded with each call apply made, newest first,
for every call not yet marked reverted (a call left *pending* by an interruption is undone too:
each undo tolerates a target that is already gone). With `--all` (`revert_all_calls`): every
`deescalate-…` inline policy of every user, role and group and every `deescalate-…` customer managed
policy (detached everywhere, its old versions deleted, then deleted), found by following every page
of the list calls. Either way, revert deletes or rewrites only documents deescalate wrote (every
statement a Deny with a `Deescalate` Sid); anything else under our name is left alone, with an error.
AWS calls go through `deescalate.remediate.aws` (with collect/, the only code allowed to use boto3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from deescalate.arn import account_of
from deescalate.errors import ApplyError
from deescalate.remediate.apply import caller_principal
from deescalate.remediate.aws import call_api, decode_doc, is_gone, maybe_call, pages
from deescalate.remediate.journal import Call, Journal, JournalRecord
from deescalate.remediate.quotas import POLICY_PREFIX, is_own_document


def revert_calls(records: list[JournalRecord]) -> list[tuple[int, Call]]:
    """The undo calls of every journalled call not yet reverted, newest first."""
    out: list[tuple[int, Call]] = []
    for rec in sorted(records, key=lambda r: -r.seq):
        if rec.status == "reverted":
            continue
        out += [(rec.seq, replace(u, principal=rec.call.principal)) for u in rec.call.undo]
    return out


def revert_all_calls(iam: Any) -> list[Call]:
    """Every deescalate-… policy in the account, found page by page, as calls removing it."""
    calls: list[Call] = []
    for kind, list_api, key, name_key in (
        ("User", "ListUsers", "Users", "UserName"),
        ("Role", "ListRoles", "Roles", "RoleName"),
        ("Group", "ListGroups", "Groups", "GroupName"),
    ):
        for entity in pages(iam, list_api, key):
            who = {name_key: entity[name_key]}
            for pname in pages(iam, f"List{kind}Policies", "PolicyNames", **who):
                if pname.startswith(POLICY_PREFIX):
                    calls.append(
                        Call(
                            api=f"Delete{kind}Policy",
                            params={**who, "PolicyName": pname},
                            principal=entity["Arn"],
                        )
                    )
    for pol in pages(iam, "ListPolicies", "Policies", Scope="Local"):
        if pol["PolicyName"].startswith(POLICY_PREFIX):
            calls.append(Call(api="DeleteOwnManagedPolicy", params={"PolicyArn": pol["Arn"]}))
    return calls


def run_undo(iam: Any, call: Call) -> None:
    """One undo call; a target already gone is fine (the undo is then already done)."""
    try:
        if call.api == "DeleteOwnManagedPolicy":
            _delete_managed(iam, call.params["PolicyArn"])
        elif call.api == "RestorePolicyVersions":
            _restore_versions(
                iam, call.params["PolicyArn"], call.params["DefaultVersionId"], call.params["Keep"]
            )
        else:
            if call.api.startswith("Delete") and call.api.endswith("Policy") and "PolicyName" in call.params:
                get = "Get" + call.api[len("Delete") :]
                live = maybe_call(iam, get, **dict(call.params))
                if live is None:
                    return
                if not is_own_document(decode_doc(live["PolicyDocument"])):
                    raise ApplyError(
                        f"{call.render()}: the live policy is not one deescalate wrote; left alone"
                    )
            call_api(iam, call.api, dict(call.params))
    except ApplyError as e:
        if is_gone(e):
            return
        raise


def _delete_managed(iam: Any, arn: str) -> None:
    policy = call_api(iam, "GetPolicy", {"PolicyArn": arn})["Policy"]
    current = call_api(iam, "GetPolicyVersion", {"PolicyArn": arn, "VersionId": policy["DefaultVersionId"]})
    if not is_own_document(decode_doc(current["PolicyVersion"]["Document"])):
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


def _restore_versions(iam: Any, arn: str, default: str, keep: list[str]) -> None:
    call_api(iam, "SetDefaultPolicyVersion", {"PolicyArn": arn, "VersionId": default})
    for v in pages(iam, "ListPolicyVersions", "Versions", PolicyArn=arn):
        if v["VersionId"] not in keep:
            call_api(iam, "DeletePolicyVersion", {"PolicyArn": arn, "VersionId": v["VersionId"]})


@dataclass(frozen=True, slots=True, kw_only=True)
class RevertResult:
    made: int  # undo calls made (or found already done)
    errors: tuple[str, ...]  # calls that failed or were refused, each naming the call


def execute_reverts(
    iam: Any,
    calls: list[tuple[int, Call]],
    *,
    journal: Journal | None = None,
    progress: Callable[[int, Call, str | None], None] | None = None,
) -> RevertResult:
    """Run undo calls in order; a failure is recorded and the rest still run.

    With a journal, a journalled call is marked reverted once all of its undo calls succeeded, so
    running revert again only retries what failed.
    """
    errors: list[str] = []
    failed_seqs: set[int] = set()
    made = 0
    for n, (seq, call) in enumerate(calls, start=1):
        error: str | None = None
        try:
            run_undo(iam, call)
            made += 1
        except ApplyError as e:
            error = str(e)
            errors.append(error)
            failed_seqs.add(seq)
        if progress:
            progress(n, call, error)
        last_of_seq = n == len(calls) or calls[n][0] != seq
        if journal is not None and seq > 0 and last_of_seq and seq not in failed_seqs:
            journal.reverted(seq)
    return RevertResult(made=made, errors=tuple(errors))


def check_journal_account(sts: Any, journal: list[JournalRecord]) -> None:
    """Refuse to replay a journal written in another account than the credentials' one."""
    accounts = {account_of(r.call.principal) for r in journal} - {""}
    if not accounts:
        return
    caller = caller_principal(sts)
    mine = account_of(caller)
    if accounts != {mine}:
        raise ApplyError(
            f"the journal records calls in account(s) {', '.join(sorted(accounts))}, but the credentials "
            f"are for {mine} ({caller}); use credentials of the account the plan was applied to"
        )
