"""`deescalate explain`: may this principal do this action on this resource, and why?

One question from the command line, or many (`--batch FILE`, one JSON object per line, `-` for
stdin) answered in one process, one JSON result per line.

Exit codes: 0 a decision was made (whatever it is); 2 usage error (bad arguments, an unknown
principal in single mode, a malformed batch line); 3 runtime error (unreadable snapshot, a policy
AWS would reject). In batch mode a bad line yields `{"line": N, "error": ...}` and the exit code
is 2 (malformed line / unknown principal) or 3 (evaluation error) once every line is answered.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from deescalate.commands.snapshot_args import load_snapshot_args
from deescalate.errors import (
    EXIT_CLEAN,
    EXIT_RUNTIME,
    EXIT_USAGE,
    DeescalateError,
    MissingInputError,
    PolicyError,
    UsageError,
    empty_file,
)
from deescalate.model import Policy, PolicyKind, PolicyRef, Snapshot
from deescalate.policy.evaluate import Authorizer
from deescalate.policy.explain import (
    check_action,
    decision_json,
    decision_text,
    parse_context,
    resolve_principal,
)
from deescalate.policy.parse import parse_policy
from deescalate.terminal import clean


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "explain",
        help="decide one request (principal, action, resource) and show the statements behind it",
        description="Evaluate a request the way AWS would (identity, resource and trust policies, "
        "boundaries, SCPs/RCPs, conditions) against a snapshot, and print the decision (allow, deny, "
        "or conditional on context keys the snapshot cannot know) with the statements that made it. "
        "Exit 0 when a decision was made, 2 usage error, 3 runtime error.",
    )
    p.add_argument("snapshot", nargs="*", metavar="SNAPSHOT",
                   help="snapshot directory or get-account-authorization-details file; several are "
                   "merged (cross-account requests between them are evaluated)")
    p.add_argument("--demo", action="store_true", help="use the packaged demo account as SNAPSHOT")
    p.add_argument("--principal", help="user or role ARN (or its unique name)")
    p.add_argument("--action", help="e.g. iam:PassRole (case-insensitive)")
    p.add_argument("--resource", default="*", help="resource ARN (default: *)")
    p.add_argument("--context", action="append", default=[], metavar="KEY=VALUE",
                   help="a request context value, e.g. aws:SourceIp=203.0.113.7 (repeatable; a key "
                   "given twice is multi-valued; KEY= means the key is absent)")
    p.add_argument("--session-policy", action="append", default=[], metavar="FILE",
                   help="a session policy document (JSON) for a role principal's session (repeatable: "
                   "several count as one, their union)")
    p.add_argument("--complete-context", action="store_true",
                   help="the --context values are the whole request context: a key not given is absent "
                   "(as in AWS's policy simulator), so the answer is allow or deny, never conditional; "
                   "in --batch mode it applies to every line (a line may say \"complete_context\": true)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--batch", metavar="FILE",
                   help="JSON lines of {principal, action, resource, context, complete_context}; "
                   "'-' reads stdin")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.batch is None:
        if not args.principal or not args.action:
            raise UsageError("--principal and --action are required (or --batch FILE)")
        check_action(args.action)
        context = parse_context(args.context)
        sessions = tuple(_session_policy(path) for path in args.session_policy)
        snap = load_snapshot_args(args.snapshot, demo=args.demo)
        principal = resolve_principal(snap, args.principal)
        if sessions and principal not in snap.roles:
            raise UsageError("--session-policy applies to a role session; give a role as --principal")
        decision = Authorizer(snap).decide(principal, args.action, args.resource, context,
                                           session_policies=sessions,
                                           complete_context=args.complete_context)
        if args.format == "json":
            out = decision_json(decision, principal=principal, action=args.action,
                                resource=args.resource, context=context,
                                complete_context=args.complete_context)
            print(json.dumps(out, indent=2))
        else:
            text = decision_text(decision, principal=principal, action=args.action, resource=args.resource)
            print(clean(text, keep_newlines=True))
        return EXIT_CLEAN
    if args.principal or args.action or args.context or args.session_policy:
        raise UsageError("--batch takes the requests from FILE; drop --principal/--action/--context/"
                         "--session-policy")
    snap = load_snapshot_args(args.snapshot, demo=args.demo)
    if args.batch == "-":
        return _batch(snap, sys.stdin, complete=args.complete_context)
    try:
        with open(args.batch, encoding="utf-8") as fh:
            return _batch(snap, fh, complete=args.complete_context)
    except FileNotFoundError as e:
        raise MissingInputError("batch file", args.batch) from e
    except OSError as e:
        raise UsageError(f"--batch {args.batch}: {e.strerror or e}") from e


def _session_policy(path: str) -> Policy:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError as e:
        raise MissingInputError("session policy", path) from e
    except OSError as e:
        raise UsageError(f"--session-policy {path}: {e.strerror or e}") from e
    if not text.strip():
        raise UsageError(f"--session-policy {empty_file(path)}")
    try:
        ref = PolicyRef(kind=PolicyKind.SESSION, name=path)
        return parse_policy(text, ref, where=f"--session-policy {path}")
    except PolicyError as e:  # a bad argument: usage error, not a broken snapshot
        raise UsageError(str(e)) from e


def _request(raw: Any, complete: bool) -> tuple[str, str, str, dict[str, Any], bool]:
    if not isinstance(raw, dict):
        raise UsageError("each line must be a JSON object")
    complete_line = raw.get("complete_context", complete)
    if not isinstance(complete_line, bool):
        raise UsageError('"complete_context" must be true or false')
    principal, action = raw.get("principal"), raw.get("action")
    resource = raw.get("resource", "*")
    context = raw.get("context") or {}
    if not isinstance(principal, str) or not isinstance(action, str) or not isinstance(resource, str):
        raise UsageError('"principal", "action" (and "resource", default "*") must be strings')
    if not isinstance(context, dict) or not all(
        isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
        for v in context.values()
    ):
        raise UsageError('"context" must map keys to a string or a list of strings')
    check_action(action, '"action"')
    return principal, action, resource, context, complete_line


def _batch(snap: Snapshot, lines: TextIO, *, complete: bool) -> int:
    auth = Authorizer(snap)
    worst = EXIT_CLEAN
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as e:
                raise UsageError(f"not JSON ({e.msg} at column {e.colno})") from e
            principal, action, resource, context, whole = _request(raw, complete)
            principal = resolve_principal(snap, principal)
            decision = auth.decide(principal, action, resource, context, complete_context=whole)
            out: dict[str, Any] = {"line": n, **decision_json(
                decision, principal=principal, action=action, resource=resource, context=context,
                complete_context=whole)}
        except DeescalateError as e:
            worst = max(worst, e.exit_code if e.exit_code in (EXIT_USAGE, EXIT_RUNTIME) else EXIT_RUNTIME)
            out = {"line": n, "error": str(e)}
        print(json.dumps(out), flush=False)
    sys.stdout.flush()
    return worst
