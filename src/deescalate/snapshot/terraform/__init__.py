"""Terraform plans as input: `terraform show -json PLAN` -> the account before and after the change.

`load_terraform_plan(path, base_snapshot, account_id=...)` returns a `PlanScan`: two `Snapshot`s the
analysis reads unchanged, the Terraform addresses that touch each ARN, and what the plan leaves open.
Layout: `plan.py` reads and checks the JSON; `world.py` resolves values known only after apply;
`account.py` is the mutable account; `context.py` derives names and ARNs as AWS does;
`principals.py`, `relations.py` and `resources.py` say what each AWS resource type does, and
`effects.py` maps resource types to them; `build.py` puts them together; `source.py` finds a
resource's `.tf` file and line. docs/terraform.md explains.
"""

from __future__ import annotations

from deescalate.snapshot.terraform.build import PlanScan, load_terraform_plan
from deescalate.snapshot.terraform.context import Doubt
from deescalate.snapshot.terraform.plan import TerraformPlanError

__all__ = ["Doubt", "PlanScan", "TerraformPlanError", "load_terraform_plan"]
