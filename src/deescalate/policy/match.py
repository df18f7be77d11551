"""Matchers for Action/NotAction, Resource/NotResource and Principal/NotPrincipal, compiled once.

- Actions are `service:Name` and match case-insensitively, with `*` and `?`
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).
  A pattern list is compiled into: a set of exact names, one `GlobSet` per service prefix for the
  wildcard names of that service (its `Describe*`-style prefixes tested in one `str.startswith`),
  and one for the rare patterns with a wildcard in the service part. The answer for an action is
  remembered (AWS's ReadOnlyAccess lists 2,677 patterns).
- Wildcards are matched by `deescalate.policy.wildcard` in linear time, never by a generated
  regular expression (a backtracking regex over `*a*b*a*b...` patterns takes exponential time);
  `wildcard_match`, `arn_like`, `Glob` and `GlobSet` are re-exported here: this module is where
  every caller that matches an IAM pattern goes.
- Resources are ARNs and match case-sensitively; `*` may cross `:` and `/`
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
- Principals follow https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html:
  `*` is everyone, an account id or `arn:...:root` is the account (a delegation to it), a user ARN
  is that user, a role ARN every session of that role, an `assumed-role` ARN one session.
"""

from __future__ import annotations

from enum import IntEnum
from functools import lru_cache

from deescalate.arn import account_of, partition_of
from deescalate.model import PrincipalSpec
from deescalate.policy.variables import UNKNOWN, Lookup, LookupFn, Template, parse_template, resolve
from deescalate.policy.wildcard import Glob, GlobSet, arn_like, glob, has_wildcard, wildcard_match

__all__ = [
    "ActionMatcher",
    "Caller",
    "Glob",
    "GlobSet",
    "PrincipalMatcher",
    "ResourceMatcher",
    "Via",
    "action_matches",
    "actions_match",
    "arn_like",
    "glob",
    "has_wildcard",
    "resource_matches",
    "wildcard_match",
]


class ActionMatcher:
    __slots__ = ("everything", "exact", "global_globs", "memo", "per_service", "services")

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.everything = False
        # Action -> matches: one dict lookup on the hot path (matchers are shared by equal lists).
        self.memo: dict[str, bool] = {}
        exact: set[str] = set()
        wild: dict[str, list[str]] = {}
        global_wild: list[str] = []
        for raw in patterns:
            p = raw.strip().lower()
            if p == "*":
                self.everything = True
                continue
            svc, sep, name = p.partition(":")
            if not sep:
                continue  # not an action AWS would accept; matches nothing
            if has_wildcard(svc):
                global_wild.append(p)
            elif has_wildcard(name):
                wild.setdefault(svc, []).append(name)
            else:
                exact.add(p)
        self.exact = frozenset(exact)
        self.per_service = {svc: GlobSet(names) for svc, names in wild.items()}
        self.global_globs = GlobSet(global_wild) if global_wild else None
        # Service prefixes this list can match, or None for "any service" (used to index statements).
        if self.everything or self.global_globs is not None:
            self.services: frozenset[str] | None = None
        else:
            self.services = frozenset({a.partition(":")[0] for a in exact} | set(wild))

    def remember(self, action: str, service: str, name: str) -> bool:
        """`matches`, kept in `memo`."""
        if len(self.memo) > 100_000:
            self.memo.clear()
        hit = self.memo[action] = self.matches(action, service, name)
        return hit

    def recall(self, action: str) -> bool:
        """`matches` of a lower-cased action, from `memo` when it is there (the evaluator's own
        hot path reads `memo` inline, with the halves its request already holds)."""
        hit = self.memo.get(action)
        if hit is None:
            service, _, name = action.partition(":")
            hit = self.remember(action, service, name)
        return hit

    def matches(self, action: str, service: str, name: str) -> bool:
        """`action` lower-cased `service:name`, with its two halves."""
        if self.everything or action in self.exact:
            return True
        names = self.per_service.get(service)
        if names is not None and names.match(name):
            return True
        return self.global_globs is not None and self.global_globs.match(action)


def actions_match(patterns: tuple[str, ...], action: str) -> bool:
    """Whether an Action list matches `action`, exactly as the evaluator matches it.

    For the callers outside the evaluator (trust policies read by technique checkers, plans):
    case-insensitive, `*` and `?` the only wildcards (`[` and `]` are literal, unlike fnmatch).
    """
    low = action.lower()
    service, _, name = low.partition(":")
    return _action_matcher(patterns).matches(low, service, name)


def action_matches(pattern: str, action: str) -> bool:
    """Whether one Action pattern matches `action` (see `actions_match`)."""
    return actions_match((pattern,), action)


@lru_cache(maxsize=4096)
def _action_matcher(patterns: tuple[str, ...]) -> ActionMatcher:
    return ActionMatcher(patterns)


def resource_matches(pattern: str, value: str) -> bool:
    """Whether one ARN pattern matches `value` the way a Resource element does.

    Case-sensitive; `*` matches any run of characters (`:` and `/` included), `?` exactly one;
    every other character is literal (`[`, `]` too). Also the rule for the ARN patterns a user
    writes (`--target`, suppressions, plan denies).
    """
    return wildcard_match(pattern, value)


class ResourceMatcher:
    """Resource patterns; those with policy variables are resolved per request."""

    __slots__ = ("everything", "exact", "globs", "memo", "templates")

    def __init__(self, patterns: tuple[str, ...], *, substitute: bool) -> None:
        self.everything = False
        exact: set[str] = set()
        wild: list[str] = []
        templates: list[Template] = []
        for p in patterns:
            t = parse_template(p, substitute=substitute)
            if t.has_vars or any(part[0] == "lit" for part in t.parts):
                templates.append(t)
            elif p == "*":
                self.everything = True
            elif has_wildcard(p):
                wild.append(p)
            else:
                exact.add(p)
        self.exact = frozenset(exact)
        self.globs = GlobSet(wild) if wild else None
        self.templates = tuple(templates)
        self.memo: dict[tuple[int, object], _Resolved | Lookup] = {}

    def matches_literal(self, resource: str) -> bool:
        """Whether a pattern without policy variables other than `*` matches `resource`."""
        return resource in self.exact or (self.globs is not None and self.globs.match(resource))

    def covers(self, prefix: str) -> bool:
        """Whether a pattern without policy variables matches every ARN that starts with `prefix`:
        `*`, or `X*` where X holds no wildcard and starts `prefix`."""
        return self.everything or (
            self.globs is not None and any(prefix.startswith(p) for p in self.globs.prefixes)
        )

    def matches(self, resource: str, lookup: LookupFn) -> bool | str | None:
        """True / False, or a description of the unknown key the match depends on; None when
        nothing matched and a pattern's variable cannot be resolved (the statement then does not
        apply, as Resource or as NotResource)."""
        if self.everything or self.matches_literal(resource):
            return True
        pending: str | None = None
        unresolvable = False
        for i, t in enumerate(self.templates):
            m = self._resolved(i, t, lookup)
            if m is UNKNOWN:
                pending = f"Resource {t.text} (depends on {', '.join(t.variables())})"
            elif isinstance(m, Lookup):
                unresolvable = True
                continue
            elif m[0] == "=":
                if resource == m[1]:
                    return True
            elif m[0] == "^":
                if resource.startswith(m[1]):
                    return True
            elif m[2] is not None and m[2].match(resource):
                return True
        if pending is not None:
            return pending
        return None if unresolvable else False


    def _resolved(self, i: int, t: Template, lookup: LookupFn) -> _Resolved | Lookup:
        """The template's matcher for this request; remembered per principal when the caller's
        context does not set any of its variables (then only the snapshot decides them)."""
        # Keyed by principal, or by principal and resource when a variable names a resource key.
        mk = lookup.resource_memo_key if t.resource_dependent else lookup.memo_key
        given = lookup.given
        if mk is None or (given and any(k in given for k in t.variables())):
            return self._resolve(t, lookup)
        key = (i, mk)
        hit = self.memo.get(key)
        if hit is None:
            if len(self.memo) > 100_000:
                self.memo.clear()
            hit = self.memo[key] = self._resolve(t, lookup)
        return hit

    @staticmethod
    def _resolve(t: Template, lookup: LookupFn) -> _Resolved | Lookup:
        """As a cheap matcher: ("=", text) exact, ("^", prefix) for one final `*`, else a `Glob`."""
        r = resolve(t, lookup)
        if isinstance(r, Lookup):
            return r
        if r.shape == "none":
            return ("=", r.literal_text, None)
        if r.shape == "suffix":
            return ("^", r.literal_text[:-1], None)
        return ("~", r.literal_text, r.glob)


# How a resolved Resource template matches: ("=", text, None), ("^", prefix, None), ("~", text, glob)
_Resolved = tuple[str, str, Glob | None]


class Via(IntEnum):
    """How a resource-based policy's Principal named the caller; decides which rule applies.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
    """

    NONE = 0
    ACCOUNT = 1  # the account (id or :root): delegation, the identity policy must allow too
    ROLE = 2  # the role ARN: grants every session, still limited by boundary and session policy
    DIRECT = 3  # the user ARN, the session ARN or "*": grants the principal (the session) itself


class Caller:
    """The facts about the requesting principal that Principal matching needs."""

    __slots__ = ("account", "arn", "has_boundary", "is_role", "name", "partition", "unique_id")

    def __init__(self, *, arn: str, is_role: bool, name: str, unique_id: str, has_boundary: bool) -> None:
        self.arn = arn
        self.account = account_of(arn)
        self.partition = partition_of(arn)
        self.is_role = is_role
        self.name = name
        self.unique_id = unique_id
        self.has_boundary = has_boundary


class PrincipalMatcher:
    __slots__ = ("entries", "memo", "negated")

    def __init__(self, spec: PrincipalSpec, *, negated: bool) -> None:
        self.entries = spec.entries
        self.negated = negated
        self.memo: dict[str, Via | str] = {}  # by caller ARN: the answer depends on the caller only

    def _via(self, caller: Caller) -> Via | str:
        best: Via = Via.NONE
        pending: str | None = None
        for ptype, value in self.entries:
            if ptype == "*" or (ptype == "AWS" and value == "*"):
                # Everyone, so the requester itself: for a role that is the role session, and a
                # grant to the session is not limited by the role's boundary or session policy
                # ("resource-based policies that grant permissions to an IAM role session ARN ...
                # are not limited by an implicit deny in identity-based policies, permissions
                # boundaries, or session policies":
                # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html).
                best = Via.DIRECT
                continue
            if ptype != "AWS":
                continue  # Service, Federated, CanonicalUser principals are never IAM users or roles
            if value == caller.account or value.endswith(f":iam::{caller.account}:root"):
                best = max(best, Via.ACCOUNT)
            elif value == caller.arn or (caller.unique_id and value == caller.unique_id):
                best = max(best, Via.ROLE if caller.is_role else Via.DIRECT)
            elif caller.is_role and value.startswith(
                f"arn:{caller.partition}:sts::{caller.account}:assumed-role/{caller.name}/"
            ):
                pending = f"the role session name is {value.rsplit('/', 1)[1]}"
        if best is Via.NONE and pending is not None:
            return pending
        return best

    def match(self, caller: Caller) -> Via | str:
        """Via.NONE when the statement does not apply; a string when it depends on the session name."""
        hit = self.memo.get(caller.arn)
        if hit is None:
            hit = self.memo[caller.arn] = self._match(caller)
        return hit

    def _match(self, caller: Caller) -> Via | str:
        via = self._via(caller)
        if not self.negated:
            return via
        if isinstance(via, str):
            return f"the role session name is not {via.rsplit(' ', 1)[1]}"
        # NotPrincipal: applies to everyone the list does not name, so to the requester (for a
        # role, the session) itself, as "*" does.
        if via is not Via.NONE:
            return Via.NONE
        return Via.DIRECT

