"""load_snapshot / load_demo / load_snapshots build the model from files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from snapshot_samples import ACCT, arn, details, doc

from deescalate.model import InventoryState, PolicyKind
from deescalate.snapshot import demo_path, load_demo, load_snapshot, load_snapshots
from deescalate.snapshot import layout as L


def test_demo_account_is_the_classic_example() -> None:
    s = load_demo()
    assert s.account_id == ACCT
    assert s.has_inventory
    assert sorted(u.name for u in s.users.values()) == ["userA", "userC", "userE"]
    assert sorted(r.name for r in s.roles.values()) == ["roleB", "roleD"]
    a, b = s.users[arn("user", "userA")], s.roles[arn("role", "roleB")]
    c, d, e = s.users[arn("user", "userC")], s.roles[arn("role", "roleD")], s.users[arn("user", "userE")]
    # A may assume B, and B's trust policy names A.
    assert a.inline_policies[0].statements[0].actions == ("sts:AssumeRole",)
    assert a.inline_policies[0].statements[0].resources == (b.arn,)
    assert b.trust_policy is not None
    assert b.trust_policy.statements[0].principal is not None
    assert b.trust_policy.statements[0].principal.entries == (("AWS", a.arn),)
    # B can take over C's credentials and pass D to EC2.
    grants = {
        (act, res)
        for st in b.inline_policies[0].statements
        for act in st.actions or ()
        for res in st.resources or ()
    }
    assert {
        ("iam:CreateAccessKey", c.arn),
        ("iam:UpdateLoginProfile", c.arn),
        ("iam:PassRole", d.arn),
        ("ec2:RunInstances", "*"),
    } == grants
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    assert c.managed_policy_arns == (admin,) and d.managed_policy_arns == (admin,)
    assert s.policies[admin].document.statements[0].actions == ("*",)
    assert (c.access_key_count, c.has_login_profile, c.mfa_device_count) == (1, True, 0)
    assert (a.access_key_count, a.has_login_profile) == (0, False)
    assert d.trust_policy is not None and d.trust_policy.statements[0].principal is not None
    assert d.trust_policy.statements[0].principal.entries == (("Service", "ec2.amazonaws.com"),)
    assert [s.instance_profiles[p].role_arns for p in d.instance_profile_arns] == [(d.arn,)]
    assert e.inline_policies == () and e.managed_policy_arns == (arn("policy", "DemoReadOnly"),)
    assert s.resources == ()
    assert {r.state for r in s.inventory} == {InventoryState.OK}
    assert set(L.RESOURCE_KINDS) == {r.kind for r in s.inventory}


def test_demo_ships_as_package_data() -> None:
    from importlib.resources import files

    root = files("deescalate").joinpath("data", "demo")
    assert root.joinpath("manifest.json").is_file()
    assert Path(str(root)).resolve() == demo_path()
    pyproject = (Path(__file__).parents[3] / "pyproject.toml").read_text()
    assert '"data/**/*.json"' in pyproject


def test_raw_details_file(tmp_path: Path) -> None:
    f = tmp_path / "gaad.json"
    f.write_text(json.dumps(details()))
    s = load_snapshot(f)
    assert s.account_id == "222222222222"
    assert not s.has_inventory and s.inventory == () and s.source == str(f)
    alice = s.users[arn("user", "alice", "222222222222")]
    assert alice.group_arns == (arn("group", "eng/devs", "222222222222"),)  # the group's path is kept
    assert alice.boundary_arn == arn("policy", "Custom", "222222222222")
    assert dict(alice.tags) == {"team": "red"}
    assert alice.access_key_count is None and alice.has_login_profile is None  # unknown
    assert alice.inline_policies[0].ref.kind is PolicyKind.INLINE
    assert alice.inline_policies[0].ref.attached_to == alice.arn
    role = s.roles[arn("role", "r1", "222222222222")]
    assert role.trust_policy is not None and role.trust_policy.statements[0].actions == ("sts:AssumeRole",)
    assert role.instance_profile_arns == (arn("instance-profile", "ip1", "222222222222"),)
    pol = s.policies[arn("policy", "Custom", "222222222222")]
    assert pol.name == "Custom" and pol.default_version == "v2" and set(pol.versions) == {"v1", "v2"}
    assert pol.document.statements[0].actions == ("s3:Get*",)
    assert pol.versions["v1"].statements[0].actions == ("iam:*",)
    assert pol.versions["v1"].ref.version == "v1"


def test_manifest_file_path_loads_its_directory() -> None:
    s = load_snapshot(demo_path() / "manifest.json")
    assert len(s.users) == 3


def test_merge_keeps_principals_of_every_account(tmp_path: Path) -> None:
    f = tmp_path / "other.json"
    f.write_text(json.dumps(details("333333333333")))
    merged = load_snapshots([demo_path(), f])
    assert merged.account_id == ACCT
    assert len(merged.users) == 4 and len(merged.roles) == 3
    assert arn("user", "alice", "333333333333") in merged.users
    assert not merged.has_inventory  # one of them has none


def _copy_demo(tmp_path: Path) -> Path:
    d = tmp_path / "snap"
    shutil.copytree(demo_path(), d)
    return d


def test_regional_resources_and_failed_kinds(tmp_path: Path) -> None:
    d = _copy_demo(tmp_path)
    man = json.loads((d / "manifest.json").read_text())
    man["regions"] = ["us-east-1", "eu-west-1"]
    man["inventory"].append(
        {
            "kind": L.SSM_MANAGED_INSTANCE,
            "region": "eu-west-1",
            "state": "failed",
            "error": "AccessDenied: no",
        }
    )
    man["inventory"].append({"kind": L.EC2_INSTANCE, "region": "eu-west-1", "state": "ok"})
    (d / "manifest.json").write_text(json.dumps(man))
    profile = arn("instance-profile", "roleD-profile")
    ec2 = d / L.regional("eu-west-1", "ec2", "describe-instances")
    ec2.parent.mkdir(parents=True)
    ec2.write_text(
        json.dumps(
            {
                "Reservations": [
                    {
                        "Instances": [
                            {
                                "InstanceId": "i-1",
                                "IamInstanceProfile": {"Arn": profile},
                                "State": {"Name": "running"},
                            },
                            {
                                "InstanceId": "i-2",
                                "IamInstanceProfile": {"Arn": profile},
                                "State": {"Name": "terminated"},
                            },
                        ]
                    }
                ]
            }
        )
    )
    fn = d / L.regional("us-east-1", "lambda", "list-functions")
    fn.parent.mkdir(parents=True)
    fn.write_text(
        json.dumps(
            {
                "Functions": [
                    {
                        "FunctionName": "f",
                        "Role": arn("role", "roleD"),
                        "FunctionArn": "arn:aws:lambda:us-east-1:111111111111:function:f",
                    }
                ]
            }
        )
    )
    policy = doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": "arn:aws:lambda:us-east-1:111111111111:function:f",
        }
    )
    (fn.parent / "get-policy.json").write_text(json.dumps({"f": {"Policy": json.dumps(policy)}}))
    s = load_snapshot(d)
    by_kind = {r.kind: r for r in s.resources}
    assert by_kind[L.EC2_INSTANCE].role_arns == (arn("role", "roleD"),)
    assert by_kind[L.EC2_INSTANCE].region == "eu-west-1"
    assert [r.name for r in s.resources if r.kind == L.EC2_INSTANCE] == ["i-1"]  # the terminated one is gone
    assert by_kind[L.LAMBDA_FUNCTION].role_arns == (arn("role", "roleD"),)
    lam_policy = by_kind[L.LAMBDA_FUNCTION].policy
    assert lam_policy is not None and lam_policy.ref.kind is PolicyKind.RESOURCE
    failed = [r for r in s.inventory if r.state is InventoryState.FAILED]
    assert [(r.kind, r.region, r.error) for r in failed] == [
        (L.SSM_MANAGED_INSTANCE, "eu-west-1", "AccessDenied: no")
    ]


def test_organization_path_with_scps_and_rcps(tmp_path: Path) -> None:
    d = _copy_demo(tmp_path)
    org = d / "organizations"
    org.mkdir()

    def w(name: str, data: Any) -> None:
        (org / name).write_text(json.dumps(data))

    w("describe-organization.json", {"Organization": {"Id": "o-1", "MasterAccountId": "999999999999"}})
    w(
        "list-roots.json",
        {
            "Roots": [
                {
                    "Id": "r-1",
                    "Name": "Root",
                    "PolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}],
                }
            ]
        },
    )
    w(
        "list-parents.json",
        {
            ACCT: {"Parents": [{"Id": "ou-1", "Type": "ORGANIZATIONAL_UNIT"}]},
            "ou-1": {"Parents": [{"Id": "r-1", "Type": "ROOT"}]},
        },
    )
    w("describe-organizational-unit.json", {"ou-1": {"OrganizationalUnit": {"Id": "ou-1", "Name": "Prod"}}})
    full = {"Id": "p-full", "Name": "FullAWSAccess"}
    deny = {"Id": "p-deny", "Name": "NoIam"}
    w(
        "list-policies-for-target.json",
        {
            "r-1": {"SERVICE_CONTROL_POLICY": {"Policies": [full]}},
            "ou-1": {"SERVICE_CONTROL_POLICY": {"Policies": [full, deny]}},
            ACCT: {"SERVICE_CONTROL_POLICY": {"Policies": [full]}},
        },
    )
    w(
        "describe-policy.json",
        {
            "p-full": {
                "Policy": {
                    "PolicySummary": full,
                    "Content": json.dumps(doc({"Effect": "Allow", "Action": "*", "Resource": "*"})),
                }
            },
            "p-deny": {
                "Policy": {
                    "PolicySummary": deny,
                    "Content": json.dumps(doc({"Effect": "Deny", "Action": "iam:*", "Resource": "*"})),
                }
            },
        },
    )
    o = load_snapshot(d).organization
    assert o is not None
    assert o.management_account_id == "999999999999" and o.scps_enabled and not o.rcps_enabled
    assert o.id == "o-1"
    assert [(n.id, n.kind, n.name) for n in o.path] == [
        ("r-1", "root", "Root"),
        ("ou-1", "ou", "Prod"),
        (ACCT, "account", ACCT),
    ]
    assert [[p.ref.name for p in n.scps] for n in o.path] == [
        ["FullAWSAccess"],
        ["FullAWSAccess", "NoIam"],
        ["FullAWSAccess"],
    ]
    assert o.path[1].scps[1].statements[0].effect.value == "Deny"
    assert o.path[1].scps[1].ref.kind is PolicyKind.SCP and o.path[1].scps[1].ref.attached_to == "ou-1"


@pytest.mark.parametrize("missing", ["manifest.json", "iam/get-account-authorization-details.json"])
def test_missing_required_file(tmp_path: Path, missing: str) -> None:
    from deescalate.errors import SnapshotError

    d = _copy_demo(tmp_path)
    (d / missing).unlink()
    with pytest.raises(SnapshotError, match=rf"^{d}/{missing}: no such file"):
        load_snapshot(d)
