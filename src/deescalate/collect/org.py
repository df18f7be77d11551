"""Organizations: the path from the root to this account and the SCPs/RCPs attached at each level.

All or nothing: a partial picture (say, the root's SCPs but not an OU's) would read as "no SCP
allows anything at that level", so on any failure no Organizations file is written and the
manifest says why. Only the management account or a delegated administrator can read the tree
(https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html).
"""

from __future__ import annotations

from typing import Any

from deescalate.collect.session import GLOBAL, Aws, Failure
from deescalate.collect.store import Store
from deescalate.snapshot import layout as L

NOT_IN_USE = "AWSOrganizationsNotInUseException"


def collect_organization(aws: Aws, store: Store, account_id: str) -> str:
    """Collect and write the organization files; returns the status the manifest records."""
    try:
        described = aws.call("organizations", GLOBAL, "describe_organization")
    except Failure as e:
        if e.call.code == NOT_IN_USE:
            return "not in use"
        aws.record(e.call)
        return f"failed: {e.call.operation} {e.call.summary()}"
    files: dict[str, Any] = {L.ORG_DESCRIBE: described}
    try:
        roots = aws.pages("organizations", GLOBAL, "list_roots")
        files[L.ORG_ROOTS] = roots
        root_list = roots.get("Roots") or []
        if not root_list:
            return "failed: the organization lists no root"
        root = root_list[0]
        enabled = [t["Type"] for t in root.get("PolicyTypes", []) if t.get("Status") == "ENABLED"]
        parents: dict[str, Any] = {}
        ous: dict[str, Any] = {}
        chain = [account_id]
        child = account_id
        while child != root["Id"] and len(chain) <= 10:
            resp = aws.pages("organizations", GLOBAL, "list_parents", ChildId=child)
            parents[child] = resp
            if not resp.get("Parents"):
                break
            child = resp["Parents"][0]["Id"]
            chain.append(child)
            if resp["Parents"][0].get("Type") == "ORGANIZATIONAL_UNIT":
                ous[child] = aws.call(
                    "organizations", GLOBAL, "describe_organizational_unit", OrganizationalUnitId=child
                )
        targets: dict[str, dict[str, Any]] = {}
        described_policies: dict[str, Any] = {}
        for target in chain:
            for ptype in (L.SCP_TYPE, L.RCP_TYPE):
                if ptype not in enabled:
                    continue
                resp = aws.pages(
                    "organizations", GLOBAL, "list_policies_for_target", TargetId=target, Filter=ptype
                )
                targets.setdefault(target, {})[ptype] = resp
                for summary in resp.get("Policies", []):
                    if summary["Id"] not in described_policies:
                        described_policies[summary["Id"]] = aws.call(
                            "organizations", GLOBAL, "describe_policy", PolicyId=summary["Id"]
                        )
    except Failure as e:
        aws.record(e.call)
        return f"failed: {e.call.operation} {e.call.summary()}"
    files.update(
        {
            L.ORG_PARENTS: parents,
            L.ORG_OUS: ous,
            L.ORG_TARGET_POLICIES: targets,
            L.ORG_POLICIES: described_policies,
        }
    )
    for rel, data in files.items():
        store.write(rel, data)
    return "collected"
