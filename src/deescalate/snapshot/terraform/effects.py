"""What each AWS provider resource does to the account: add it, remove it, and the ARNs it touches.

One `Effect` per resource type (argument names from the AWS provider's documentation,
https://registry.terraform.io/providers/hashicorp/aws/latest/docs). `add` applies an instance's
values; `remove` undoes an instance's prior values. Entities (users, roles, groups, managed
policies, instance profiles, technique resources) are *upserted*: an update changes the entity
and keeps what other resources attached to it. Relations (inline policies, attachments,
memberships, keys) are removed with their old values and added with their new ones. Exclusive
resources (`aws_iam_policy_attachment`, `aws_iam_group_membership`, `*_exclusive`) set the whole
relation on `add`, and their destruction leaves the account as it is, as the provider documents.

Every effect returns the ARNs it changed, which is how an edge opened by the change is traced back
to the Terraform address that opened it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from deescalate.model import (
    Group,
    InstanceProfile,
    ManagedPolicy,
    Policy,
    PolicyKind,
    PolicyRef,
    Resource,
    Role,
    User,
)
from deescalate.snapshot import layout as L
from deescalate.snapshot.terraform.account import (
    NEW_VERSION,
    Account,
    document,
    inline_ref,
    managed,
    unknown_document,
)
from deescalate.snapshot.terraform.plan import UNKNOWN, Instance
from deescalate.snapshot.terraform.world import World

IAM_KINDS = {
    "aws_iam_user": "user",
    "aws_iam_role": "role",
    "aws_iam_group": "group",
    "aws_iam_policy": "policy",
    "aws_iam_instance_profile": "instance-profile",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Doubt:
    """Something a plan leaves open about one ARN: edges through it are conditional on `why`."""

    arn: str
    why: str
    techniques: tuple[str, ...] = ()  # empty: every edge that starts, ends or passes there


@dataclass(slots=True, kw_only=True)
class Ctx:
    acct: Account
    world: World
    region: str
    prior: bool = False  # reading prior state: computed attributes are facts AWS reported
    fill: bool = False  # filling a snapshot from prior state: never overwrite what the snapshot holds
    notes: list[str] = field(default_factory=list)
    doubts: list[Doubt] = field(default_factory=list)
    created: set[str] = field(default_factory=set)  # ARNs of principals created by this pass

    def value(self, inst: Instance, key: str) -> Any:
        return self.world.value(inst, key)

    def text(self, inst: Instance, key: str) -> str | None:
        """A string attribute: its value, None when null/empty, UNKNOWN (typed as str) is not returned."""
        v = self.value(inst, key)
        return v if isinstance(v, str) and v else None

    def unknown(self, inst: Instance, key: str) -> bool:
        return self.value(inst, key) is UNKNOWN

    def strings(self, inst: Instance, key: str) -> list[str] | None:
        """A list/set of strings; None when unknown."""
        v = self.value(inst, key)
        if v is UNKNOWN:
            return None
        if isinstance(v, list):
            return [x for x in v if isinstance(x, str)]
        return []

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def region_of(self, inst: Instance) -> str:
        r = inst.values.get("region")
        return r if isinstance(r, str) and r else self.region


# --------------------------------------------------------------------------- names and ARNs


def placeholder(inst: Instance) -> str:
    """The name standing for one AWS will pick at apply time."""
    return f"(known after apply: {inst.address})"


def entity_name(world: World, inst: Instance) -> tuple[str, bool]:
    """(the IAM name, whether it is known); a `name_prefix` or computed name is not."""
    v = world.value(inst, "name")
    if isinstance(v, str) and v:
        return v, True
    prefix = inst.values.get("name_prefix")
    if isinstance(prefix, str) and prefix:
        return f"{prefix}(known after apply: {inst.address})", False
    return placeholder(inst), False


def entity_path(inst: Instance) -> str:
    p = inst.values.get("path")
    return p if isinstance(p, str) and p.startswith("/") and p.endswith("/") else "/"


def make_deriver(acct: Account, default_region: str) -> Callable[[World, Instance, str], Any]:
    """How AWS derives the attributes a plan leaves unknown (the `World` follows references to them)."""

    def derive(world: World, inst: Instance, attr: str) -> Any:
        kind = IAM_KINDS.get(inst.type) if inst.mode == "managed" else None
        if kind is not None:
            name, _ = entity_name(world, inst)
            arn = inst.values.get("arn")
            if not (isinstance(arn, str) and arn.startswith("arn:")) or inst.is_unknown("arn"):
                arn = acct.iam_arn(kind, name, entity_path(inst))
            if attr == "arn" or (attr == "id" and kind == "policy"):
                return arn
            if attr in ("name", "id"):
                return name
            return None
        if inst.type == "aws_iam_policy" and inst.mode == "data" and attr == "arn":
            return None
        region = inst.values.get("region")
        region = region if isinstance(region, str) and region else default_region
        if attr in ("arn", "id") and inst.is_unknown(attr):
            return resource_arn(acct, inst, world, region)
        return None

    return derive


def resource_arn(acct: Account, inst: Instance, world: World, region: str) -> str | None:
    """The ARN AWS gives a technique resource, from its name (a placeholder where AWS picks an id)."""
    p, a = acct.partition, acct.account_id

    def name(key: str) -> str:
        v = world.value(inst, key)
        return v if isinstance(v, str) and v else placeholder(inst)

    def known(key: str) -> str | None:
        v = inst.get(key)
        return v if isinstance(v, str) and v.startswith("arn:") else None

    match inst.type:
        case "aws_instance":
            iid = inst.get("id")
            iid = iid if isinstance(iid, str) and iid else placeholder(inst)
            return f"arn:{p}:ec2:{region}:{a}:instance/{iid}"
        case "aws_lambda_function":
            return known("arn") or f"arn:{p}:lambda:{region}:{a}:function:{name('function_name')}"
        case "aws_glue_dev_endpoint":
            return f"arn:{p}:glue:{region}:{a}:devEndpoint/{name('name')}"
        case "aws_glue_job":
            return f"arn:{p}:glue:{region}:{a}:job/{name('name')}"
        case "aws_sagemaker_notebook_instance":
            # SageMaker ARNs carry the name in lower case.
            return known("arn") or f"arn:{p}:sagemaker:{region}:{a}:notebook-instance/{name('name').lower()}"
        case "aws_cloudformation_stack":
            sid = inst.get("id")
            if isinstance(sid, str) and sid.startswith("arn:"):
                return sid
            # The stack id ends in a UUID AWS picks at creation.
            return f"arn:{p}:cloudformation:{region}:{a}:stack/{name('name')}/(known after apply)"
        case "aws_codebuild_project":
            return known("arn") or f"arn:{p}:codebuild:{region}:{a}:project/{name('name')}"
        case "aws_ecs_cluster":
            return known("arn") or f"arn:{p}:ecs:{region}:{a}:cluster/{name('name')}"
        case "aws_ecs_task_definition":
            # A new revision's number is known only after apply.
            return (
                known("arn")
                or f"arn:{p}:ecs:{region}:{a}:task-definition/{name('family')}:(known after apply)"
            )
        case "aws_ecs_service":
            sid = inst.get("id")
            if isinstance(sid, str) and sid.startswith("arn:"):
                return sid
            cluster = world.value(inst, "cluster")
            cname = cluster.rsplit("/", 1)[-1] if isinstance(cluster, str) and cluster else "default"
            return f"arn:{p}:ecs:{region}:{a}:service/{cname}/{name('name')}"
    return None


# --------------------------------------------------------------------------- policies


def policy_doc(ctx: Ctx, inst: Instance, key: str, ref: PolicyRef, *, trust: bool = False) -> Policy | None:
    raw = ctx.value(inst, key)
    if raw is UNKNOWN:
        if not trust:
            return unknown_document(ref, f"{inst.address}.{key}")
        arns, services = _mentioned(ctx, inst, key)
        return unknown_document(
            ref,
            f"{inst.address}.{key}",
            trust_root=f"arn:{ctx.acct.partition}:iam::{ctx.acct.account_id}:root",
            principals=arns,
            services=services,
        )
    if raw is None or raw == "":
        return None
    return document(raw, ref, f"{inst.address}.{key}")


def _expressions(tree: Any) -> tuple[list[str], list[str]]:
    """(references, constant strings) anywhere in a configuration expression tree."""
    refs: list[str] = []
    consts: list[str] = []

    def walk(node: Any, depth: int) -> None:
        if depth > 32:
            return
        if isinstance(node, dict):
            r = node.get("references")
            if isinstance(r, list):
                refs.extend(x for x in r if isinstance(x, str))
            if "constant_value" in node:
                walk_const(node["constant_value"], depth + 1)
            for k, v in node.items():
                if k not in ("references", "constant_value"):
                    walk(v, depth + 1)
        elif isinstance(node, list):
            for v in node:
                walk(v, depth + 1)

    def walk_const(node: Any, depth: int) -> None:
        if depth > 32:
            return
        if isinstance(node, str):
            consts.append(node)
        elif isinstance(node, dict):
            for v in node.values():
                walk_const(v, depth + 1)
        elif isinstance(node, list):
            for v in node:
                walk_const(v, depth + 1)

    walk(tree, 0)
    return refs, consts


def _mentioned(ctx: Ctx, inst: Instance, key: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The IAM principals and services an unknown trust document's configuration refers to.

    Follows references into `data "aws_iam_policy_document"` blocks (their `principals`), to users
    and roles (their ARN as AWS derives it), and keeps constant service principals and ARNs.
    """
    arns: list[str] = []
    services: list[str] = []
    seen: set[str] = set()

    def visit(owner: Instance, tree: Any, depth: int) -> None:
        refs, consts = _expressions(tree)
        for c in consts:
            if c.endswith(".amazonaws.com") or c.endswith(".amazonaws.com.cn"):
                services.append(c)
            elif c.startswith("arn:") and ":iam::" in c:
                arns.append(c)
        for ref in refs:
            target = ctx.world.find(owner, ref)
            if target is None or target.address in seen or depth > 4:
                continue
            seen.add(target.address)
            if target.mode == "data" and target.type == "aws_iam_policy_document":
                visit(target, dict(target.config), depth + 1)
            elif target.mode == "managed" and target.type in ("aws_iam_user", "aws_iam_role"):
                kind = IAM_KINDS[target.type]
                name, _ = entity_name(ctx.world, target)
                arns.append(ctx.acct.iam_arn(kind, name, entity_path(target)))

    visit(inst, inst.config.get(key), 0)
    return tuple(dict.fromkeys(arns)), tuple(dict.fromkeys(services))


def _attach(arns: tuple[str, ...], arn: str) -> tuple[str, ...]:
    return arns if arn in arns else (*arns, arn)


def _detach(arns: tuple[str, ...], arn: str) -> tuple[str, ...]:
    return tuple(a for a in arns if a != arn)


def _set_inline(policies: tuple[Policy, ...], pol: Policy) -> tuple[Policy, ...]:
    return (*(p for p in policies if p.ref.name != pol.ref.name), pol)


def _drop_inline(policies: tuple[Policy, ...], name: str) -> tuple[Policy, ...]:
    return tuple(p for p in policies if p.ref.name != name)


def policy_arn_value(ctx: Ctx, inst: Instance, key: str = "policy_arn") -> str | None:
    """A policy ARN; one known only after apply becomes a stand-in policy that may allow anything."""
    v = ctx.value(inst, key)
    if isinstance(v, str) and v:
        return v
    if v is UNKNOWN:
        return unknown_policy(ctx, inst, key)
    return None


def unknown_policy(ctx: Ctx, inst: Instance, key: str) -> str:
    arn = ctx.acct.iam_arn("policy", placeholder(inst))
    ref = PolicyRef(kind=PolicyKind.MANAGED, name=placeholder(inst), arn=arn, version=NEW_VERSION)
    ctx.acct.policies[arn] = managed(arn, placeholder(inst), unknown_document(ref, f"{inst.address}.{key}"))
    return arn


# --------------------------------------------------------------------------- principals


Owner = tuple[str, str]  # ("user" | "role" | "group", ARN)


def owner(ctx: Ctx, inst: Instance, kind: str, key: str) -> str | None:
    """The ARN of the user/role/group an attachment names (by name, or ARN), or None (noted)."""
    v = ctx.value(inst, key)
    if v is UNKNOWN or not isinstance(v, str) or not v:
        ctx.note(f"{inst.address}: the {kind} it applies to is known only after apply; not analysed")
        return None
    lookup = {"user": ctx.acct.user_arn, "role": ctx.acct.role_arn, "group": ctx.acct.group_arn}[kind]
    arn = lookup(v)
    if arn is None:
        ctx.note(
            f"{inst.address}: {kind} {v} is in neither the plan nor the snapshot; what it does to "
            f"that {kind} is not analysed"
        )
    if ctx.fill and arn not in ctx.created:
        return None  # the snapshot speaks for this principal: it wins over Terraform's prior state
    return arn


def _table(ctx: Ctx, kind: str) -> dict[str, Any]:
    tables: dict[str, dict[str, Any]] = {
        "user": ctx.acct.users,
        "role": ctx.acct.roles,
        "group": ctx.acct.groups,
    }
    return tables[kind]


def _update_principal(ctx: Ctx, kind: str, arn: str, **changes: Any) -> None:
    table = _table(ctx, kind)
    table[arn] = replace(table[arn], **changes)


def _principal(ctx: Ctx, kind: str, arn: str) -> User | Role | Group:
    obj: User | Role | Group = _table(ctx, kind)[arn]
    return obj


def _entity_arn(ctx: Ctx, inst: Instance, kind: str) -> tuple[str, str]:
    name, known = entity_name(ctx.world, inst)
    arn = ctx.acct.iam_arn(kind, name, entity_path(inst))
    if not known:
        ctx.doubts.append(
            Doubt(
                arn=arn,
                why=f"the name of {inst.address} is known only after apply (policies "
                "that name it may match it differently)",
            )
        )
    return arn, name


def _tags(inst: Instance) -> Mapping[str, str]:
    tags = inst.values.get("tags")
    if not isinstance(tags, dict):
        return MappingProxyType({})
    return MappingProxyType({str(k): str(v) for k, v in tags.items() if isinstance(v, str)})


def _boundary(ctx: Ctx, inst: Instance) -> str | None:
    v = ctx.value(inst, "permissions_boundary")
    if v is UNKNOWN:
        # An unknown boundary may cap anything or nothing; the identity policies stay as they are.
        ctx.note(f"{inst.address}: its permissions boundary is known only after apply; analysed without it")
        return None
    return v if isinstance(v, str) and v else None


def add_user(ctx: Ctx, inst: Instance) -> set[str]:
    arn, name = _entity_arn(ctx, inst, "user")
    old = ctx.acct.users.get(arn)
    if old is not None and ctx.fill:
        return set()
    fields: dict[str, Any] = {
        "path": entity_path(inst),
        "boundary_arn": _boundary(ctx, inst),
        "tags": _tags(inst),
    }
    if old is None:
        ctx.created.add(arn)
        uid = inst.values.get("unique_id")
        new = not ctx.prior  # a user this plan creates: it starts with no key and no password
        ctx.acct.users[arn] = User(
            arn=arn,
            name=name,
            user_id=uid if isinstance(uid, str) else "",
            access_key_count=0 if new else None,
            has_login_profile=False if new else None,
            **fields,
        )
    else:
        ctx.acct.users[arn] = replace(old, **fields)
    return {arn}


def remove_user(ctx: Ctx, inst: Instance) -> set[str]:
    arn, _ = _entity_arn(ctx, inst, "user")
    return {arn} if ctx.acct.users.pop(arn, None) is not None else set()


def _role_inline(ctx: Ctx, inst: Instance, arn: str) -> tuple[Policy, ...] | None:
    if not (inst.configured("inline_policy") or ctx.prior) or ctx.unknown(inst, "inline_policy"):
        return None
    blocks = inst.values.get("inline_policy")
    if not isinstance(blocks, list):
        return None
    flags = inst.unknown.get("inline_policy") if isinstance(inst.unknown, dict) else None
    out = []
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        name = block.get("name")
        pol_raw = block.get("policy")
        f = flags[i] if isinstance(flags, list) and i < len(flags) else None
        pol_unknown = f is True or (isinstance(f, dict) and f.get("policy") is True)
        if not isinstance(name, str) or not name:
            if pol_unknown or pol_raw:
                name = f"(known after apply: {inst.address}.inline_policy[{i}])"
            else:
                continue  # the empty block the provider uses to say "no inline policies"
        ref = inline_ref(name, arn)
        if pol_unknown:
            out.append(unknown_document(ref, f"{inst.address}.inline_policy[{i}].policy"))
        elif isinstance(pol_raw, str) and pol_raw:
            out.append(document(pol_raw, ref, f"{inst.address}.inline_policy[{i}].policy"))
    return tuple(out)


def _role_managed(ctx: Ctx, inst: Instance) -> tuple[str, ...] | None:
    if not (inst.configured("managed_policy_arns") or ctx.prior):
        return None
    arns = ctx.strings(inst, "managed_policy_arns")
    if arns is None:
        if not inst.configured("managed_policy_arns"):
            return None
        return (unknown_policy(ctx, inst, "managed_policy_arns"),)
    return tuple(arns)


def add_role(ctx: Ctx, inst: Instance) -> set[str]:
    arn, name = _entity_arn(ctx, inst, "role")
    old = ctx.acct.roles.get(arn)
    if old is not None and ctx.fill:
        return set()
    trust = policy_doc(
        ctx,
        inst,
        "assume_role_policy",
        PolicyRef(kind=PolicyKind.TRUST, name=f"{name} trust policy", attached_to=arn),
        trust=True,
    )
    if ctx.unknown(inst, "assume_role_policy"):
        # Service trust is read without conditions (edges/trust.py): the doubt keeps every edge into
        # the role conditional, whoever the document turns out to trust.
        ctx.doubts.append(Doubt(arn=arn, why=f"the trust policy of {inst.address} is known only after apply"))
    fields: dict[str, Any] = {
        "path": entity_path(inst),
        "trust_policy": trust,
        "boundary_arn": _boundary(ctx, inst),
        "tags": _tags(inst),
    }
    inline = _role_inline(ctx, inst, arn)
    if inline is not None:
        fields["inline_policies"] = inline
    attached = _role_managed(ctx, inst)
    if attached is not None:
        fields["managed_policy_arns"] = attached
    if old is None:
        ctx.created.add(arn)
        rid = inst.values.get("unique_id")
        ctx.acct.roles[arn] = Role(arn=arn, name=name, role_id=rid if isinstance(rid, str) else "", **fields)
    else:
        ctx.acct.roles[arn] = replace(old, **fields)
    return {arn}


def remove_role(ctx: Ctx, inst: Instance) -> set[str]:
    arn, _ = _entity_arn(ctx, inst, "role")
    return {arn} if ctx.acct.roles.pop(arn, None) is not None else set()


def add_group(ctx: Ctx, inst: Instance) -> set[str]:
    arn, name = _entity_arn(ctx, inst, "group")
    old = ctx.acct.groups.get(arn)
    if old is not None:
        if not ctx.fill:
            ctx.acct.groups[arn] = replace(old, path=entity_path(inst))
        return set() if ctx.fill else {arn}
    ctx.created.add(arn)
    ctx.acct.groups[arn] = Group(arn=arn, name=name, path=entity_path(inst))
    return {arn}


def remove_group(ctx: Ctx, inst: Instance) -> set[str]:
    arn, _ = _entity_arn(ctx, inst, "group")
    if ctx.acct.groups.pop(arn, None) is None:
        return set()
    touched = {arn}
    for uarn, user in list(ctx.acct.users.items()):
        if arn in user.group_arns:
            ctx.acct.users[uarn] = replace(user, group_arns=_detach(user.group_arns, arn))
            touched.add(uarn)
    return touched


def _holders(ctx: Ctx, policy_arn: str) -> set[str]:
    out = {a for a, u in ctx.acct.users.items() if policy_arn in u.managed_policy_arns}
    out |= {a for a, r in ctx.acct.roles.items() if policy_arn in r.managed_policy_arns}
    for garn, g in ctx.acct.groups.items():
        if policy_arn in g.managed_policy_arns:
            out.add(garn)
            out |= {a for a, u in ctx.acct.users.items() if garn in u.group_arns}
    return out


def add_policy(ctx: Ctx, inst: Instance) -> set[str]:
    arn, name = _entity_arn(ctx, inst, "policy")
    old = ctx.acct.policies.get(arn)
    if old is not None and ctx.fill:
        return set()
    version = old.default_version if old is not None else NEW_VERSION
    ref = PolicyRef(kind=PolicyKind.MANAGED, name=name, arn=arn, version=version)
    doc = policy_doc(ctx, inst, "policy", ref)
    if doc is None:
        return set()
    if old is None:
        ctx.acct.policies[arn] = managed(arn, name, doc, entity_path(inst))
        return {arn}
    if old.versions[old.default_version].document != doc.document and not ctx.fill:
        ctx.note(
            f"{inst.address}: a new default version of {name} replaces the current one (AWS keeps up to "
            "five versions; the older ones are not in a plan)"
        )
    versions = dict(old.versions)
    versions[old.default_version] = doc
    ctx.acct.policies[arn] = replace(old, versions=MappingProxyType(versions))
    return {arn} | _holders(ctx, arn)


def remove_policy(ctx: Ctx, inst: Instance) -> set[str]:
    arn, _ = _entity_arn(ctx, inst, "policy")
    if ctx.acct.policies.pop(arn, None) is None:
        return set()
    return {arn} | _holders(ctx, arn)


def add_data_policy(ctx: Ctx, inst: Instance) -> set[str]:
    """`data "aws_iam_policy"`: the document of an existing managed policy (often an AWS managed one)."""
    arn = ctx.text(inst, "arn")
    doc_raw = ctx.value(inst, "policy")
    if arn is None or arn in ctx.acct.policies or not isinstance(doc_raw, str) or not doc_raw:
        return set()
    name = ctx.text(inst, "name") or arn.rsplit("/", 1)[-1]
    ref = PolicyRef(kind=PolicyKind.MANAGED, name=name, arn=arn, version="(default)")
    ctx.acct.policies[arn] = ManagedPolicy(
        arn=arn,
        name=name,
        default_version="(default)",
        versions=MappingProxyType({"(default)": document(doc_raw, ref, f"{inst.address}.policy")}),
        path=entity_path(inst),
    )
    return set()


def add_profile(ctx: Ctx, inst: Instance) -> set[str]:
    arn, name = _entity_arn(ctx, inst, "instance-profile")
    if arn in ctx.acct.profiles and ctx.fill:
        return set()
    role = ctx.value(inst, "role")
    role_arns: tuple[str, ...] = ()
    if role is UNKNOWN:
        ctx.note(f"{inst.address}: the role of the instance profile is known only after apply; not analysed")
    elif isinstance(role, str) and role:
        rarn = ctx.acct.role_arn(role)
        if rarn is None:
            ctx.note(f"{inst.address}: role {role} is in neither the plan nor the snapshot")
        else:
            role_arns = (rarn,)
    ctx.acct.profiles[arn] = InstanceProfile(arn=arn, name=name, role_arns=role_arns)
    return {arn, *role_arns}


def remove_profile(ctx: Ctx, inst: Instance) -> set[str]:
    arn, _ = _entity_arn(ctx, inst, "instance-profile")
    old = ctx.acct.profiles.pop(arn, None)
    return set() if old is None else {arn, *old.role_arns}


# --------------------------------------------------------------------------- relations


def _inline_effect(
    kind: str,
) -> tuple[Callable[[Ctx, Instance], set[str]], Callable[[Ctx, Instance], set[str]]]:
    def name_of(ctx: Ctx, inst: Instance) -> str:
        v = ctx.text(inst, "name")
        return v or placeholder(inst)

    def add(ctx: Ctx, inst: Instance) -> set[str]:
        arn = owner(ctx, inst, kind, kind)
        if arn is None:
            return set()
        obj = _principal(ctx, kind, arn)
        name = name_of(ctx, inst)
        doc = policy_doc(ctx, inst, "policy", inline_ref(name, arn))
        if doc is None:
            return set()
        _update_principal(ctx, kind, arn, inline_policies=_set_inline(obj.inline_policies, doc))
        return _with_members(ctx, kind, arn)

    def remove(ctx: Ctx, inst: Instance) -> set[str]:
        arn = owner(ctx, inst, kind, kind)
        if arn is None:
            return set()
        obj = _principal(ctx, kind, arn)
        _update_principal(
            ctx, kind, arn, inline_policies=_drop_inline(obj.inline_policies, name_of(ctx, inst))
        )
        return _with_members(ctx, kind, arn)

    return add, remove


def _with_members(ctx: Ctx, kind: str, arn: str) -> set[str]:
    if kind != "group":
        return {arn}
    return {arn} | {a for a, u in ctx.acct.users.items() if arn in u.group_arns}


def _attachment_effect(
    kind: str,
) -> tuple[Callable[[Ctx, Instance], set[str]], Callable[[Ctx, Instance], set[str]]]:
    def add(ctx: Ctx, inst: Instance) -> set[str]:
        arn = owner(ctx, inst, kind, kind)
        parn = policy_arn_value(ctx, inst)
        if arn is None or parn is None:
            return set()
        obj = _principal(ctx, kind, arn)
        _update_principal(ctx, kind, arn, managed_policy_arns=_attach(obj.managed_policy_arns, parn))
        return _with_members(ctx, kind, arn)

    def remove(ctx: Ctx, inst: Instance) -> set[str]:
        arn = owner(ctx, inst, kind, kind)
        parn = ctx.text(inst, "policy_arn")
        if arn is None or parn is None:
            return set()
        obj = _principal(ctx, kind, arn)
        _update_principal(ctx, kind, arn, managed_policy_arns=_detach(obj.managed_policy_arns, parn))
        return _with_members(ctx, kind, arn)

    return add, remove


def _names(ctx: Ctx, inst: Instance, key: str, kind: str) -> list[str]:
    """ARNs of the users/roles/groups a set argument names; unknown members are noted."""
    names = ctx.strings(inst, key)
    if names is None:
        ctx.note(f"{inst.address}: its {key} are known only after apply; not analysed")
        return []
    lookup = {"user": ctx.acct.user_arn, "role": ctx.acct.role_arn, "group": ctx.acct.group_arn}[kind]
    out = []
    for n in names:
        arn = lookup(n)
        if arn is None:
            ctx.note(f"{inst.address}: {kind} {n} is in neither the plan nor the snapshot")
        elif not ctx.fill or arn in ctx.created:
            out.append(arn)
    return out


def add_policy_attachment(ctx: Ctx, inst: Instance) -> set[str]:
    """`aws_iam_policy_attachment` is exclusive: the policy ends up attached to exactly these principals."""
    parn = policy_arn_value(ctx, inst)
    if parn is None:
        return set()
    touched = set()
    for kind, key in (("user", "users"), ("role", "roles"), ("group", "groups")):
        want = set(_names(ctx, inst, key, kind))
        table = _table(ctx, kind)
        for arn, obj in list(table.items()):
            has = parn in obj.managed_policy_arns
            if arn in want and not has:
                table[arn] = replace(obj, managed_policy_arns=_attach(obj.managed_policy_arns, parn))
                touched |= _with_members(ctx, kind, arn)
            elif arn not in want and has and not ctx.prior:
                table[arn] = replace(obj, managed_policy_arns=_detach(obj.managed_policy_arns, parn))
                touched |= _with_members(ctx, kind, arn)
    return touched


def remove_policy_attachment(ctx: Ctx, inst: Instance) -> set[str]:
    parn = ctx.text(inst, "policy_arn")
    if parn is None:
        return set()
    touched = set()
    for kind, key in (("user", "users"), ("role", "roles"), ("group", "groups")):
        for arn in _names(ctx, inst, key, kind):
            obj = _principal(ctx, kind, arn)
            _update_principal(ctx, kind, arn, managed_policy_arns=_detach(obj.managed_policy_arns, parn))
            touched |= _with_members(ctx, kind, arn)
    return touched


def add_user_groups(ctx: Ctx, inst: Instance) -> set[str]:
    uarn = owner(ctx, inst, "user", "user")
    if uarn is None:
        return set()
    groups = _names(ctx, inst, "groups", "group")
    user = ctx.acct.users[uarn]
    ctx.acct.users[uarn] = replace(user, group_arns=tuple(dict.fromkeys([*user.group_arns, *groups])))
    return {uarn}


def remove_user_groups(ctx: Ctx, inst: Instance) -> set[str]:
    uarn = owner(ctx, inst, "user", "user")
    if uarn is None:
        return set()
    gone = set(_names(ctx, inst, "groups", "group"))
    user = ctx.acct.users[uarn]
    ctx.acct.users[uarn] = replace(user, group_arns=tuple(g for g in user.group_arns if g not in gone))
    return {uarn}


def add_group_membership(ctx: Ctx, inst: Instance) -> set[str]:
    """`aws_iam_group_membership` is exclusive: the group's members are exactly these users."""
    garn = owner(ctx, inst, "group", "group")
    if garn is None:
        return set()
    want = set(_names(ctx, inst, "users", "user"))
    touched = set()
    for uarn, user in list(ctx.acct.users.items()):
        member = garn in user.group_arns
        if uarn in want and not member:
            ctx.acct.users[uarn] = replace(user, group_arns=(*user.group_arns, garn))
            touched.add(uarn)
        elif uarn not in want and member and not ctx.prior:
            ctx.acct.users[uarn] = replace(user, group_arns=_detach(user.group_arns, garn))
            touched.add(uarn)
    return touched


def remove_group_membership(ctx: Ctx, inst: Instance) -> set[str]:
    garn = owner(ctx, inst, "group", "group")
    if garn is None:
        return set()
    touched = set()
    for uarn in _names(ctx, inst, "users", "user"):
        user = ctx.acct.users[uarn]
        ctx.acct.users[uarn] = replace(user, group_arns=_detach(user.group_arns, garn))
        touched.add(uarn)
    return touched


def _count_effect(
    attr: str,
) -> tuple[Callable[[Ctx, Instance], set[str]], Callable[[Ctx, Instance], set[str]]]:
    def change(ctx: Ctx, inst: Instance, delta: int) -> set[str]:
        uarn = owner(ctx, inst, "user", "user")
        if uarn is None:
            return set()
        user = ctx.acct.users[uarn]
        if attr == "access_key_count":
            if user.access_key_count is None:
                return set()
            ctx.acct.users[uarn] = replace(user, access_key_count=max(0, user.access_key_count + delta))
        else:
            ctx.acct.users[uarn] = replace(user, has_login_profile=delta > 0)
        return {uarn}

    return (lambda ctx, inst: change(ctx, inst, 1)), (lambda ctx, inst: change(ctx, inst, -1))


def _exclusive_attachments(kind: str) -> Callable[[Ctx, Instance], set[str]]:
    def add(ctx: Ctx, inst: Instance) -> set[str]:
        arn = owner(ctx, inst, kind, f"{kind}_name")
        if arn is None:
            return set()
        arns = ctx.strings(inst, "policy_arns")
        if arns is None:
            arns = [unknown_policy(ctx, inst, "policy_arns")]
        if ctx.prior:
            obj = _principal(ctx, kind, arn)
            arns = list(dict.fromkeys([*obj.managed_policy_arns, *arns]))
        _update_principal(ctx, kind, arn, managed_policy_arns=tuple(arns))
        return _with_members(ctx, kind, arn)

    return add


def _exclusive_inline(kind: str) -> Callable[[Ctx, Instance], set[str]]:
    def add(ctx: Ctx, inst: Instance) -> set[str]:
        arn = owner(ctx, inst, kind, f"{kind}_name")
        names = ctx.strings(inst, "policy_names")
        if arn is None or names is None or ctx.prior:
            return set()
        obj = _principal(ctx, kind, arn)
        keep = set(names)
        _update_principal(
            ctx, kind, arn, inline_policies=tuple(p for p in obj.inline_policies if p.ref.name in keep)
        )
        return _with_members(ctx, kind, arn)

    return add


def _nothing(ctx: Ctx, inst: Instance) -> set[str]:
    return set()


# --------------------------------------------------------------------------- technique resources


def _role_of(ctx: Ctx, inst: Instance, key: str) -> tuple[str, ...]:
    v = ctx.value(inst, key)
    if v is UNKNOWN:
        ctx.note(f"{inst.address}: its {key} is known only after apply; the role it holds is not analysed")
        return ()
    if not isinstance(v, str) or not v:
        return ()
    if v.startswith("arn:"):
        return (v,)
    arn = ctx.acct.role_arn(v)
    return (arn,) if arn else (ctx.acct.iam_arn("role", v),)


def _attrs(**values: Any) -> Mapping[str, str]:
    return MappingProxyType({k: v for k, v in values.items() if isinstance(v, str) and v})


def _resource(ctx: Ctx, inst: Instance) -> Resource | None:
    region = ctx.region_of(inst)
    arn = resource_arn(ctx.acct, inst, ctx.world, region)
    if arn is None:
        return None

    def name(key: str) -> str:
        v = ctx.value(inst, key)
        return v if isinstance(v, str) and v else placeholder(inst)

    match inst.type:
        case "aws_instance":
            prof = ctx.value(inst, "iam_instance_profile")
            roles: tuple[str, ...] = ()
            parn: str | None = None
            if prof is UNKNOWN:
                ctx.note(f"{inst.address}: its instance profile is known only after apply; not analysed")
            elif isinstance(prof, str) and prof:
                parn = ctx.acct.profile_arn(prof)
                if parn is None:
                    ctx.note(
                        f"{inst.address}: instance profile {prof} is in neither the plan nor the snapshot"
                    )
                else:
                    roles = ctx.acct.profiles[parn].role_arns
            ctx.doubts.append(
                Doubt(
                    arn=arn,
                    techniques=("ec2-003",),
                    why=f"whether {inst.address} accepts EC2 Instance Connect (its AMI, "
                    "network and security groups) is a runtime fact a plan does not show",
                )
            )
            return Resource(
                kind=L.EC2_INSTANCE,
                arn=arn,
                region=region,
                name=inst.address,
                role_arns=roles,
                attributes=_attrs(instance_profile_arn=parn, state="running"),
            )
        case "aws_lambda_function":
            return Resource(
                kind=L.LAMBDA_FUNCTION,
                arn=arn,
                region=region,
                name=name("function_name"),
                role_arns=_role_of(ctx, inst, "role"),
                attributes=_attrs(runtime=inst.values.get("runtime")),
            )
        case "aws_glue_dev_endpoint":
            return Resource(
                kind=L.GLUE_DEV_ENDPOINT,
                arn=arn,
                region=region,
                name=name("name"),
                role_arns=_role_of(ctx, inst, "role_arn"),
            )
        case "aws_glue_job":
            return Resource(
                kind=L.GLUE_JOB,
                arn=arn,
                region=region,
                name=name("name"),
                role_arns=_role_of(ctx, inst, "role_arn"),
            )
        case "aws_sagemaker_notebook_instance":
            return Resource(
                kind=L.SAGEMAKER_NOTEBOOK,
                arn=arn,
                region=region,
                name=name("name"),
                role_arns=_role_of(ctx, inst, "role_arn"),
                attributes=_attrs(status="InService"),
            )
        case "aws_cloudformation_stack":
            return Resource(
                kind=L.CLOUDFORMATION_STACK,
                arn=arn,
                region=region,
                name=name("name"),
                role_arns=_role_of(ctx, inst, "iam_role_arn"),
            )
        case "aws_codebuild_project":
            return Resource(
                kind=L.CODEBUILD_PROJECT,
                arn=arn,
                region=region,
                name=name("name"),
                role_arns=_role_of(ctx, inst, "service_role"),
            )
        case "aws_ecs_cluster":
            return Resource(kind=L.ECS_CLUSTER, arn=arn, region=region, name=name("name"))
        case "aws_ecs_task_definition":
            task = _role_of(ctx, inst, "task_role_arn")
            execution = _role_of(ctx, inst, "execution_role_arn")
            return Resource(
                kind=L.ECS_TASK_DEFINITION,
                arn=arn,
                region=region,
                name=name("family"),
                role_arns=tuple(dict.fromkeys([*task, *execution])),
                attributes=_attrs(
                    task_role_arn=task[0] if task else None,
                    execution_role_arn=execution[0] if execution else None,
                ),
            )
        case "aws_ecs_service":
            td = ctx.value(inst, "task_definition")
            td_res = _task_definition(ctx, td) if isinstance(td, str) else None
            cluster = ctx.value(inst, "cluster")
            service_role = _role_of(ctx, inst, "iam_role")
            return Resource(
                kind=L.ECS_SERVICE,
                arn=arn,
                region=region,
                name=name("name"),
                role_arns=td_res.role_arns if td_res else (),
                attributes=_attrs(
                    cluster_arn=cluster if isinstance(cluster, str) else None,
                    task_definition_arn=td_res.arn if td_res else None,
                    service_role_arn=service_role[0] if service_role else None,
                ),
            )
    return None


def _task_definition(ctx: Ctx, ref: str) -> Resource | None:
    """A task definition named by ARN, `family:revision` or `family` (the latest ACTIVE revision)."""
    tds = [r for r in ctx.acct.resources.values() if r.kind == L.ECS_TASK_DEFINITION]
    for r in tds:
        if r.arn == ref:
            return r
    family = ref.rsplit("/", 1)[-1].split(":", 1)[0]
    by_family = [r for r in tds if r.name == family]
    return by_family[-1] if by_family else None


def add_resource(ctx: Ctx, inst: Instance) -> set[str]:
    res = _resource(ctx, inst)
    if res is None:
        return set()
    if ctx.fill and res.arn in ctx.acct.resources:
        return set()
    ctx.acct.resources[res.arn] = res
    if res.region not in ctx.acct.regions:
        ctx.acct.regions.append(res.region)
    return {res.arn}


def remove_resource(ctx: Ctx, inst: Instance) -> set[str]:
    arn = resource_arn(ctx.acct, inst, ctx.world, ctx.region_of(inst))
    if arn is None or ctx.acct.resources.pop(arn, None) is None:
        return set()
    return {arn}


def note_launch_template(ctx: Ctx, inst: Instance) -> set[str]:
    ctx.note(
        f"{inst.address}: launch templates are not modelled (the analysis has no technique through an "
        "existing launch template, so its instance profile is not analysed)"
    )
    return set()


@dataclass(frozen=True, slots=True, kw_only=True)
class Effect:
    add: Callable[[Ctx, Instance], set[str]]
    remove: Callable[[Ctx, Instance], set[str]]
    stage: int  # adds run by stage: entities 0, data 1, relations 2, exclusives 3, resources 4
    entity: bool = False  # an update keeps what other resources attached to it


def _effects() -> dict[str, Effect]:
    out: dict[str, Effect] = {
        "aws_iam_user": Effect(add=add_user, remove=remove_user, stage=0, entity=True),
        "aws_iam_role": Effect(add=add_role, remove=remove_role, stage=0, entity=True),
        "aws_iam_group": Effect(add=add_group, remove=remove_group, stage=0, entity=True),
        "aws_iam_policy": Effect(add=add_policy, remove=remove_policy, stage=0, entity=True),
        "aws_iam_instance_profile": Effect(add=add_profile, remove=remove_profile, stage=1, entity=True),
        "aws_iam_policy_attachment": Effect(
            add=add_policy_attachment, remove=remove_policy_attachment, stage=3
        ),
        "aws_iam_user_group_membership": Effect(add=add_user_groups, remove=remove_user_groups, stage=2),
        "aws_iam_group_membership": Effect(add=add_group_membership, remove=remove_group_membership, stage=3),
    }
    for kind in ("user", "role", "group"):
        add, remove = _inline_effect(kind)
        out[f"aws_iam_{kind}_policy"] = Effect(add=add, remove=remove, stage=2)
        add, remove = _attachment_effect(kind)
        out[f"aws_iam_{kind}_policy_attachment"] = Effect(add=add, remove=remove, stage=2)
        out[f"aws_iam_{kind}_policy_attachments_exclusive"] = Effect(
            add=_exclusive_attachments(kind), remove=_nothing, stage=3
        )
        plural = "policies"
        out[f"aws_iam_{kind}_{plural}_exclusive"] = Effect(
            add=_exclusive_inline(kind), remove=_nothing, stage=3
        )
    add, remove = _count_effect("access_key_count")
    out["aws_iam_access_key"] = Effect(add=add, remove=remove, stage=2)
    add, remove = _count_effect("has_login_profile")
    out["aws_iam_user_login_profile"] = Effect(add=add, remove=remove, stage=2)
    for rtype in (
        "aws_instance",
        "aws_lambda_function",
        "aws_glue_dev_endpoint",
        "aws_glue_job",
        "aws_sagemaker_notebook_instance",
        "aws_cloudformation_stack",
        "aws_codebuild_project",
        "aws_ecs_cluster",
    ):
        out[rtype] = Effect(add=add_resource, remove=remove_resource, stage=4, entity=True)
    out["aws_ecs_task_definition"] = Effect(add=add_resource, remove=remove_resource, stage=4, entity=True)
    out["aws_ecs_service"] = Effect(add=add_resource, remove=remove_resource, stage=5, entity=True)
    out["aws_launch_template"] = Effect(add=note_launch_template, remove=_nothing, stage=4)
    return out


EFFECTS: Mapping[str, Effect] = MappingProxyType(_effects())
DATA_EFFECTS: Mapping[str, Effect] = MappingProxyType(
    {
        "aws_iam_policy": Effect(add=add_data_policy, remove=_nothing, stage=1),
    }
)
