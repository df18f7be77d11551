"""Plan, apply and revert over two accounts on a real moto server, checked by an independent checker.

Account A (moto's default, the caller's) and account B (reached by assuming
OrganizationAccountAccessRole, as `apply --organization` does; moto's credentials for an assumed
role act in the role's account). A's CI user can assume B's admin role (a cross-account path); each
account also holds an in-account escalation. collect both → plan both -o DIR/ (one plan file per
account, verified over both) → apply --organization → collect both → scan: no finding, and
`escalation_checker` (its own evaluator over the raw collected JSON) agrees: escalated before, cut
after → revert --organization → both accounts' IAM as at the start, the paths open again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from apply_helpers import iam_dump
from escalation_checker import Checker

from deescalate.analysis.analyze import analyze
from deescalate.cli import main
from deescalate.remediate.accounts import read_plan_dir
from deescalate.snapshot import load_snapshots

pytestmark = pytest.mark.e2e
A = "123456789012"
B = "210987654321"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
ORG_ROLE = "OrganizationAccountAccessRole"


def pol(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def arn(account: str, kind: str, name: str) -> str:
    return f"arn:aws:iam::{account}:{kind}/{name}"


def trust(principal: str) -> str:
    return pol({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"})


def b_credentials(url: str) -> dict[str, str]:
    sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1")
    creds = sts.assume_role(RoleArn=arn(B, "role", ORG_ROLE), RoleSessionName="seed")["Credentials"]
    return {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"]}


def iam_client(url: str, env: dict[str, str] | None = None) -> Any:
    if env is None:
        return boto3.client("iam", endpoint_url=url, region_name="us-east-1")
    return boto3.Session(aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                         aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                         aws_session_token=env["AWS_SESSION_TOKEN"]).client(
        "iam", endpoint_url=url, region_name="us-east-1")


def seed(url: str, b_env: dict[str, str]) -> dict[str, str]:
    """The attackers, by what they do."""
    a, b = iam_client(url), iam_client(url, b_env)
    # B: the role the organization's management uses (admin, trusting account A), a deploy admin role
    # trusting A's CI user, an admin user, and an in-account escalation to it.
    b.create_role(RoleName=ORG_ROLE, AssumeRolePolicyDocument=trust(f"arn:aws:iam::{A}:root"))
    b.attach_role_policy(RoleName=ORG_ROLE, PolicyArn=ADMIN)
    b.create_role(RoleName="deploy-admin", AssumeRolePolicyDocument=trust(arn(A, "user", "ci")))
    b.attach_role_policy(RoleName="deploy-admin", PolicyArn=ADMIN)
    b.create_user(UserName="boss-b")
    b.attach_user_policy(UserName="boss-b", PolicyArn=ADMIN)
    b.create_user(UserName="dev-b")
    b.put_user_policy(UserName="dev-b", PolicyName="work", PolicyDocument=pol(
        allow("iam:CreateAccessKey", arn(B, "user", "boss-b")), allow("s3:GetObject")))
    # A: an admin, an in-account escalation (a user who may attach any policy to itself), and the CI
    # user whose only IAM permission is assuming B's deploy role.
    a.create_user(UserName="boss-a")
    a.attach_user_policy(UserName="boss-a", PolicyArn=ADMIN)
    a.create_user(UserName="dev-a")
    a.put_user_policy(UserName="dev-a", PolicyName="work", PolicyDocument=pol(
        allow("iam:AttachUserPolicy", arn(A, "user", "dev-a")), allow("ec2:Describe*")))
    a.create_user(UserName="ci")
    a.put_user_policy(UserName="ci", PolicyName="work", PolicyDocument=pol(
        allow("sts:AssumeRole", arn(B, "role", "deploy-admin")), allow("s3:*")))
    # ... and a trap: a user allowed to assume B's deploy role, which does not trust it
    a.create_user(UserName="outsider")
    a.put_user_policy(UserName="outsider", PolicyName="work", PolicyDocument=pol(
        allow("sts:AssumeRole", arn(B, "role", "deploy-admin"))))
    return {"cross": arn(A, "user", "ci"), "in-a": arn(A, "user", "dev-a"), "in-b": arn(B, "user", "dev-b")}


def collect(url: str, out: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str] | None) -> None:
    with monkeypatch.context() as m:
        for k, v in (env or {}).items():
            m.setenv(k, v)
        assert main(["collect", "-o", str(out), "--endpoint-url", url, "--region", "us-east-1"]) == 0


def collect_both(url: str, tmp: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    a_dir, b_dir = tmp / f"{name}-a", tmp / f"{name}-b"
    collect(url, a_dir, monkeypatch, None)
    collect(url, b_dir, monkeypatch, b_credentials(url))
    return a_dir, b_dir


def test_plan_apply_revert_over_two_accounts(
    moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = moto_endpoint
    b_env = b_credentials(url)
    attackers = seed(url, b_env)
    trap = arn(A, "user", "outsider")
    start = (iam_dump(iam_client(url)), iam_dump(iam_client(url, b_env)))
    before = collect_both(url, tmp_path, "before", monkeypatch)

    checker = Checker(*before)
    for who in attackers.values():
        assert checker.escalation(who) is not None, f"the checker finds no escalation for {who}"
    assert checker.escalation(trap) is None
    report = analyze(load_snapshots(list(before)))
    at_risk = {f.principal for f in report.findings}
    assert set(attackers.values()) <= at_risk, sorted(set(attackers.values()) - at_risk)
    assert trap not in at_risk

    plans = tmp_path / "plans"
    capsys.readouterr()
    assert main(["plan", *map(str, before), "-o", f"{plans}/"]) == 0
    out = capsys.readouterr().out
    assert "Verified" in out and f"{plans}/{A}.plan.json" in out and f"{plans}/{B}.plan.json" in out
    files = read_plan_dir(plans, checked=True)
    assert sorted(files) == [A, B]
    for account, plan in files.items():
        assert plan.verified and plan.account_id == account
        assert all(p.principal.split(":")[4] == account for p in plan.principals)
    # the cross-account hand-off is cut in A, on the acting principal: no AssumeRole of B's role
    ci = {(d.action, d.resource) for p in files[A].principals if p.principal == attackers["cross"]
          for d in p.denies if d.apply}
    assert ("sts:AssumeRole", arn(B, "role", "deploy-admin")) in ci
    assert {p.principal for p in files[B].principals} == {attackers["in-b"]}

    # plan --check over the directory re-verifies the whole organization and keeps the digests valid
    assert main(["plan", "--check", str(plans), *map(str, before)]) == 0
    read_plan_dir(plans, checked=True)

    # dry run: nothing changes
    assert main(["apply", str(plans), "--organization", "--endpoint-url", url]) == 0
    out = capsys.readouterr().out
    assert f"== account {A} (own credentials)" in out
    assert f"== account {B} ({arn(B, 'role', ORG_ROLE)})" in out
    assert (iam_dump(iam_client(url)), iam_dump(iam_client(url, b_env))) == start

    assert main(["apply", str(plans), "--organization", "--yes", "--endpoint-url", url]) == 0
    out = capsys.readouterr().out
    assert "Applied to 2 of 2 account(s)." in out
    assert (plans / f"{A}.plan.journal.jsonl").is_file() and (plans / f"{B}.plan.journal.jsonl").is_file()
    # a second apply has nothing to do in either account
    assert main(["apply", str(plans), "--organization", "--yes", "--endpoint-url", url]) == 0
    assert capsys.readouterr().out.count("Nothing to do") == 2

    after = collect_both(url, tmp_path, "after", monkeypatch)
    capsys.readouterr()
    assert main(["scan", *map(str, after)]) == 0
    again = analyze(load_snapshots(list(after)))
    assert again.findings == (), [(f.principal, f.techniques) for f in again.findings]
    checker = Checker(*after)
    for who in [*attackers.values(), trap]:
        assert checker.escalation(who) is None, (who, checker.escalation(who))

    assert main(["revert", "--organization", "--journal", str(plans), "--endpoint-url", url]) == 0
    assert (iam_dump(iam_client(url)), iam_dump(iam_client(url, b_env))) != start  # a dry run
    assert main(["revert", "--organization", "--journal", str(plans), "--yes", "--endpoint-url", url]) == 0
    assert (iam_dump(iam_client(url)), iam_dump(iam_client(url, b_env))) == start
    reverted = collect_both(url, tmp_path, "reverted", monkeypatch)
    checker = Checker(*reverted)
    assert checker.escalation(attackers["cross"]) is not None


def test_an_organization_collected_planned_applied_with_one_account_refusing_the_role(
    moto_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`collect --organization` → `plan DIR -o plans/` → `apply --organization`, one account's role
    refused (a proxy answers its sts:AssumeRole as AWS does): reported in one line, exit 3, the others
    applied; then applied without the proxy; then reverted. The management account is the caller's."""
    from org_seed import DenyingProxy

    url = moto_endpoint
    org = boto3.client("organizations", endpoint_url=url, region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    work = org.create_account(AccountName="work", Email="work@example.com")["CreateAccountStatus"]["AccountId"]
    locked = org.create_account(AccountName="locked", Email="locked@example.com")["CreateAccountStatus"]["AccountId"]

    def member_env(account: str) -> dict[str, str]:
        sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1")
        c = sts.assume_role(RoleArn=arn(account, "role", ORG_ROLE), RoleSessionName="seed")["Credentials"]
        return {"AWS_ACCESS_KEY_ID": c["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": c["SecretAccessKey"],
                "AWS_SESSION_TOKEN": c["SessionToken"]}

    m, w, lk = iam_client(url), iam_client(url, member_env(work)), iam_client(url, member_env(locked))
    # work: an admin role trusting the management account's CI user; an in-account escalation
    w.create_role(RoleName="deploy-admin", AssumeRolePolicyDocument=trust(arn(A, "user", "ci")))
    w.attach_role_policy(RoleName="deploy-admin", PolicyArn=ADMIN)
    for iam, account in ((w, work), (lk, locked)):
        iam.create_user(UserName="boss")
        iam.attach_user_policy(UserName="boss", PolicyArn=ADMIN)
        iam.create_user(UserName="dev")
        iam.put_user_policy(UserName="dev", PolicyName="work", PolicyDocument=pol(
            allow("iam:CreateAccessKey", arn(account, "user", "boss"))))
    m.create_user(UserName="ci")
    m.put_user_policy(UserName="ci", PolicyName="work", PolicyDocument=pol(
        allow("sts:AssumeRole", arn(work, "role", "deploy-admin"))))
    attackers = [arn(A, "user", "ci"), arn(work, "user", "dev"), arn(locked, "user", "dev")]
    start = {a: iam_dump(c) for a, c in ((A, m), (work, w), (locked, lk))}

    def collect_org(out: Path) -> list[Path]:
        argv = ["collect", "--organization", "-o", str(out), "--endpoint-url", url, "--region", "us-east-1",
                "--refresh"]
        assert main(argv) == 0
        return [out / "accounts" / a for a in (A, work, locked)]

    before = collect_org(tmp_path / "before")
    checker = Checker(*before)
    for who in attackers:
        assert checker.escalation(who) is not None, who
    plans = tmp_path / "plans"
    capsys.readouterr()
    assert main(["plan", str(tmp_path / "before"), "-o", f"{plans}/"]) == 0
    files = read_plan_dir(plans, checked=True)
    assert sorted(files) == sorted([A, work, locked]) and all(p.verified for p in files.values())
    assert ("sts:AssumeRole", arn(work, "role", "deploy-admin")) in {
        (d.action, d.resource) for p in files[A].principals for d in p.denies}

    refused_role = arn(locked, "role", ORG_ROLE)
    with DenyingProxy(url, {refused_role}) as proxy:
        code = main(["apply", str(plans), "--organization", "--yes", "--endpoint-url", proxy.url])
    cap = capsys.readouterr()
    assert code == 3, cap.err
    failed = [line for line in cap.err.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and failed[0].startswith(f"deescalate: account {locked}: FAILED: sts:AssumeRole")
    assert "AccessDenied" in failed[0]
    assert f"Applied to 2 of 3 account(s); 1 failed: {locked}." in cap.out
    assert iam_dump(lk) == start[locked] and iam_dump(w) != start[work] and iam_dump(m) != start[A]

    middle = collect_org(tmp_path / "middle")
    checker = Checker(*middle)
    assert checker.escalation(arn(locked, "user", "dev")) is not None  # its account was not applied
    assert checker.escalation(arn(A, "user", "ci")) is None and checker.escalation(arn(work, "user", "dev")) is None

    assert main(["apply", str(plans), "--organization", "--yes", "--endpoint-url", url]) == 0
    cap = capsys.readouterr()
    assert cap.out.count("Nothing to do") == 2 and "Applied to 3 of 3 account(s)." in cap.out
    after = collect_org(tmp_path / "after")
    capsys.readouterr()
    assert main(["scan", str(tmp_path / "after")]) == 0
    checker = Checker(*after)
    for who in attackers:
        assert checker.escalation(who) is None, (who, checker.escalation(who))

    assert main(["revert", "--organization", "--journal", str(plans), "--yes", "--endpoint-url", url]) == 0
    assert {a: iam_dump(c) for a, c in ((A, m), (work, w), (locked, lk))} == start
