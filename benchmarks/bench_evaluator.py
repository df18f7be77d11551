"""Benchmark the policy evaluator: decisions per second on a generated account.

The account: N users and N roles sharing AWS's real managed policies (AdministratorAccess,
ReadOnlyAccess with its 2,677 action patterns, PowerUserAccess, IAMFullAccess, ... from
../shared/reference/aws-managed-policies.json), customer policies with conditions and variables,
groups, permissions boundaries, trust policies, and an organization with SCPs at three levels.
Requests are drawn at random (fixed seed) from actions that appear in those policies plus others,
on `*`, role ARNs (AssumeRole via trust policies) and S3 ARNs.

    python benchmarks/bench_evaluator.py [--principals 500] [--decisions 200000] [--seed 1] [--runs 1]

Prints the account size, decisions/second overall (one core, one process), the ReadOnlyAccess-only
case, the first-decision (compile) cost, and peak RSS. Times are CPU time of this process, so
other jobs on the machine slow them less than wall time; with `--runs N` the two passes are
repeated on N fresh Authorizers and the best and median CPU time per decision are printed too
(module-level caches of compiled wildcard patterns stay warm after the first run).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from deescalate.model import (
    Group,
    ManagedPolicy,
    Organization,
    OrgNode,
    PolicyKind,
    PolicyRef,
    Role,
    Snapshot,
    User,
)
from deescalate.policy.evaluate import Authorizer
from deescalate.policy.parse import parse_policy

ACCT = "123456789012"
REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "aws-managed-policies.json"


def _managed(name: str, document: Any, arn: str | None = None) -> ManagedPolicy:
    arn = arn or f"arn:aws:iam::{ACCT}:policy/{name}"
    p = parse_policy(document, PolicyRef(kind=PolicyKind.MANAGED, name=name, arn=arn, version="v1"))
    return ManagedPolicy(arn=arn, name=name, default_version="v1", versions={"v1": p})


def _inline(doc: Any, name: str, owner: str) -> Any:
    return parse_policy(doc, PolicyRef(kind=PolicyKind.INLINE, name=name, attached_to=owner))


def build_account(n: int, rng: random.Random, reference: Path) -> tuple[Snapshot, list[str]]:
    aws = json.loads(reference.read_text())["policies"]
    policies = {p["Arn"]: _managed(name, p["Document"], p["Arn"]) for name, p in aws.items()}
    custom = [
        _managed(
            f"team-{i}",
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "s3:PutObject"],
                        "Resource": f"arn:aws:s3:::team-{i}/${{aws:username}}/*",
                    },
                    {
                        "Effect": "Allow",
                        "Action": ["ec2:StartInstances", "ec2:StopInstances"],
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:ResourceTag/team": f"t{i}"}},
                    },
                    {
                        "Effect": "Allow",
                        "Action": "iam:PassRole",
                        "Resource": f"arn:aws:iam::{ACCT}:role/svc-*",
                        "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
                    },
                    # One team in four requires MFA: a Deny on a key the snapshot cannot know.
                    *(
                        [
                            {
                                "Effect": "Deny",
                                "Action": "*",
                                "Resource": "*",
                                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
                            }
                        ]
                        if i % 4 == 0
                        else []
                    ),
                ],
            },
        )
        for i in range(20)
    ]
    boundary = _managed(
        "boundary",
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}],
        },
    )
    for m in [*custom, boundary]:
        policies[m.arn] = m
    shared = [
        a
        for a in aws.values()
        if a["Arn"].endswith(("ReadOnlyAccess", "PowerUserAccess", "IAMFullAccess", "AmazonS3ReadOnlyAccess"))
    ]
    groups = {}
    for i in range(10):
        arn = f"arn:aws:iam::{ACCT}:group/g{i}"
        groups[arn] = Group(
            arn=arn,
            name=f"g{i}",
            managed_policy_arns=(rng.choice(custom).arn,),
            inline_policies=(
                _inline(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}],
                    },
                    f"g{i}",
                    arn,
                ),
            ),
        )
    users, roles = {}, {}
    for i in range(n):
        arn = f"arn:aws:iam::{ACCT}:user/u{i}"
        managed = tuple({rng.choice(shared)["Arn"] for _ in range(2)})
        if i % 50 == 0:
            managed += ("arn:aws:iam::aws:policy/AdministratorAccess",)
        users[arn] = User(
            arn=arn,
            name=f"u{i}",
            user_id=f"AIDA{i:08d}",
            managed_policy_arns=managed,
            group_arns=tuple(rng.sample(sorted(groups), 2)),
            boundary_arn=boundary.arn if i % 7 == 0 else None,
            tags={"team": f"t{i % 20}"},
            inline_policies=(
                _inline(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "sts:AssumeRole",
                                "Resource": f"arn:aws:iam::{ACCT}:role/r{rng.randrange(n)}",
                            }
                        ],
                    },
                    f"u{i}",
                    arn,
                ),
            ),
        )
    for i in range(n):
        arn = f"arn:aws:iam::{ACCT}:role/r{i}"
        trust = parse_policy(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
                        "Action": "sts:AssumeRole",
                    },
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/u{rng.randrange(n)}"},
                        "Action": "sts:AssumeRole",
                        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
                    },
                ],
            },
            PolicyRef(kind=PolicyKind.TRUST, name=f"r{i}-trust", attached_to=arn),
        )
        roles[arn] = Role(
            arn=arn,
            name=f"r{i}",
            role_id=f"AROA{i:08d}",
            trust_policy=trust,
            managed_policy_arns=(rng.choice(shared)["Arn"], rng.choice(custom).arn),
            boundary_arn=boundary.arn if i % 5 == 0 else None,
        )
    full = parse_policy(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
        PolicyRef(kind=PolicyKind.SCP, name="FullAWSAccess"),
    )
    guard = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Action": ["organizations:LeaveOrganization", "account:*"],
                    "Resource": "*",
                },
                {
                    "Effect": "Deny",
                    "Action": ["ec2:*", "lambda:*", "rds:*"],
                    "Resource": "*",
                    "Condition": {
                        "StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]},
                        "ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCT}:role/admin-*"},
                    },
                },
            ],
        },
        PolicyRef(kind=PolicyKind.SCP, name="guardrails"),
    )
    org = Organization(
        management_account_id="999999999999",
        path=(
            OrgNode(id="r-1", name="Root", kind="root", scps=(full,)),
            OrgNode(id="ou-1", name="Prod", kind="ou", scps=(full, guard)),
            OrgNode(id=ACCT, name="acct", kind="account", scps=(full,)),
        ),
    )
    snap = Snapshot(
        account_id=ACCT,
        users=users,
        roles=roles,
        groups=groups,
        policies=policies,
        organization=org,
        source="generated",
    )
    actions = sorted(
        {
            a
            for p in aws.values()
            for s in _statements(p["Document"])
            for a in _as_list(s.get("Action"))
            if "*" not in a
        }
    )
    return snap, actions


def _statements(doc: Any) -> list[Any]:
    s = doc["Statement"]
    return s if isinstance(s, list) else [s]


def _as_list(v: Any) -> list[str]:
    return [] if v is None else ([v] if isinstance(v, str) else list(v))


def requests(
    snap: Snapshot, actions: list[str], count: int, rng: random.Random
) -> list[tuple[str, str, str]]:
    principals = list(snap.principal_arns())
    roles = list(snap.roles)
    extra = [
        "iam:PassRole",
        "iam:CreateAccessKey",
        "iam:PutUserPolicy",
        "iam:AttachRolePolicy",
        "ec2:RunInstances",
        "lambda:CreateFunction",
        "s3:GetObject",
        "s3:PutObject",
        "ec2:StartInstances",
    ]
    out = []
    for _ in range(count):
        p = rng.choice(principals)
        r = rng.random()
        if r < 0.15:
            out.append((p, "sts:AssumeRole", rng.choice(roles)))
        elif r < 0.45:
            out.append(
                (
                    p,
                    rng.choice(extra),
                    rng.choice(["*", rng.choice(roles), f"arn:aws:s3:::team-3/u{rng.randrange(50)}/k"]),
                )
            )
        else:
            out.append((p, rng.choice(actions), "*"))
    return out


def _repeat(snap: Snapshot, reqs: list[tuple[str, str, str]], runs: int) -> None:
    """Both passes on `runs` fresh Authorizers (prepared as above): best and median CPU time."""
    times: dict[str, list[float]] = {"first pass": [], "second pass": []}
    for _ in range(runs):
        auth = Authorizer(snap, decision_cache=0)
        for p in snap.principal_arns():
            auth.may_allow(p, "s3:GetObject")
        for samples in times.values():
            t0 = time.process_time()
            for p, a, r in reqs:
                auth.decide(p, a, r)
            samples.append((time.process_time() - t0) / len(reqs))
    for label, samples in times.items():
        best, median = min(samples), statistics.median(samples)
        print(
            f"mixed, {label}, {runs} runs: best {best * 1e6:.2f} us/decision ({1 / best:,.0f}/s), "
            f"median {median * 1e6:.2f} us/decision ({1 / median:,.0f}/s)"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--principals", type=int, default=500, help="users, and as many roles")
    ap.add_argument("--decisions", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reference", type=Path, default=REFERENCE)
    ap.add_argument("--runs", type=int, default=1, help="repeat both passes on fresh Authorizers")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    snap, actions = build_account(args.principals, rng, args.reference)
    reqs = requests(snap, actions, args.decisions, rng)
    n_statements = sum(len(m.document.statements) for m in snap.policies.values())
    print(
        f"account: {len(snap.users)} users, {len(snap.roles)} roles, {len(snap.groups)} groups, "
        f"{len(snap.policies)} managed policies ({n_statements} statements), 3 SCP levels; "
        f"{len(actions)} distinct actions in the request pool"
    )

    auth = Authorizer(snap, decision_cache=0)
    t0 = time.process_time()
    auth.decide(reqs[0][0], reqs[0][1], reqs[0][2])
    print(f"first decision (compiles that principal's policies): {(time.process_time() - t0) * 1e3:.1f} ms")
    t0 = time.process_time()
    for p in snap.principal_arns():
        auth.may_allow(p, "s3:GetObject")
    print(f"compile all {len(snap.principal_arns())} principals: {(time.process_time() - t0):.2f} s CPU")

    # CPU time of this process (the machine may be shared): one core, decision cache off.
    for label in ("mixed, first pass (lazy indexes built as requests arrive)", "mixed, second pass"):
        outcomes: dict[str, int] = {}
        t0 = time.process_time()
        for p, a, r in reqs:
            d = auth.decide(p, a, r)
            outcomes[d.outcome.value] = outcomes.get(d.outcome.value, 0) + 1
        dt = time.process_time() - t0
        print(f"{label}: {len(reqs)} decisions in {dt:.2f} s = {len(reqs) / dt:,.0f} decisions/s  {outcomes}")
    if args.runs > 1:
        _repeat(snap, reqs, args.runs)
    # With the optional decision cache (off by default: the analysis keeps its own), a repeated
    # request costs a dict lookup.
    cached = Authorizer(snap, decision_cache=len(reqs))
    for label in ("first pass", "second pass (all hits)"):
        t0 = time.process_time()
        for p, a, r in reqs:
            cached.decide(p, a, r)
        dt = time.process_time() - t0
        print(f"mixed, decision_cache={len(reqs)}, {label}: {len(reqs) / dt:,.0f} decisions/s")

    # The hard case: a principal whose only policy is ReadOnlyAccess (2,677 patterns).
    ro = User(
        arn=f"arn:aws:iam::{ACCT}:user/readonly",
        name="readonly",
        managed_policy_arns=("arn:aws:iam::aws:policy/ReadOnlyAccess",),
    )
    snap2 = Snapshot(account_id=ACCT, users={ro.arn: ro}, policies=snap.policies, source="generated")
    auth2 = Authorizer(snap2, decision_cache=0)
    t0 = time.process_time()
    auth2.decide(ro.arn, "s3:GetObject", "*")
    print(f"ReadOnlyAccess: compile + first decision {(time.process_time() - t0) * 1e3:.1f} ms")
    ro_reqs = [rng.choice(actions) for _ in range(args.decisions // 2)] + [
        rng.choice(["iam:PassRole", "s3:PutObject", "ec2:RunInstances"]) for _ in range(args.decisions // 2)
    ]
    rng.shuffle(ro_reqs)
    allowed = 0
    t0 = time.process_time()
    for a in ro_reqs:
        allowed += auth2.decide(ro.arn, a, "*").allowed
    dt = time.process_time() - t0
    print(
        f"ReadOnlyAccess (cache off): {len(ro_reqs)} decisions in {dt:.2f} s = "
        f"{len(ro_reqs) / dt:,.0f} decisions/s ({allowed} allowed)"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS: {peak / 1024:.0f} MiB; python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
