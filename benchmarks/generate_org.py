"""Generate a synthetic AWS Organization snapshot directory, for the organization benchmarks and tests.

    python benchmarks/generate_org.py --accounts 1000 --principals 1000 -o org-dir

writes the organization snapshot layout (/work/helpers/ORG-FORMAT.md, docs/snapshot.md):
DIR/manifest.json, DIR/organization/ (the Organizations responses for the whole organization) and
DIR/accounts/ID/ (one minimal snapshot directory per account: manifest.json, the IAM
get-account-authorization-details file, Lambda functions in us-east-1), plus DIR/expected.json,
the planted cross-account paths and traps a scan must find and must not report.

The organization:
- account 100000000000 is the management account (directly under the root), 100000000001 a
  security tooling account (OU security); the others are spread over OUs workloads/prod,
  workloads/dev and sandbox (5:3:2);
- SCPs: FullAWSAccess on every root, OU and account (as AWS attaches it), a Deny of
  organizations:LeaveOrganization on the root, a Deny of cloudtrail:StopLogging on prod, and on
  sandbox a Deny of sts:AssumeRole into the management and security accounts' roles;
- each account is one of benchmarks/shapes.py's realistic shapes (the mfa-wildcard cliff only
  when asked with --shapes) with about --principals principals, renamed into its account id;
- cross-account trusts as real organizations have them: OrganizationAccountAccessRole in every
  member (trusting the management account, AdministratorAccess), a security-audit role (trusting
  the security account with an sts:ExternalId condition, IAM read only) that the security
  account's auditor role may assume, and in every fifth account a vendor role trusting an account
  outside the organization with an ExternalId;
- planted cross-account escalations (about one of each per 100 accounts, at least two):
  direct (a CI user allowed to assume an admin role in the management account whose trust names
  it), external-id (a partner user assuming an admin role whose trust names its account on an
  ExternalId condition: conditional), chain (a user -> a relay role in another account -> an
  admin role in a third); and traps: the same CI set-up from a sandbox account (the sandbox SCP
  blocks it), and a user allowed to assume a role whose trust names somebody else.

Deterministic for a given seed. A few account templates are generated per shape and copied with
the account id replaced, which keeps 1,000 x 1,000 to about a minute of writing.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from generate_account import ACCOUNT, REFERENCE, _doc
from shapes import SHAPES, shaped

ORG_ID = "o-gen0000001"
ROOT = "r-gen0"
MANAGEMENT = "100000000000"
SECURITY = "100000000001"
ROLE = "OrganizationAccountAccessRole"
OUTSIDE = "999999999999"  # a vendor's account, outside the organization
REGION = "us-east-1"
COLLECTED_AT = "2026-01-01T00:00:00Z"
OUS = {  # id -> (name, parent)
    "ou-gen0-security": ("security", ROOT),
    "ou-gen0-workloads": ("workloads", ROOT),
    "ou-gen0-production": ("prod", "ou-gen0-workloads"),
    "ou-gen0-development": ("dev", "ou-gen0-workloads"),
    "ou-gen0-sandboxes": ("sandbox", ROOT),
}
DEFAULT_SHAPES = tuple(s for s in SHAPES if s != "mfa-wildcard")
TEMPLATE_SEEDS = 2  # distinct generated accounts per shape
INVENTORY = (
    "ec2:instance",
    "lambda:function",
    "cloudformation:stack",
    "codebuild:project",
    "glue:devendpoint",
    "glue:job",
    "sagemaker:notebook-instance",
    "ssm:managed-instance",
    "ecs:cluster",
)


_SPREAD = ("ou-gen0-production",) * 5 + ("ou-gen0-development",) * 3 + ("ou-gen0-sandboxes",) * 2


def account_id(index: int) -> str:
    return f"{100000000000 + index:012d}"


def ou_of(index: int) -> str:
    """The OU an account sits in (the management account: the root)."""
    if index == 0:
        return ROOT
    if index == 1:
        return "ou-gen0-security"
    return _SPREAD[index % len(_SPREAD)]


def ou_path(index: int) -> list[str]:
    """Root first, then the OUs down to the account's parent."""
    chain: list[str] = []
    node = ou_of(index)
    while node != ROOT:
        chain.append(node)
        node = OUS[node][1]
    return [ROOT, *reversed(chain)]


# ---------------------------------------------------------------------------- IAM pieces


def _iam_arn(account: str, kind: str, name: str) -> str:
    return f"arn:aws:iam::{account}:{kind}/{name}"


def _digits(account: str, name: str) -> str:
    """A stable 15-digit id part (str hash() changes from one process to the next)."""
    return f"{zlib.crc32(f'{account}/{name}'.encode()):015d}"


def _admin_policy() -> str:
    return str(json.loads(REFERENCE.read_text())["policies"]["AdministratorAccess"]["Arn"])


def _user(account: str, name: str, statements: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Path": "/",
        "UserName": name,
        "UserId": f"AIDAX{_digits(account, name)}",
        "Arn": _iam_arn(account, "user", name),
        "CreateDate": COLLECTED_AT,
        "UserPolicyList": [{"PolicyName": f"{name}-inline", "PolicyDocument": _doc(*statements)}]
        if statements
        else [],
        "GroupList": [],
        "AttachedManagedPolicies": [],
        "Tags": [],
    }


def _role(
    account: str,
    name: str,
    trust: dict[str, Any],
    *,
    statements: Sequence[dict[str, Any]] = (),
    managed: Sequence[str] = (),
) -> dict[str, Any]:
    return {
        "Path": "/",
        "RoleName": name,
        "RoleId": f"AROAX{_digits(account, name)}",
        "Arn": _iam_arn(account, "role", name),
        "CreateDate": COLLECTED_AT,
        "AssumeRolePolicyDocument": _doc(trust),
        "InstanceProfileList": [],
        "RolePolicyList": [{"PolicyName": f"{name}-inline", "PolicyDocument": _doc(*statements)}]
        if statements
        else [],
        "AttachedManagedPolicies": [{"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a} for a in managed],
        "Tags": [],
        "RoleLastUsed": {},
    }


def _trust(principal: str, external_id: str | None = None) -> dict[str, Any]:
    st: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if external_id is not None:
        st["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return st


def _may_assume(resource: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": resource}


class _Template:
    """One generated account, as JSON text with the placeholder account id, ready to be copied."""

    def __init__(self, shape: str, principals: int, seed: int) -> None:
        doc = shaped(shape, principals, seed=seed)
        ordered = {
            "UserDetailList": doc["UserDetailList"],
            "GroupDetailList": doc["GroupDetailList"],
            "Policies": doc["Policies"],
            "RoleDetailList": doc["RoleDetailList"],
        }
        self.text = json.dumps(ordered, separators=(",", ":"))
        head = '{"UserDetailList":['
        if (
            not self.text.startswith(head)
            or not self.text.endswith("]}")
            or not doc["UserDetailList"]
            or not doc["RoleDetailList"]
        ):
            raise ValueError(f"shape {shape}: unexpected document layout")
        self.head = head
        functions = [
            {
                "FunctionName": f"fn-{r['RoleName']}",
                "Role": r["Arn"],
                "FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn-{r['RoleName']}",
            }
            for r in doc["RoleDetailList"]
            if r["RoleName"].startswith("lambda-svc") or r["RoleName"] == "iam-automation"
        ]
        self.functions = json.dumps({"Functions": functions}, separators=(",", ":"))
        self.principals = len(doc["UserDetailList"]) + len(doc["RoleDetailList"])

    def details(self, account: str, users: list[dict[str, Any]], roles: list[dict[str, Any]]) -> str:
        text = self.text.replace(ACCOUNT, account)
        if users:
            extra = ",".join(json.dumps(u, separators=(",", ":")) for u in users)
            text = self.head + extra + "," + text[len(self.head) :]
        if roles:
            extra = ",".join(json.dumps(r, separators=(",", ":")) for r in roles)
            text = text[:-2] + "," + extra + "]}"
        return text


# ---------------------------------------------------------------------------- the organization


def _scp(
    pid: str, name: str, statements: Sequence[dict[str, Any]], *, aws_managed: bool = False
) -> dict[str, Any]:
    summary = {
        "Id": pid,
        "Arn": f"arn:aws:organizations::{MANAGEMENT}:policy/{ORG_ID}/service_control_policy/{pid}",
        "Name": name,
        "Description": "",
        "Type": "SERVICE_CONTROL_POLICY",
        "AwsManaged": aws_managed,
    }
    return {"Policy": {"PolicySummary": summary, "Content": json.dumps(_doc(*statements))}}


SCPS = {
    "p-FullAWSAccess": _scp(
        "p-FullAWSAccess",
        "FullAWSAccess",
        [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        aws_managed=True,
    ),
    "p-gen0denyleave": _scp(
        "p-gen0denyleave",
        "deny-leave-organization",
        [{"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}],
    ),
    "p-gen0prodtrail": _scp(
        "p-gen0prodtrail",
        "protect-cloudtrail",
        [{"Effect": "Deny", "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail"], "Resource": "*"}],
    ),
    "p-gen0sandbox": _scp(
        "p-gen0sandbox",
        "sandbox-no-assume-into-hubs",
        [
            {
                "Effect": "Deny",
                "Action": "sts:AssumeRole",
                "Resource": [_iam_arn(MANAGEMENT, "role", "*"), _iam_arn(SECURITY, "role", "*")],
            }
        ],
    ),
}
ATTACHED = {
    ROOT: ["p-FullAWSAccess", "p-gen0denyleave"],
    "ou-gen0-production": ["p-FullAWSAccess", "p-gen0prodtrail"],
    "ou-gen0-sandboxes": ["p-FullAWSAccess", "p-gen0sandbox"],
}


def _organization_files(accounts: int) -> dict[str, Any]:
    ids = [account_id(i) for i in range(accounts)]

    def listed(target: str) -> dict[str, Any]:
        pids = ATTACHED.get(target, ["p-FullAWSAccess"])
        return {"SERVICE_CONTROL_POLICY": {"Policies": [SCPS[p]["Policy"]["PolicySummary"] for p in pids]}}

    parents: dict[str, Any] = {}
    for ou, (_, parent) in OUS.items():
        parents[ou] = {
            "Parents": [{"Id": parent, "Type": "ROOT" if parent == ROOT else "ORGANIZATIONAL_UNIT"}]
        }
    for i, acct in enumerate(ids):
        parent = ou_of(i)
        parents[acct] = {
            "Parents": [{"Id": parent, "Type": "ROOT" if parent == ROOT else "ORGANIZATIONAL_UNIT"}]
        }
    accounts_list = [
        {
            "Id": acct,
            "Arn": f"arn:aws:organizations::{MANAGEMENT}:account/{ORG_ID}/{acct}",
            "Name": _name(i),
            "Email": f"aws+{acct}@example.com",
            "Status": "ACTIVE",
            "JoinedMethod": "CREATED",
            "JoinedTimestamp": COLLECTED_AT,
        }
        for i, acct in enumerate(ids)
    ]
    return {
        "describe-organization.json": {
            "Organization": {
                "Id": ORG_ID,
                "Arn": f"arn:aws:organizations::{MANAGEMENT}:organization/{ORG_ID}",
                "FeatureSet": "ALL",
                "MasterAccountArn": f"arn:aws:organizations::{MANAGEMENT}:account/{ORG_ID}/{MANAGEMENT}",
                "MasterAccountId": MANAGEMENT,
                "MasterAccountEmail": f"aws+{MANAGEMENT}@example.com",
            }
        },
        "list-roots.json": {
            "Roots": [
                {
                    "Id": ROOT,
                    "Arn": f"arn:aws:organizations::{MANAGEMENT}:root/{ORG_ID}/{ROOT}",
                    "Name": "Root",
                    "PolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}],
                }
            ]
        },
        "list-accounts.json": {"Accounts": accounts_list},
        "list-parents.json": parents,
        "describe-organizational-unit.json": {
            ou: {
                "OrganizationalUnit": {
                    "Id": ou,
                    "Name": name,
                    "Arn": f"arn:aws:organizations::{MANAGEMENT}:ou/{ORG_ID}/{ou}",
                }
            }
            for ou, (name, _) in OUS.items()
        },
        "list-policies-for-target.json": {t: listed(t) for t in [ROOT, *OUS, *ids]},
        "describe-policy.json": SCPS,
    }


def _name(index: int) -> str:
    if index == 0:
        return "management"
    if index == 1:
        return "security-tooling"
    return f"{OUS[ou_of(index)][0]}-{index:04d}"


# ---------------------------------------------------------------------------- planting


class _Plan:
    """The extra principals of each account and the expectations they make."""

    def __init__(self, accounts: int, rng: random.Random) -> None:
        self.users: dict[str, list[dict[str, Any]]] = {}
        self.roles: dict[str, list[dict[str, Any]]] = {}
        self.paths: list[dict[str, Any]] = []
        self.traps: list[dict[str, Any]] = []
        self.accounts = accounts
        self.rng = rng
        self.by_ou: dict[str, list[int]] = {}
        for i in range(2, accounts):
            self.by_ou.setdefault(ou_of(i), []).append(i)

    def pick(self, *ous: str, besides: Sequence[str] = ()) -> str:
        pool = [i for ou in ous for i in self.by_ou.get(ou, []) if account_id(i) not in besides]
        return account_id(self.rng.choice(pool))

    def user(self, account: str, name: str, *statements: dict[str, Any]) -> str:
        self.users.setdefault(account, []).append(_user(account, name, statements))
        return _iam_arn(account, "user", name)

    def role(self, account: str, name: str, trust: dict[str, Any], **kw: Any) -> str:
        self.roles.setdefault(account, []).append(_role(account, name, trust, **kw))
        return _iam_arn(account, "role", name)


def _plant(plan: _Plan, admin_policy: str) -> None:
    count = max(2, plan.accounts // 100)
    workloads = ("ou-gen0-production", "ou-gen0-development")
    for k in range(count):
        # direct: a CI user of a workload account -> an admin role in the management account
        w = plan.pick(*workloads)
        ci = _iam_arn(w, "user", f"ci-deploy-{k}")
        target = plan.role(MANAGEMENT, f"org-deploy-{k}", _trust(ci), managed=[admin_policy])
        plan.user(w, f"ci-deploy-{k}", _may_assume(target))
        plan.paths.append(
            {"kind": "direct", "principal": ci, "reaches": target, "hops": 1, "conditional": False}
        )
        # trap: somebody else allowed to call AssumeRole on that role, not named by its trust
        x = plan.pick(*workloads)
        stranger = plan.user(x, f"stranger-{k}", _may_assume(target))
        plan.traps.append({"kind": "trust-names-another", "principal": stranger, "must_not_reach": target})
        # trap: the same set-up from a sandbox account; its OU's SCP denies assuming management roles
        s = plan.pick("ou-gen0-sandboxes")
        blocked = _iam_arn(s, "user", f"blocked-ci-{k}")
        blocked_target = plan.role(
            MANAGEMENT, f"org-deploy-sandbox-{k}", _trust(blocked), managed=[admin_policy]
        )
        plan.user(s, f"blocked-ci-{k}", _may_assume(blocked_target))
        plan.traps.append({"kind": "scp-blocks", "principal": blocked, "must_not_reach": blocked_target})
        # external-id: a partner user -> an admin role trusting the partner's account on an ExternalId
        a, b = plan.pick("ou-gen0-development"), plan.pick("ou-gen0-production")
        vendor_target = plan.role(
            b, f"vendor-admin-{k}", _trust(a, external_id=f"ext-{k}-{b}"), managed=[admin_policy]
        )
        partner = plan.user(a, f"partner-{k}", _may_assume(vendor_target))
        plan.paths.append(
            {
                "kind": "external-id",
                "principal": partner,
                "reaches": vendor_target,
                "hops": 1,
                "conditional": True,
            }
        )
        # chain: a user -> a relay role in a second account -> an admin role in a third
        a, b = plan.pick("ou-gen0-development"), plan.pick("ou-gen0-production")
        c = plan.pick(*workloads, besides=(a, b))
        relay = _iam_arn(b, "role", f"relay-{k}")
        landing = plan.role(c, f"landing-{k}", _trust(relay), managed=[admin_policy])
        plan.role(b, f"relay-{k}", _trust(f"arn:aws:iam::{a}:root"), statements=[_may_assume(landing)])
        hop = plan.user(a, f"hop-{k}", _may_assume(relay))
        plan.paths.append(
            {"kind": "chain", "principal": hop, "reaches": landing, "hops": 2, "conditional": False}
        )
        plan.paths.append(
            {"kind": "chain", "principal": relay, "reaches": landing, "hops": 1, "conditional": False}
        )


def _org_roles(index: int, admin_policy: str) -> list[dict[str, Any]]:
    """The cross-account roles every member account has."""
    acct = account_id(index)
    roles = [
        _role(
            acct,
            "OrganizationAccountAccessRole",
            _trust(f"arn:aws:iam::{MANAGEMENT}:root"),
            managed=[admin_policy],
        ),
        _role(
            acct,
            "security-audit",
            _trust(f"arn:aws:iam::{SECURITY}:root", external_id=f"audit-{ORG_ID}"),
            statements=[{"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}],
        ),
    ]
    if index % 5 == 0:
        roles.append(
            _role(
                acct,
                "vendor-monitoring",
                _trust(f"arn:aws:iam::{OUTSIDE}:root", external_id=f"v-{acct}"),
                statements=[{"Effect": "Allow", "Action": "cloudwatch:GetMetricData", "Resource": "*"}],
            )
        )
    if index == 1:
        roles.append(
            _role(
                acct,
                "auditor",
                _trust(f"arn:aws:iam::{acct}:root"),
                statements=[_may_assume("arn:aws:iam::*:role/security-audit")],
            )
        )
    return roles


# ---------------------------------------------------------------------------- writing


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def generate_org(
    out: Path, *, accounts: int, principals: int, seed: int = 1, shapes: Sequence[str] = DEFAULT_SHAPES
) -> dict[str, Any]:
    """Write the organization into `out` (created; must be empty or absent); returns the expectations."""
    if accounts < 10:
        raise ValueError(
            "an organization needs at least 10 accounts (management, security, and 8 to plant in)"
        )
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out}: not empty")
    templates = {(s, k): _Template(s, principals, seed + k) for s in shapes for k in range(TEMPLATE_SEEDS)}
    admin_policy = _admin_policy()
    plan = _Plan(accounts, random.Random(seed))
    _plant(plan, admin_policy)
    for name, doc in _organization_files(accounts).items():
        _write(out / "organization" / "organizations" / name, json.dumps(doc))
    manifest_accounts = []
    total = 0
    inventory = [{"kind": k, "region": REGION, "state": "ok", "error": None} for k in INVENTORY]
    for i in range(accounts):
        acct = account_id(i)
        shape = "default" if i == 0 else shapes[i % len(shapes)]
        tpl = templates[(shape, (i // len(shapes)) % TEMPLATE_SEEDS)]
        roles = ([] if i == 0 else _org_roles(i, admin_policy)) + plan.roles.get(acct, [])
        users = plan.users.get(acct, [])
        total += tpl.principals + len(roles) + len(users)
        rel = f"accounts/{acct}"
        base = out / rel
        _write(base / "iam" / "get-account-authorization-details.json", tpl.details(acct, users, roles))
        _write(
            base / "regions" / REGION / "lambda" / "list-functions.json", tpl.functions.replace(ACCOUNT, acct)
        )
        _write(
            base / "manifest.json",
            json.dumps(
                {
                    "format": "deescalate-snapshot",
                    "format_version": 1,
                    "account_id": acct,
                    "regions": [REGION],
                    "collected_at": COLLECTED_AT,
                    "caller_arn": f"arn:aws:sts::{acct}:assumed-role/{ROLE}/deescalate",
                    "inventory": inventory,
                    "generated": {"shape": shape},
                }
            ),
        )
        manifest_accounts.append(
            {
                "id": acct,
                "name": _name(i),
                "email": f"aws+{acct}@example.com",
                "status": "ACTIVE",
                "ou_path": ou_path(i),
                "collection": "collected",
                "error": None,
                "snapshot": rel,
            }
        )
    _write(
        out / "manifest.json",
        json.dumps(
            {
                "format": "deescalate-organization",
                "format_version": 1,
                "tool_version": "generated",
                "collected_at": COLLECTED_AT,
                "caller": f"arn:aws:iam::{MANAGEMENT}:user/generator",
                "organization_id": ORG_ID,
                "management_account_id": MANAGEMENT,
                "role": "OrganizationAccountAccessRole",
                "accounts": manifest_accounts,
            },
            indent=1,
        ),
    )
    expected = {
        "accounts": accounts,
        "principals": total,
        "seed": seed,
        "shapes": list(shapes),
        "paths": plan.paths,
        "traps": plan.traps,
    }
    _write(out / "expected.json", json.dumps(expected, indent=1))
    return expected


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--accounts", type=int, default=100)
    p.add_argument("--principals", type=int, default=100, help="about this many principals per account")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--shapes",
        default=",".join(DEFAULT_SHAPES),
        help=f"comma-separated account shapes to cycle through (benchmarks/shapes.py: {', '.join(SHAPES)})",
    )
    p.add_argument("-o", "--output", required=True, help="the organization directory to create")
    args = p.parse_args(argv)
    shapes = tuple(s for s in args.shapes.split(",") if s)
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown or not shapes:
        print(f"generate_org: unknown shape(s) {', '.join(unknown) or '(none given)'}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        expected = generate_org(
            Path(args.output),
            accounts=args.accounts,
            principals=args.principals,
            seed=args.seed,
            shapes=shapes,
        )
    except ValueError as e:
        print(f"generate_org: {e}", file=sys.stderr)
        return 2
    print(
        f"wrote {args.output}: {args.accounts} accounts, {expected['principals']} principals, "
        f"{len(expected['paths'])} planted paths, {len(expected['traps'])} traps "
        f"({time.perf_counter() - started:.1f}s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
