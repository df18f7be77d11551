"""An escalation checker written apart from deescalate, for end-to-end tests of remediation.

It reads a collected snapshot directory's *raw* AWS responses (GetAccountAuthorizationDetails,
GetLoginProfile, ListAccessKeys) and answers "can this principal become an administrator?" with
its own small policy evaluator and its own search. It imports nothing from deescalate: a plan is
only as verified as the model that checks it, so the tests check the plan with a second model,
written from the AWS documentation:

- Evaluation (single account, identity-based policies, permissions boundary, explicit deny wins):
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
  Actions match case-insensitively, resources case-sensitively, both with `*`/`?` wildcards
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html,
  .../reference_policies_elements_resource.html). `${aws:username}` is substituted. Conditions
  the checker does not know are decided in the attacker's favour (an Allow holds, a Deny does not).
- Role trust: in the same account a trust policy naming the principal's ARN admits it without an
  identity Allow; one naming the account (root/id) needs the identity policy to allow
  sts:AssumeRole too (.../reference_policies_evaluation-logic-cross-account.html and
  .../id_roles_terms-and-concepts.html).
- Which resource each action is authorized on follows the Service Authorization Reference
  (https://docs.aws.amazon.com/service-authorization/latest/reference/): iam:* actions on the
  user/role/group/policy named in the call; lambda:CreateFunction on the function,
  lambda:CreateEventSourceMapping and glue:CreateDevEndpoint on "*" (no resource type).

Several accounts (`Checker(dir_a, dir_b, ...)`, each a collected account): a role of another account
is assumed only when its trust policy names the principal or the principal's account *and* the
principal's own identity policies allow sts:AssumeRole on it (cross-account access needs both
sides: .../reference_policies_evaluation-logic-cross-account.html); every other move (IAM writes,
passing a role, groups) stays inside the acting principal's account.

The search: the attacker controls a set of principals (at first only itself) and a changeable
world (groups joined, policies deleted or detached, policies written). It tries, from every
controlled principal: assume a role, create an access key (fewer than two) or a console password
(CreateLoginProfile without one, UpdateLoginProfile with one), rewrite a role's trust, pass a role
trusting Lambda (CreateFunction + InvokeFunction or CreateEventSourceMapping) or Glue
(CreateDevEndpoint); attach AdministratorAccess / put an inline policy / write a policy version on
a controlled user or role (a boundary caps it), on a group a controlled user is in or can be
added to; add a controlled user to a group; delete or detach a policy holding a Deny. It wins when
a controlled principal is allowed `*` on `*`.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
_ADMIN_DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _doc(raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        raw = json.loads(unquote(raw)) if raw.startswith("%7B") else json.loads(raw)
    return dict(raw)


def _list(x: Any) -> list[Any]:
    if x is None:
        return []
    return x if isinstance(x, list) else [x]


@dataclass
class Principal:
    arn: str
    name: str
    kind: str  # "user" or "role"
    inline: dict[str, dict[str, Any]] = field(default_factory=dict)
    managed: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)  # group names
    boundary: str | None = None
    trust: dict[str, Any] | None = None
    has_password: bool = False
    keys: int = 0


@dataclass
class Account:
    account_id: str
    principals: dict[str, Principal]
    groups: dict[str, tuple[str, dict[str, dict[str, Any]], list[str]]]  # name -> (arn, inline, managed)
    policies: dict[str, dict[str, Any]]  # managed policy ARN -> default version document
    customer: set[str]  # customer managed policy ARNs


def load(directory: Path) -> Account:
    details = json.loads((directory / "iam/get-account-authorization-details.json").read_text())
    logins = _read_map(directory / "iam/get-login-profile.json")
    keys = _read_map(directory / "iam/list-access-keys.json")
    policies: dict[str, dict[str, Any]] = {}
    customer: set[str] = set()
    for p in details.get("Policies", []):
        for v in p.get("PolicyVersionList", []):
            if v.get("IsDefaultVersion"):
                policies[p["Arn"]] = _doc(v["Document"])
        if ":aws:policy/" not in p["Arn"]:
            customer.add(p["Arn"])
    principals: dict[str, Principal] = {}
    account = ""
    for u in details.get("UserDetailList", []):
        account = u["Arn"].split(":")[4]
        login = logins.get(u["UserName"])
        principals[u["Arn"]] = Principal(
            arn=u["Arn"],
            name=u["UserName"],
            kind="user",
            inline={p["PolicyName"]: _doc(p["PolicyDocument"]) for p in u.get("UserPolicyList", [])},
            managed=[m["PolicyArn"] for m in u.get("AttachedManagedPolicies", [])],
            groups=[f"{u['Arn'].split(':')[4]}/{g}" for g in u.get("GroupList", [])],
            boundary=(u.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
            has_password=bool(login),
            keys=len((keys.get(u["UserName"]) or {}).get("AccessKeyMetadata", [])),
        )
    for r in details.get("RoleDetailList", []):
        account = r["Arn"].split(":")[4]
        principals[r["Arn"]] = Principal(
            arn=r["Arn"],
            name=r["RoleName"],
            kind="role",
            inline={p["PolicyName"]: _doc(p["PolicyDocument"]) for p in r.get("RolePolicyList", [])},
            managed=[m["PolicyArn"] for m in r.get("AttachedManagedPolicies", [])],
            boundary=(r.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
            trust=_doc(r["AssumeRolePolicyDocument"]),
        )
    groups = {
        f"{g['Arn'].split(':')[4]}/{g['GroupName']}": (
            g["Arn"],
            {p["PolicyName"]: _doc(p["PolicyDocument"]) for p in g.get("GroupPolicyList", [])},
            [m["PolicyArn"] for m in g.get("AttachedManagedPolicies", [])],
        )
        for g in details.get("GroupDetailList", [])
    }
    return Account(account_id=account, principals=principals, groups=groups, policies=policies, customer=customer)


def _read_map(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text())) if path.exists() else {}


# ----------------------------------------------------------------------------- the world


@dataclass(frozen=True)
class World:
    """Changes the attacker made: (user ARN, group "ACCOUNT/NAME") joins; (owner ARN or group, policy) removed;
    principals / groups given an admin policy."""

    joined: frozenset[tuple[str, str]] = frozenset()
    removed: frozenset[tuple[str, str]] = frozenset()
    empowered: frozenset[str] = frozenset()


def _statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in _list(doc.get("Statement")) if isinstance(s, dict)]


def _matches(patterns: list[str], value: str, *, case: bool) -> bool:
    for p in patterns:
        if case:
            if fnmatch.fnmatchcase(value, p):
                return True
        elif fnmatch.fnmatchcase(value.lower(), p.lower()):
            return True
    return False


def _condition_holds(cond: dict[str, Any], context: dict[str, str], *, for_allow: bool) -> bool:
    for op, block in cond.items():
        for key, values in block.items():
            if key not in context:
                return for_allow  # unknown: the attacker's favour
            vals = [str(v) for v in _list(values)]
            base = op.replace("IfExists", "")
            if base in ("StringEquals", "ArnEquals"):
                ok = context[key] in vals
            elif base in ("StringLike", "ArnLike"):
                ok = any(fnmatch.fnmatchcase(context[key], v) for v in vals)
            elif base in ("StringNotEquals", "ArnNotEquals"):
                ok = context[key] not in vals
            else:
                return for_allow
            if not ok:
                return False
    return True


def _applies(st: dict[str, Any], action: str, resource: str, context: dict[str, str], username: str) -> bool:
    def sub(values: list[str]) -> list[str]:
        return [re.sub(r"\$\{aws:username\}", username, v) for v in values]

    if "Action" in st:
        if not _matches(_list(st["Action"]), action, case=False):
            return False
    elif _matches(_list(st.get("NotAction")), action, case=False):
        return False
    if "Resource" in st:
        if not _matches(sub(_list(st["Resource"])), resource, case=True):
            return False
    elif "NotResource" in st and _matches(sub(_list(st["NotResource"])), resource, case=True):
        return False
    cond = st.get("Condition")
    return not cond or _condition_holds(cond, context, for_allow=st.get("Effect") == "Allow")


class Checker:
    """Can a principal of the collected account become an administrator?"""

    def __init__(self, *directories: Path) -> None:
        accounts = [load(d) for d in directories]
        first = accounts[0]
        self.account = Account(
            account_id=first.account_id,
            principals={k: v for a in accounts for k, v in a.principals.items()},
            groups={k: v for a in accounts for k, v in a.groups.items()},
            policies={k: v for a in accounts for k, v in a.policies.items()},
            customer={c for a in accounts for c in a.customer},
        )

    # ------------------------------------------------------------------ evaluation

    def identity_docs(self, p: Principal, world: World) -> list[dict[str, Any]]:
        docs = [d for name, d in p.inline.items() if (p.arn, name) not in world.removed]
        docs += [self.account.policies[a] for a in p.managed
                 if a in self.account.policies and (p.arn, a) not in world.removed]
        if p.arn in world.empowered:
            docs.append(_ADMIN_DOC)
        if p.kind == "user":
            names = set(p.groups) | {g for u, g in world.joined if u == p.arn}
            for g in sorted(names):
                if g not in self.account.groups:
                    continue
                garn, inline, managed = self.account.groups[g]
                docs += [d for n, d in inline.items() if (garn, n) not in world.removed]
                docs += [self.account.policies[a] for a in managed
                         if a in self.account.policies and (garn, a) not in world.removed]
                if garn in world.empowered:
                    docs.append(_ADMIN_DOC)
        return docs

    def allowed(self, p: Principal, world: World, action: str, resource: str,
                context: dict[str, str] | None = None) -> bool:
        ctx = context or {}
        docs = self.identity_docs(p, world)
        boundary = self.account.policies.get(p.boundary) if p.boundary else None
        every = [*docs, *([boundary] if boundary else [])]
        for d in every:
            for st in _statements(d):
                if st.get("Effect") == "Deny" and _applies(st, action, resource, ctx, p.name):
                    return False
        allow = any(
            st.get("Effect") == "Allow" and _applies(st, action, resource, ctx, p.name)
            for d in docs for st in _statements(d)
        )
        if not allow:
            return False
        if p.boundary:
            if boundary is None:
                return False
            return any(st.get("Effect") == "Allow" and _applies(st, action, resource, ctx, p.name)
                       for st in _statements(boundary))
        return True

    def is_admin(self, p: Principal, world: World) -> bool:
        return self.allowed(p, world, "iam:anything", "*") and self.allowed(p, world, "ec2:anything", "*") \
            and self.allowed(p, world, "s3:anything", "arn:aws:s3:::any") and self._no_hard_deny(p, world)

    def _no_hard_deny(self, p: Principal, world: World) -> bool:
        return not any(
            st.get("Effect") == "Deny" and not st.get("Condition")
            for d in self.identity_docs(p, world) for st in _statements(d)
        )

    def may_assume(self, p: Principal, role: Principal, world: World) -> bool:
        trust = role.trust or {}
        acct = _account(p.arn)
        cross = acct != _account(role.arn)
        named = False
        by_account = False
        for st in _statements(trust):
            if not _matches(_list(st.get("Action")), "sts:AssumeRole", case=False):
                continue
            aws = _list((st.get("Principal") or {}).get("AWS")) if isinstance(st.get("Principal"), dict) else []
            if st.get("Principal") == "*":
                aws = ["*"]
            if st.get("Effect") == "Deny" and (p.arn in aws or "*" in aws):
                return False
            if st.get("Effect") != "Allow":
                continue
            if p.arn in aws:
                named = True
            if any(a in (acct, f"arn:aws:iam::{acct}:root", "*") for a in aws):
                by_account = True
        if not named and not by_account:
            return False
        deny_free = self._not_denied(p, world, "sts:AssumeRole", role.arn)
        if named and not cross:
            return deny_free
        return self.allowed(p, world, "sts:AssumeRole", role.arn)

    def _not_denied(self, p: Principal, world: World, action: str, resource: str) -> bool:
        docs = self.identity_docs(p, world)
        boundary = self.account.policies.get(p.boundary) if p.boundary else None
        return not any(
            st.get("Effect") == "Deny" and _applies(st, action, resource, {}, p.name)
            for d in [*docs, *([boundary] if boundary else [])] for st in _statements(d)
        )

    # ------------------------------------------------------------------ the search

    def trusts(self, role: Principal, service: str) -> bool:
        for st in _statements(role.trust or {}):
            svc = (st.get("Principal") or {}).get("Service") if isinstance(st.get("Principal"), dict) else None
            if st.get("Effect") == "Allow" and service in _list(svc):
                return True
        return False

    def _uncapped(self, p: Principal) -> bool:
        if p.boundary is None:
            return True
        b = self.account.policies.get(p.boundary)
        return b is not None and any(
            st.get("Effect") == "Allow" and st.get("Action") in ("*", ["*"]) and st.get("Resource") in ("*", ["*"])
            for st in _statements(b)
        )

    def escalation(self, start_arn: str, *, max_states: int = 20_000) -> list[str] | None:
        """The steps by which `start_arn` becomes admin, or None when it cannot."""
        start = self.account.principals[start_arn]
        first = (frozenset([start.arn]), World())
        seen = {first}
        queue: deque[tuple[frozenset[str], World, list[str]]] = deque([(first[0], first[1], [])])
        while queue:
            controlled, world, steps = queue.popleft()
            for arn in sorted(controlled):
                if self.is_admin(self.account.principals[arn], world):
                    return [*steps, f"{arn} is admin"]
            for c2, w2, step in self._moves(controlled, world):
                key = (c2, w2)
                if key in seen:
                    continue
                seen.add(key)
                if len(seen) > max_states:
                    raise RuntimeError("search space too large for the checker")
                queue.append((c2, w2, [*steps, step]))
        return None

    def _moves(self, controlled: frozenset[str], world: World) -> list[tuple[frozenset[str], World, str]]:
        acct = self.account
        out: list[tuple[frozenset[str], World, str]] = []
        users = [p for p in acct.principals.values() if p.kind == "user"]
        roles = [p for p in acct.principals.values() if p.kind == "role"]
        for arn in sorted(controlled):
            me = acct.principals[arn]
            home = _account(me.arn)
            fn = f"arn:aws:lambda:us-east-1:{home}:function:checker"

            def may(action: str, resource: str, context: dict[str, str] | None = None, me: Principal = me) -> bool:
                return self.allowed(me, world, action, resource, context)

            for r in roles:
                if r.arn in controlled:
                    continue
                if self.may_assume(me, r, world):
                    out.append((controlled | {r.arn}, world, f"{me.name} assumes {r.name}"))
                elif _account(r.arn) != home:
                    continue  # nothing else reaches into another account
                elif may("iam:UpdateAssumeRolePolicy", r.arn) and self._not_denied(me, world, "sts:AssumeRole", r.arn):
                    out.append((controlled | {r.arn}, world, f"{me.name} rewrites {r.name}'s trust"))
                elif self.trusts(r, "lambda.amazonaws.com") and may(
                    "iam:PassRole", r.arn, {"iam:PassedToService": "lambda.amazonaws.com"}
                ) and may("lambda:CreateFunction", fn) and (
                    may("lambda:InvokeFunction", fn) or may("lambda:CreateEventSourceMapping", "*")
                ):
                    out.append((controlled | {r.arn}, world, f"{me.name} runs a Lambda function as {r.name}"))
                elif self.trusts(r, "glue.amazonaws.com") and may(
                    "iam:PassRole", r.arn, {"iam:PassedToService": "glue.amazonaws.com"}
                ) and may("glue:CreateDevEndpoint", "*"):
                    out.append((controlled | {r.arn}, world, f"{me.name} opens a Glue dev endpoint as {r.name}"))
            for u in users:
                if u.arn in controlled or _account(u.arn) != home:
                    continue
                if u.keys < 2 and may("iam:CreateAccessKey", u.arn):
                    out.append((controlled | {u.arn}, world, f"{me.name} creates an access key for {u.name}"))
                elif not u.has_password and may("iam:CreateLoginProfile", u.arn):
                    out.append((controlled | {u.arn}, world, f"{me.name} gives {u.name} a password"))
                elif u.has_password and may("iam:UpdateLoginProfile", u.arn):
                    out.append((controlled | {u.arn}, world, f"{me.name} changes {u.name}'s password"))
            # rewrites of controlled principals
            for t in sorted(controlled):
                target = acct.principals[t]
                if t in world.empowered or not self._uncapped(target) or _account(t) != home:
                    continue
                kind = "User" if target.kind == "user" else "Role"
                attached = [a for a in target.managed if a in acct.customer]
                if (
                    may(f"iam:Attach{kind}Policy", t, {"iam:PolicyARN": ADMIN_POLICY})
                    or may(f"iam:Put{kind}Policy", t)
                    or any(may("iam:CreatePolicyVersion", a) for a in attached)
                ):
                    out.append((controlled, _with(world, empowered=t), f"{me.name} gives {target.name} an admin policy"))
            # groups
            for gkey, (garn, _inline, managed) in sorted(acct.groups.items()):
                gname = gkey.split("/", 1)[1]
                if _account(garn) != home:
                    continue
                rewrite = (
                    may("iam:PutGroupPolicy", garn)
                    or may("iam:AttachGroupPolicy", garn, {"iam:PolicyARN": ADMIN_POLICY})
                    or any(may("iam:CreatePolicyVersion", a) for a in managed if a in acct.customer)
                )
                if rewrite and garn not in world.empowered:
                    out.append((controlled, _with(world, empowered=garn), f"{me.name} gives group {gname} an admin policy"))
                if may("iam:AddUserToGroup", garn):
                    for t in sorted(controlled):
                        u = acct.principals[t]
                        if (u.kind == "user" and _account(t) == home and gkey not in u.groups
                                and (u.arn, gkey) not in world.joined):
                            out.append((controlled, _with(world, joined=(u.arn, gkey)),
                                        f"{me.name} adds {u.name} to group {gname}"))
            # removing denies from controlled principals (and their groups)
            for t in sorted(controlled):
                target = acct.principals[t]
                if _account(t) != home:
                    continue
                kind = "User" if target.kind == "user" else "Role"
                for name, d in target.inline.items():
                    if (t, name) not in world.removed and _has_deny(d) and (
                        may(f"iam:Delete{kind}Policy", t) or may(f"iam:Put{kind}Policy", t)
                    ):
                        out.append((controlled, _with(world, removed=(t, name)),
                                    f"{me.name} deletes {target.name}'s policy {name}"))
                for a in target.managed:
                    if (t, a) not in world.removed and _has_deny(acct.policies.get(a, {})) and (
                        may(f"iam:Detach{kind}Policy", t, {"iam:PolicyARN": a})
                        or (a in acct.customer and may("iam:CreatePolicyVersion", a))
                    ):
                        out.append((controlled, _with(world, removed=(t, a)),
                                    f"{me.name} detaches {a} from {target.name}"))
        return out


def _account(arn: str) -> str:
    return arn.split(":")[4]


def _has_deny(doc: dict[str, Any]) -> bool:
    return any(st.get("Effect") == "Deny" for st in _statements(doc))


def _with(world: World, *, joined: tuple[str, str] | None = None, removed: tuple[str, str] | None = None,
          empowered: str | None = None) -> World:
    return World(
        joined=world.joined | ({joined} if joined else set()),
        removed=world.removed | ({removed} if removed else set()),
        empowered=world.empowered | ({empowered} if empowered else set()),
    )
