"""A plan (and optional snapshots) -> the account before and after the change, as two `Snapshot`s.

Before: the given snapshot, or else an empty account, filled with Terraform's `prior_state` (the
snapshot wins where both speak). After: the before account with `resource_changes` applied —
deletes and replaces remove the old object, creates and updates add the new one (see
`effects.py`). Both go through the analysis unchanged; `analysis/change.py` compares them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from deescalate.arn import account_of
from deescalate.model import InventoryRecord, InventoryState, ManagedPolicy, PolicyKind, PolicyRef, Snapshot
from deescalate.policy.parse import parse_policy
from deescalate.snapshot import layout as L
from deescalate.snapshot.terraform.account import Account, plan_inventory, unknown_document
from deescalate.snapshot.terraform.context import Ctx, Doubt, make_deriver, resource_arn
from deescalate.snapshot.terraform.effects import DATA_EFFECTS, EFFECTS, Effect
from deescalate.snapshot.terraform.plan import (
    Instance,
    ParsedPlan,
    TerraformPlanError,
    read_plan,
)
from deescalate.snapshot.terraform.principals import rename
from deescalate.snapshot.terraform.world import World

_ACCOUNT = re.compile(r"^\d{12}$")
# AdministratorAccess's document, as AWS publishes it:
# https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AdministratorAccess.html
_ADMIN_DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanScan:
    """The account before and after a Terraform plan, and what the plan touches."""

    plan: str
    before: Snapshot
    after: Snapshot
    # ARN (principal, group, policy or resource) -> the addresses of the changes that touch it.
    touched: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    doubts: tuple[Doubt, ...] = ()
    notes: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()  # addresses of every change applied (not no-op)


def _partition(region: str) -> str:
    # https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/partitions.html
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-iso-"):
        return "aws-iso"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    return "aws"


def _expr_value(expr: Any, variables: Mapping[str, Any]) -> Any:
    if not isinstance(expr, dict):
        return None
    if "constant_value" in expr:
        return expr["constant_value"]
    refs = expr.get("references")
    if isinstance(refs, list) and len(refs) == 1 and isinstance(refs[0], str) and refs[0].startswith("var."):
        return variables.get(refs[0][4:])
    return None


def _all_values(instances: Iterable[Instance]) -> Iterable[str]:
    def walk(v: Any) -> Iterable[str]:
        if isinstance(v, str):
            yield v
        elif isinstance(v, dict):
            for x in v.values():
                yield from walk(x)
        elif isinstance(v, list):
            for x in v:
                yield from walk(x)

    for inst in instances:
        yield from walk(dict(inst.values))


def _account_and_region(parsed: ParsedPlan, base: Snapshot | None, account_id: str | None) -> tuple[str, str]:
    instances = [*parsed.prior, *(c.after for c in parsed.changes if c.after is not None)]
    region = ""
    configs = sorted(parsed.provider_configs.items(), key=lambda kv: kv[0] != "aws")
    allowed: list[str] = []
    for _key, cfg in configs:
        if not isinstance(cfg, dict) or cfg.get("name") != "aws":
            continue
        exprs = cfg.get("expressions") if isinstance(cfg.get("expressions"), dict) else {}
        assert isinstance(exprs, dict)
        r = _expr_value(exprs.get("region"), parsed.variables)
        if isinstance(r, str) and r and not region:
            region = r
        ids = _expr_value(exprs.get("allowed_account_ids"), parsed.variables)
        if isinstance(ids, list):
            allowed += [i for i in ids if isinstance(i, str)]
    for inst in instances:
        if inst.mode == "data" and inst.type == "aws_region" and not region:
            r = inst.values.get("region") or inst.values.get("name")
            region = r if isinstance(r, str) else ""
        if not region and isinstance(inst.values.get("region"), str):
            region = str(inst.values["region"])
    caller = None
    for inst in instances:
        if inst.mode == "data" and inst.type == "aws_caller_identity":
            got = inst.values.get("account_id")
            if isinstance(got, str) and _ACCOUNT.match(got):
                caller = got
                break
    if (
        base is not None
        and caller is not None
        and _ACCOUNT.match(base.account_id)
        and caller != base.account_id
    ):
        raise TerraformPlanError(
            f"{parsed.source}: the plan is for account {caller} (data.aws_caller_identity) but the snapshot "
            f"{base.source} is of account {base.account_id}"
        )
    if account_id is None and base is not None and _ACCOUNT.match(base.account_id):
        account_id = base.account_id
    if account_id is None:
        account_id = caller
    if account_id is None and len(allowed) == 1 and _ACCOUNT.match(allowed[0]):
        account_id = allowed[0]
    if account_id is None:
        for inst in parsed.prior:
            arn = inst.values.get("arn")
            if isinstance(arn, str) and _ACCOUNT.match(account_of(arn)):
                account_id = account_of(arn)
                break
    if account_id is None:
        raise TerraformPlanError(
            f"{parsed.source}: cannot tell which AWS account the plan is for (no data.aws_caller_identity, "
            "no allowed_account_ids, no ARN in the prior state); give --account-id"
        )
    if not region:
        region = base.regions[0] if base is not None and base.regions else "us-east-1"
    return account_id, region


def _apply(
    ctx: Ctx, items: list[tuple[Effect, Instance, str]], *, remove: bool, touched: dict[str, set[str]]
) -> None:
    order = sorted(
        range(len(items)), key=lambda i: (items[i][0].stage if not remove else -items[i][0].stage, i)
    )
    for i in order:
        effect, inst, address = items[i]
        arns = (effect.remove if remove else effect.add)(ctx, inst)
        for arn in arns:
            touched.setdefault(arn, set()).add(address)


def _effect(inst: Instance) -> Effect | None:
    return (DATA_EFFECTS if inst.mode == "data" else EFFECTS).get(inst.type)


def _fill_policies(acct: Account, notes: list[str]) -> None:
    """Managed policies attached but not in the account: AdministratorAccess, or unknown documents."""
    attached = {a for u in acct.users.values() for a in u.managed_policy_arns}
    attached |= {a for r in acct.roles.values() for a in r.managed_policy_arns}
    attached |= {a for g in acct.groups.values() for a in g.managed_policy_arns}
    attached |= {b for u in acct.users.values() if (b := u.boundary_arn)}
    attached |= {b for r in acct.roles.values() if (b := r.boundary_arn)}
    missing = sorted(a for a in attached if a not in acct.policies)
    unknown = []
    for arn in missing:
        name = arn.rsplit("/", 1)[-1]
        version = "(default)"
        ref = PolicyRef(kind=PolicyKind.MANAGED, name=name, arn=arn, version=version)
        if arn.endswith(":iam::aws:policy/AdministratorAccess"):
            doc = parse_policy(_ADMIN_DOC, ref)
        else:
            doc = unknown_document(ref, f"the document of {arn}")
            unknown.append(arn)
        acct.policies[arn] = ManagedPolicy(
            arn=arn, name=name, default_version=version, versions=MappingProxyType({version: doc})
        )
    if unknown:
        notes.append(
            "managed policies attached in the plan whose documents neither the plan nor the snapshot holds "
            "(treated as possibly allowing anything, so what depends on them is conditional; add a "
            '`data "aws_iam_policy"` for each or give a snapshot): ' + ", ".join(unknown)
        )


def build(parsed: ParsedPlan, base: Snapshot | None = None, *, account_id: str | None = None) -> PlanScan:
    account, region = _account_and_region(parsed, base, account_id)
    partition = _partition(region)
    notes: list[str] = []
    doubts: list[Doubt] = []

    # --- before: the snapshot (if any) filled with prior state
    before = Account.of(base, account_id=account, partition=partition)
    if region not in before.regions:
        before.regions.append(region)
    prior_world = World(parsed.prior, make_deriver(before, region))
    ctx = Ctx(
        acct=before,
        world=prior_world,
        region=region,
        prior=True,
        fill=base is not None,
        notes=notes,
        doubts=doubts,
    )
    items = [(e, inst, inst.address) for inst in parsed.prior if (e := _effect(inst)) is not None]
    _apply(ctx, items, remove=False, touched={})

    # --- after: the changes applied
    after = before.copy()
    changed = {c.address for c in parsed.changes if not c.deposed and c.kind not in ("no-op", "forget")}
    after_instances = [i for i in parsed.prior if i.address not in changed]
    after_instances += [c.after for c in parsed.changes if c.after is not None and not c.deposed]
    ctx_after = Ctx(
        acct=after,
        world=World(after_instances, make_deriver(after, region)),
        region=region,
        notes=notes,
        doubts=doubts,
    )
    ctx_before = Ctx(acct=after, world=prior_world, region=region, prior=True, notes=notes, doubts=[])
    removals: list[tuple[Effect, Instance, str]] = []
    renames: list[tuple[Instance, Instance, str]] = []
    adds: list[tuple[Effect, Instance, str]] = []
    applied: list[str] = []
    skipped: set[str] = set()
    for c in parsed.changes:
        inst = c.after or c.before
        if inst is None:
            continue
        effect = _effect(inst)
        kind = c.kind
        if kind in ("no-op", "forget"):
            continue
        if effect is None:
            if kind != "read" and inst.type.startswith("aws_iam_"):
                skipped.add(inst.type)
            continue
        applied.append(c.address)
        if c.before is not None and kind in ("delete", "replace", "update", "create/delete"):
            same = (
                effect.entity
                and c.after is not None
                and _identity(ctx_before, c.before) == _identity(ctx_after, c.after)
            )
            if effect.entity and kind == "update" and not same and c.after is not None:
                renames.append((c.before, c.after, c.address))
            elif not (effect.entity and kind == "update") and not same:
                removals.append((effect, c.before, c.address))
        if c.after is not None and kind != "delete":
            adds.append((effect, c.after, c.address))
    touched: dict[str, set[str]] = {}
    _apply(ctx_before, removals, remove=True, touched=touched)
    for old_inst, new_inst, address in renames:
        # A user or group renamed in place (UpdateUser/UpdateGroup) keeps its policies and groups.
        for arn in rename(ctx_before, ctx_after, old_inst, new_inst):
            touched.setdefault(arn, set()).add(address)
    _apply(ctx_after, adds, remove=False, touched=touched)
    if skipped:
        notes.append(
            "IAM resource types the plan changes that deescalate does not read: " + ", ".join(sorted(skipped))
        )

    _fill_policies(before, notes)
    _fill_policies(after, notes)
    if base is None:
        customer = [
            p for p in before.policies.values() if not p.aws_managed and "(known after apply" not in p.arn
        ]
        if customer:
            notes.append(
                f"{len(customer)} customer managed policies come from Terraform's state: their non-default "
                "versions are not in a plan, so techniques that switch to an older version are not examined; "
                "give a snapshot to examine them"
            )
        notes.append(
            "the account is what Terraform manages (its state and this plan): principals and resources "
            "made outside Terraform are not seen; give a SNAPSHOT to analyse them too"
        )

    if base is not None and not base.has_inventory:
        notes.append(
            "the snapshot holds IAM data only: the resources techniques go through are those of "
            "Terraform's state and this plan"
        )
    src = f"{parsed.source}"
    before_snap = _freeze(before, base, src + " (before)", parsed, created=set())
    created_regions = {
        r.region for a, r in after.resources.items() if r.kind == L.EC2_INSTANCE and a not in before.resources
    }
    after_snap = _freeze(after, base, src, parsed, created=created_regions)
    return PlanScan(
        plan=parsed.source,
        before=before_snap,
        after=after_snap,
        touched=MappingProxyType({k: tuple(sorted(v)) for k, v in touched.items()}),
        doubts=tuple(doubts),
        notes=tuple(dict.fromkeys(notes)),
        changed=tuple(applied),
    )


def _identity(ctx: Ctx, inst: Instance) -> str | None:
    kind = {
        "aws_iam_user": "user",
        "aws_iam_role": "role",
        "aws_iam_group": "group",
        "aws_iam_policy": "policy",
        "aws_iam_instance_profile": "instance-profile",
    }.get(inst.type)
    if kind is None:
        return resource_arn(ctx.acct, inst, ctx.world, ctx.region_of(inst))
    v = ctx.value(inst, "name")
    return v if isinstance(v, str) else None


def _freeze(
    acct: Account, base: Snapshot | None, source: str, parsed: ParsedPlan, *, created: set[str]
) -> Snapshot:
    if base is not None and base.has_inventory:
        inventory = list(base.inventory)
        for region in created:
            # The plan creates instances here: whether SSM will manage them is not known before apply.
            inventory = [
                r for r in inventory if not (r.kind == L.SSM_MANAGED_INSTANCE and r.region == region)
            ]
            inventory.append(
                InventoryRecord(
                    kind=L.SSM_MANAGED_INSTANCE,
                    region=region,
                    state=InventoryState.MISSING,
                    error="the plan creates instances here; whether SSM manages them "
                    "is known only after apply",
                )
            )
        for region in acct.regions:
            if not any(r.region == region for r in inventory):
                inventory += plan_inventory([region])
        records = tuple(inventory)
    else:
        records = plan_inventory(acct.regions)
    return acct.freeze(
        source=source, collected_at=base.collected_at if base else None, inventory=records, has_inventory=True
    )


def load_terraform_plan(
    path: str | Path, base: Snapshot | None = None, *, account_id: str | None = None
) -> PlanScan:
    """Read `terraform show -json` output and build the account before and after it."""
    try:
        return build(read_plan(path), base, account_id=account_id)
    except RecursionError as e:
        raise TerraformPlanError(f"{path}: values nested too deeply to read") from e
