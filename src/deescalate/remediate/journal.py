"""The apply journal: one JSON object per line, written *before* each AWS call and after it; and the
strict reader that treats a journal as a file anyone may have forged.

Every call apply makes is a `Call` (an `Api`, parameters, and the call that undoes it, worked out
from the live state read just before). Its life in the journal:

    {"seq": 3, "event": "pending", "time": ..., "principal": ..., "call": {...}}
    {"seq": 3, "event": "done", "time": ..., "result": {...}}      or   "event": "failed", "error": ...
    {"seq": 3, "event": "reverted", "time": ...}                   (written by revert)

A pending entry without a `done` is a call that may or may not have reached AWS (the process died,
the network failed): revert undoes it anyway, and every undo tolerates "already gone". The file is
created 0600, appended to and flushed+fsynced line by line, so an interruption loses at most the
line being written (a cut-off *last* line is tolerated). `seq` keeps growing across runs of apply
on one journal; apply and revert hold the journal's lock (lock.py) while they write it.

Reading (`read_journal` + `records`, or `load_journal`) refuses the whole journal, naming the line,
on the first line that is not exactly what apply writes: not UTF-8, not JSON, a missing or unknown
key, a wrong type, an unknown event, a sequence number out of order or reused, an event for a call
whose `pending` line is missing (a deleted line), and any call apply could not have made
(`check_call`): revert replays only undo calls of calls apply makes, on `deescalate-…` policies of
users and roles of one account, restoring only documents deescalate wrote.
"""

from __future__ import annotations

import json
import os
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, assert_never

from deescalate.errors import ApplyError
from deescalate.files import (
    NOT_REGULAR,
    NotRegularFileError,
    has_lone_surrogate,
    open_private,
    read_regular,
    too_long,
)
from deescalate.model import EMPTY_MAP
from deescalate.remediate.names import (
    IamPrincipal,
    PrincipalKind,
    iam_principal,
    is_own_policy_name,
    is_version_id,
    own_managed_arn,
)
from deescalate.remediate.quotas import is_own_document, managed_policy_name


class JournalError(ApplyError):
    """A journal that is not exactly what apply writes: refused as a whole before any call (exit 3)."""


class Api(StrEnum):
    """Every IAM call apply and revert make that changes the account, plus revert's two compound undos."""

    PUT_USER_POLICY = "PutUserPolicy"
    PUT_ROLE_POLICY = "PutRolePolicy"
    DELETE_USER_POLICY = "DeleteUserPolicy"
    DELETE_ROLE_POLICY = "DeleteRolePolicy"
    DELETE_GROUP_POLICY = "DeleteGroupPolicy"  # revert --all only (apply never writes to a group)
    ATTACH_USER_POLICY = "AttachUserPolicy"
    ATTACH_ROLE_POLICY = "AttachRolePolicy"
    DETACH_USER_POLICY = "DetachUserPolicy"
    DETACH_ROLE_POLICY = "DetachRolePolicy"
    CREATE_POLICY = "CreatePolicy"
    CREATE_POLICY_VERSION = "CreatePolicyVersion"
    # Compound undos (several IAM calls each, see revert.py):
    DELETE_OWN_MANAGED_POLICY = "DeleteOwnManagedPolicy"  # detach everywhere, delete versions, delete
    RESTORE_POLICY_VERSIONS = "RestorePolicyVersions"  # default version back, newer versions deleted

    @staticmethod
    def of(verb: str, kind: PrincipalKind) -> Api:
        """`Api.of("Put", USER)` is PutUserPolicy."""
        return Api(f"{verb}{kind.api}Policy")


class CallStatus(StrEnum):
    """Where a journalled call stands; the `event` of its latest line."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    REVERTED = "reverted"


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """One IAM API call (PascalCase name, as in the AWS API reference) and how to undo it."""

    api: Api
    params: Mapping[str, Any]
    principal: str = ""
    undo: tuple[Call, ...] = ()
    note: str = ""
    result: Mapping[str, Any] = field(default_factory=lambda: EMPTY_MAP)

    def to_json(self) -> dict[str, Any]:
        return {
            "api": str(self.api),
            "params": dict(self.params),
            "principal": self.principal,
            "note": self.note,
            "undo": [u.to_json() for u in self.undo],
        }

    @staticmethod
    def from_json(raw: Any, where: str = "call") -> Call:
        """A call as the journal holds it, every key and type checked (JournalError naming `where`)."""
        obj = _object(raw, {"api", "params", "principal", "note", "undo"}, where)
        api = obj["api"]
        if not isinstance(api, str) or api not in Api._value2member_map_:
            raise JournalError(f"{where}: api {_show(api)} is not a call deescalate makes")
        params = obj["params"]
        if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
            raise JournalError(f"{where}: params must be an object")
        for k, v in params.items():
            strs = isinstance(v, list) and all(isinstance(x, str) for x in v)
            if not (isinstance(v, str | bool) or strs):
                raise JournalError(f"{where}: params.{_show(k)} has a value of the wrong type")
        for key in ("principal", "note"):
            if not isinstance(obj[key], str):
                raise JournalError(f"{where}: {key} must be a string")
        undo = obj["undo"]
        if not isinstance(undo, list):
            raise JournalError(f"{where}: undo must be a list")
        return Call(
            api=Api(api),
            params=dict(params),
            principal=obj["principal"],
            note=obj["note"],
            undo=tuple(Call.from_json(u, f"{where}.undo[{i}]") for i, u in enumerate(undo)),
        )

    def render(self) -> str:
        """The call as a person reads it: `iam:PutUserPolicy UserName=alice ...` and documents indented."""
        simple = " ".join(f"{k}={v}" for k, v in self.params.items() if k != "PolicyDocument")
        text = f"iam:{self.api} {simple}".rstrip()
        if self.note:
            text += f"    # {self.note}"
        doc = self.params.get("PolicyDocument")
        if isinstance(doc, str) and doc:
            try:
                pretty = json.dumps(json.loads(doc), indent=2)
            except (ValueError, RecursionError):
                pretty = doc
            text += "\n    PolicyDocument:\n" + "\n".join("      " + line for line in pretty.splitlines())
        return text


def default_journal_path(plan_path: str | Path) -> Path:
    p = Path(plan_path)
    return p.with_name(p.stem + ".journal.jsonl")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Journal:
    """Append-only writer; each line is on disk before the call it announces is made.

    Open it while holding its lock (`lock.locked`): the next sequence number is read from the file
    here, so two writers at once would reuse numbers.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        recs = records(read_journal(self.path)) if self.path.exists() else []
        self._seq = max((r.seq for r in recs), default=0)

    def _write(self, entry: dict[str, Any]) -> None:
        try:
            with os.fdopen(open_private(self.path, append=True), "a", encoding="utf-8") as f:
                f.write(json.dumps(entry, sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            raise ApplyError(
                f"cannot write the journal {self.path}: {e.strerror}; nothing more was changed"
            ) from e

    def pending(self, call: Call) -> int:
        self._seq += 1
        self._write(
            {
                "seq": self._seq,
                "event": str(CallStatus.PENDING),
                "time": _now(),
                "principal": call.principal,
                "call": call.to_json(),
            }
        )
        return self._seq

    def done(self, seq: int, result: Mapping[str, Any] | None = None) -> None:
        self._write({"seq": seq, "event": str(CallStatus.DONE), "time": _now(), "result": dict(result or {})})

    def failed(self, seq: int, error: str) -> None:
        self._write({"seq": seq, "event": str(CallStatus.FAILED), "time": _now(), "error": error})

    def reverted(self, seq: int) -> None:
        self._write({"seq": seq, "event": str(CallStatus.REVERTED), "time": _now()})


# --------------------------------------------------------------------------- reading, strictly

_KEYS: dict[CallStatus, set[str]] = {
    CallStatus.PENDING: {"seq", "event", "time", "principal", "call"},
    CallStatus.DONE: {"seq", "event", "time", "result"},
    CallStatus.FAILED: {"seq", "event", "time", "error"},
    CallStatus.REVERTED: {"seq", "event", "time"},
}


def _show(value: Any) -> str:
    text = reprlib.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _object(raw: Any, keys: set[str], where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise JournalError(f"{where}: expected a JSON object")
    if set(raw) != keys:
        missing, unknown = sorted(keys - set(raw)), sorted(set(raw) - keys)
        what = "; ".join(s for s in (f"missing {missing}" if missing else "",
                                     f"unknown {unknown}" if unknown else "") if s)
        raise JournalError(f"{where}: not a line deescalate writes ({what})")
    return raw


def read_journal(path: str | Path) -> list[dict[str, Any]]:
    """Every line of the journal, each checked to be a well-formed entry (JournalError otherwise)."""
    p = Path(path)
    try:
        data = read_regular(p)
    except NotRegularFileError as e:
        raise JournalError(f"{p}: {NOT_REGULAR}") from e
    except OSError as e:
        raise JournalError(f"cannot read the journal {p}: {e.strerror}") from e
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out: list[dict[str, Any]] = []
    for n, raw_line in enumerate(lines, start=1):
        where = f"{p}, line {n}"
        last = n == len(lines)
        try:
            line = raw_line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise JournalError(f"{where}: not UTF-8 (a bad byte at column {e.start + 1})") from e
        if not line.strip():
            if last:
                continue
            raise JournalError(f"{where}: an empty line (deescalate writes none)")
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as e:
            if last and not line.endswith("}"):
                continue  # a last line cut short by an interruption: its call was never made
            raise JournalError(f"{where}: not valid JSON ({e.msg})") from e
        except RecursionError as e:
            raise JournalError(f"{where}: nested too deeply") from e
        except ValueError as e:  # a number of more digits than int() converts
            raise JournalError(f"{where}: holds a number too long to read ({too_long(e)})") from e
        if has_lone_surrogate(entry):
            raise JournalError(f"{where}: holds a lone UTF-16 surrogate (\\ud800-\\udfff)")
        if not isinstance(entry, dict):
            raise JournalError(f"{where}: not a journal entry (expected a JSON object)")
        event = entry.get("event")
        if not isinstance(event, str) or event not in CallStatus._value2member_map_:
            raise JournalError(f"{where}: unknown event {_show(event)}")
        _object(entry, _KEYS[CallStatus(event)], where)
        seq = entry["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise JournalError(f"{where}: seq must be a positive integer, found {_show(seq)}")
        if not isinstance(entry["time"], str):
            raise JournalError(f"{where}: time must be a string")
        entry["_line"] = n
        out.append(entry)
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class JournalRecord:
    seq: int
    call: Call
    status: CallStatus
    result: Mapping[str, Any]


def records(entries: list[dict[str, Any]], where: str = "journal") -> list[JournalRecord]:
    """Fold the lines into one record per call, in the order the calls were made, checking each call.

    Pending lines must number 1, 2, 3, ... in order (a gap is a deleted line); every other line must
    follow its call's pending line, and come in an order apply and revert write (done/failed once,
    after pending; reverted after done, failed or pending).
    """
    calls: dict[int, Call] = {}
    status: dict[int, CallStatus] = {}
    results: dict[int, Mapping[str, Any]] = {}
    account: tuple[str, str] | None = None
    for e in entries:
        line = f"{where}, line {e.get('_line', '?')}"
        seq, event = int(e["seq"]), CallStatus(e["event"])
        match event:
            case CallStatus.PENDING:
                if seq != len(calls) + 1:
                    raise JournalError(
                        f"{line}: call {seq} follows call {len(calls)} (lines were deleted, reordered, "
                        "or two applies wrote this journal at once)"
                    )
                if not isinstance(e["principal"], str):
                    raise JournalError(f"{line}: principal must be a string")
                call = Call.from_json(e["call"], f"{line}: call")
                if call.principal != e["principal"]:
                    raise JournalError(f"{line}: the call's principal differs from the line's")
                principal = check_call(call, line)
                here = (principal.partition, principal.account)
                if account is not None and here != account:
                    raise JournalError(
                        f"{line}: a call in account {principal.account} ({principal.partition}) in a "
                        f"journal of account {account[1]} ({account[0]}); one apply writes one account"
                    )
                account = here
                calls[seq] = call
                status[seq] = CallStatus.PENDING
            case CallStatus.DONE | CallStatus.FAILED | CallStatus.REVERTED:
                if seq not in calls:
                    raise JournalError(
                        f"{line}: a {event} line for call {seq}, whose pending line is missing "
                        "(deleted or out of order); refusing the whole journal"
                    )
                allowed = {
                    CallStatus.DONE: {CallStatus.PENDING},
                    CallStatus.FAILED: {CallStatus.PENDING},
                    CallStatus.REVERTED: {CallStatus.PENDING, CallStatus.DONE, CallStatus.FAILED},
                }[event]
                if status[seq] not in allowed:
                    raise JournalError(f"{line}: a {event} line for call {seq}, already {status[seq]}")
                if event is CallStatus.DONE:
                    results[seq] = _result(e["result"], line)
                elif event is CallStatus.FAILED and not isinstance(e["error"], str):
                    raise JournalError(f"{line}: error must be a string")
                status[seq] = event
            case _:
                assert_never(event)
    return [
        JournalRecord(seq=s, call=calls[s], status=status[s], result=results.get(s, {}))
        for s in sorted(calls)
    ]


def _result(raw: Any, line: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict) or set(raw) - {"VersionId"}:
        raise JournalError(f"{line}: result must be {{}} or {{\"VersionId\": ...}}")
    if "VersionId" in raw and not is_version_id(raw["VersionId"]):
        raise JournalError(f"{line}: result.VersionId {_show(raw['VersionId'])} is not a policy version")
    return dict(raw)


def load_journal(path: str | Path) -> list[JournalRecord]:
    """`records(read_journal(path))`: every line and call checked before anything is replayed."""
    return records(read_journal(path), where=str(path))


def journal_account(recs: list[JournalRecord]) -> str | None:
    """The one account the journal's calls are in (checked by `records`), None when it has none."""
    for r in recs:
        p = iam_principal(r.call.principal)
        if p is not None:
            return p.account
    return None


# --------------------------------------------------------------------------- what apply can do

def _params(call: Call, keys: set[str], where: str) -> Mapping[str, Any]:
    if set(call.params) != keys:
        raise JournalError(f"{where}: iam:{call.api} with parameters {sorted(call.params)}, "
                           f"apply writes {sorted(keys)}")
    return call.params


def _own_doc(value: Any, where: str) -> None:
    if not isinstance(value, str) or not is_own_document(value):
        raise JournalError(f"{where}: the policy document is not one deescalate writes "
                           "(only Deny statements with deescalate's sealed Sids)")


def _check_target(call: Call, principal: IamPrincipal, where: str) -> None:
    """The parameters of a call on `principal`'s deny policies (inline or our managed one)."""
    kind, who = principal.kind, principal.kind.name_key
    mine_arn = own_managed_arn(principal)
    match call.api:
        case Api.PUT_USER_POLICY | Api.PUT_ROLE_POLICY | Api.DELETE_USER_POLICY | Api.DELETE_ROLE_POLICY:
            if call.api not in (Api.of("Put", kind), Api.of("Delete", kind)):
                raise JournalError(f"{where}: iam:{call.api} on a {kind} ({principal.arn})")
            put = call.api is Api.of("Put", kind)
            p = _params(call, {who, "PolicyName", "PolicyDocument"} if put else {who, "PolicyName"}, where)
            if p[who] != principal.name:
                raise JournalError(f"{where}: {who}={_show(p[who])} is not {principal.arn}")
            if not is_own_policy_name(p["PolicyName"]):
                raise JournalError(f"{where}: policy name {_show(p['PolicyName'])} does not start "
                                   "with deescalate-")
            if put:
                _own_doc(p["PolicyDocument"], where)
        case (Api.ATTACH_USER_POLICY | Api.ATTACH_ROLE_POLICY
              | Api.DETACH_USER_POLICY | Api.DETACH_ROLE_POLICY):
            if call.api not in (Api.of("Attach", kind), Api.of("Detach", kind)):
                raise JournalError(f"{where}: iam:{call.api} on a {kind} ({principal.arn})")
            p = _params(call, {who, "PolicyArn"}, where)
            if p[who] != principal.name or p["PolicyArn"] != mine_arn:
                raise JournalError(f"{where}: iam:{call.api} {who}={_show(p[who])} "
                                   f"PolicyArn={_show(p['PolicyArn'])}: apply only attaches {mine_arn} "
                                   f"to {principal.arn}")
        case Api.CREATE_POLICY:
            p = _params(call, {"PolicyName", "PolicyDocument", "Description"}, where)
            if p["PolicyName"] != managed_policy_name(principal.arn) or not isinstance(p["Description"], str):
                raise JournalError(f"{where}: CreatePolicy of {_show(p['PolicyName'])}, apply creates "
                                   f"{managed_policy_name(principal.arn)} for {principal.arn}")
            _own_doc(p["PolicyDocument"], where)
        case Api.CREATE_POLICY_VERSION:
            p = _params(call, {"PolicyArn", "PolicyDocument", "SetAsDefault"}, where)
            if p["PolicyArn"] != mine_arn or p["SetAsDefault"] is not True:
                raise JournalError(f"{where}: CreatePolicyVersion on {_show(p['PolicyArn'])}, apply only "
                                   f"versions {mine_arn}")
            _own_doc(p["PolicyDocument"], where)
        case Api.DELETE_OWN_MANAGED_POLICY:
            p = _params(call, {"PolicyArn"}, where)
            if p["PolicyArn"] != mine_arn:
                raise JournalError(f"{where}: {call.api} of {_show(p['PolicyArn'])}, not {mine_arn}")
        case Api.RESTORE_POLICY_VERSIONS:
            p = _params(call, {"PolicyArn", "DefaultVersionId", "Keep"}, where)
            keep = p["Keep"]
            if (p["PolicyArn"] != mine_arn or not is_version_id(p["DefaultVersionId"])
                    or not isinstance(keep, list) or not 1 <= len(keep) <= 5
                    or not all(is_version_id(v) for v in keep) or p["DefaultVersionId"] not in keep):
                raise JournalError(f"{where}: {call.api} with parameters apply does not write")
        case Api.DELETE_GROUP_POLICY:
            raise JournalError(f"{where}: iam:{call.api}: apply never writes to a group")
        case _:
            assert_never(call.api)


# The one undo apply records for each call: api -> the undo apis it may carry.
_UNDO: dict[Api, tuple[Api, ...]] = {
    Api.PUT_USER_POLICY: (Api.DELETE_USER_POLICY, Api.PUT_USER_POLICY),
    Api.PUT_ROLE_POLICY: (Api.DELETE_ROLE_POLICY, Api.PUT_ROLE_POLICY),
    Api.DELETE_USER_POLICY: (Api.PUT_USER_POLICY,),
    Api.DELETE_ROLE_POLICY: (Api.PUT_ROLE_POLICY,),
    Api.ATTACH_USER_POLICY: (Api.DETACH_USER_POLICY,),
    Api.ATTACH_ROLE_POLICY: (Api.DETACH_ROLE_POLICY,),
    Api.DETACH_USER_POLICY: (Api.ATTACH_USER_POLICY,),
    Api.DETACH_ROLE_POLICY: (Api.ATTACH_ROLE_POLICY,),
    Api.CREATE_POLICY: (Api.DELETE_OWN_MANAGED_POLICY,),
    Api.CREATE_POLICY_VERSION: (Api.RESTORE_POLICY_VERSIONS,),
}


def check_call(call: Call, where: str) -> IamPrincipal:
    """Refuse (JournalError) a call, with its undo, that apply could not have made.

    Apply makes exactly: Put/Delete{User,Role}Policy of a `deescalate-…` inline policy holding a
    document deescalate writes; CreatePolicy/CreatePolicyVersion of the principal's own
    `deescalate-deny-…` managed policy; Attach/Detach{User,Role}Policy of that policy; each with one
    undo on the same principal and policy (`_UNDO`). The principal is a user or role ARN.
    """
    principal = iam_principal(call.principal)
    if principal is None:
        raise JournalError(f"{where}: principal {_show(call.principal)} is not an IAM user or role ARN")
    if call.api not in _UNDO:
        raise JournalError(f"{where}: iam:{call.api} is not a call apply makes")
    _check_target(call, principal, where)
    if len(call.undo) != 1:
        raise JournalError(f"{where}: iam:{call.api} must carry exactly one undo, found {len(call.undo)}")
    (undo,) = call.undo
    uwhere = f"{where}: its undo"
    if undo.api not in _UNDO[call.api]:
        raise JournalError(f"{uwhere} iam:{undo.api} does not undo iam:{call.api}")
    if undo.undo or undo.principal not in ("", call.principal):
        raise JournalError(f"{uwhere} is not an undo apply writes")
    _check_target(undo, principal, uwhere)
    name_of = call.params.get("PolicyName")
    if "PolicyName" in undo.params and undo.params["PolicyName"] != name_of:
        raise JournalError(f"{uwhere} names another policy ({_show(undo.params['PolicyName'])})")
    return principal
