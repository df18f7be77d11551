"""`plan` over an organization snapshot directory: one plan file per account, verified as a whole.

The organization (org_builders.OrgDir): management account M with an admin role `deploy` trusting
both workload accounts; W1 (OU prod) whose CI user may assume it, and whose `dev` user reaches W1's
admin only through W1's role `builder` (its escalation edge is the role's); W2 (OU dev, where an SCP
denies sts:AssumeRole) whose CI user may assume it too but is stopped by the SCP.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from builders import Account, allow, doc, trust_aws
from org_builders import MGMT, OrgDir

from deescalate.cli import main
from deescalate.errors import EXIT_FINDINGS
from deescalate.remediate.accounts import read_plan_dir
from deescalate.snapshot import load_snapshot

W1, W2 = "333333333333", "444444444444"


def arn(account: str, kind: str, name: str) -> str:
    return f"arn:aws:iam::{account}:{kind}/{name}"


def organization(tmp_path: Path) -> Path:
    org = OrgDir()
    prod, dev = org.ou("prod"), org.ou("dev")
    m = Account(account_id=MGMT)
    m.admin_role("deploy", trust_aws(f"arn:aws:iam::{W1}:root", f"arn:aws:iam::{W2}:root"))
    w1 = Account(account_id=W1)
    w1.user("ci", doc(allow("sts:AssumeRole", arn(MGMT, "role", "deploy")), allow("s3:*")))
    w1.user("boss", managed=("arn:aws:iam::aws:policy/AdministratorAccess",))
    w1.role("builder", trust_aws(arn(W1, "user", "dev")), doc(allow("iam:CreateAccessKey", arn(W1, "user", "boss"))))
    w1.user("dev", doc(allow("sts:AssumeRole", arn(W1, "role", "builder"))))
    w2 = Account(account_id=W2)
    w2.user("ci", doc(allow("sts:AssumeRole", arn(MGMT, "role", "deploy"))))
    org.account(m, name="management")
    org.account(w1, parent=prod, name="workload-1")
    org.account(w2, parent=dev, name="workload-2")
    org.scp(dev, {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"}, name="NoAssume")
    return org.write(tmp_path / "org")


def test_plan_over_an_organization_writes_a_verified_file_per_account(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snap_dir = organization(tmp_path)
    assert set(load_snapshot(snap_dir).all_accounts()) == {MGMT, W1, W2}
    plans = tmp_path / "plans"
    assert main(["plan", str(snap_dir), "-o", f"{plans}/"]) == 0
    out = capsys.readouterr().out
    files = read_plan_dir(plans, checked=True)
    # only W1 has anything to deny: W2's CI user is stopped by the SCP on its OU, M has no finding
    assert sorted(files) == [W1]
    assert f"No plan file for 2 account(s) with nothing to deny: {MGMT}, {W2}" in out or \
        f"No plan file for 2 account(s) with nothing to deny: {W2}, {MGMT}" in out
    w1 = files[W1]
    assert w1.verified
    denies = {(p.principal, d.action, d.resource) for p in w1.principals for d in p.denies if d.apply}
    # the cross-account hand-off is cut in W1, on the acting principal
    assert (arn(W1, "user", "ci"), "sts:AssumeRole", arn(MGMT, "role", "deploy")) in denies
    # dev's path runs through builder: the deny is builder's, and dev gets none
    assert (arn(W1, "role", "builder"), "iam:CreateAccessKey", arn(W1, "user", "boss")) in denies
    assert arn(W1, "user", "dev") not in {p.principal for p in w1.principals}
    assert f"{W1}:user/ci: 1 deny(s)" in out  # names shown with their account

    assert main(["plan", "--check", str(plans), str(snap_dir)]) == 0
    capsys.readouterr()

    # the reviewer keeps builder's CreateAccessKey: the check over the directory re-verifies the
    # whole organization and names dev's path, which ran through it
    path = plans / f"{W1}.plan.json"
    raw = json.loads(path.read_text())
    for p in raw["principals"]:
        if p["principal"] == arn(W1, "role", "builder"):
            for d in p["denies"]:
                d["apply"] = False
    path.write_text(json.dumps(raw))
    assert main(["apply", str(plans), "--organization"]) == 2  # edited after its check: refused
    capsys.readouterr()
    assert main(["plan", "--check", str(plans), str(snap_dir)]) == EXIT_FINDINGS
    out = capsys.readouterr().out
    assert "NOT verified" in out
    assert "user/dev -> [sts-001] role/builder" in out
    files = read_plan_dir(plans, checked=True)  # written back with valid digests
    assert not files[W1].verified and files[W1].remaining

    # re-planning into the same directory leaves no stale plan behind
    (plans / f"{W2}.plan.json").write_text(path.read_text())
    assert main(["plan", str(snap_dir), "-o", str(plans)]) == 0
    assert "Removed" in capsys.readouterr().out
    assert sorted(read_plan_dir(plans, checked=True)) == [W1]


def test_check_of_a_directory_refuses_a_plan_of_an_account_the_snapshot_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snap_dir = organization(tmp_path)
    plans = tmp_path / "plans"
    assert main(["plan", str(snap_dir), "-o", f"{plans}/"]) == 0
    capsys.readouterr()
    assert main(["plan", "--check", str(plans), "--demo"]) == 2
    assert f"is a plan for account {W1}, the snapshot is of 111111111111" in capsys.readouterr().err


def test_a_managed_deny_of_another_accounts_principal_lives_in_that_account() -> None:
    """The home account is A; B's user has no inline space left, so its deny goes to a customer
    managed policy — in B, where apply creates it, and where the verification must put it."""
    from builders import ADMIN_ACCESS

    from deescalate.analysis.analyze import analyze
    from deescalate.model import PolicyPlacement
    from deescalate.remediate.plan import build_plan, default_analyze
    from deescalate.remediate.quotas import managed_policy_arn
    from deescalate.remediate.verify import apply_to_snapshot
    from deescalate.snapshot.load import merge_snapshots

    a, b = Account(account_id=W1), Account(account_id=W2)
    a.user("someone", doc(allow("s3:GetObject")))
    b.user("boss", managed=(ADMIN_ACCESS,))
    filler = doc(*[allow(f"s3:GetObject{n}", f"arn:aws:s3:::bucket-with-a-long-name-{n:04d}/*") for n in range(20)])
    b.user("dev", doc(allow("iam:CreateAccessKey", arn(W2, "user", "boss"))), filler)
    snap = merge_snapshots([a.build(), b.build()])
    assert snap.account_id == W1
    plan = build_plan(snap, analyze(snap), default_analyze())
    (pp,) = plan.principals
    assert pp.principal == arn(W2, "user", "dev") and pp.placement is PolicyPlacement.MANAGED
    assert plan.verified
    after = apply_to_snapshot(snap, plan)
    own = managed_policy_arn(W2, pp.principal)
    assert own.startswith(f"arn:aws:iam::{W2}:policy/") and own in after.policies
    assert own in after.users[pp.principal].managed_policy_arns
