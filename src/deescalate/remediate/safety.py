"""The checks a plan passes before apply makes any call: the plan is input anyone may have edited.

`vet_plan` is pure (no AWS call) and runs inside `apply.prepare`, so a library caller cannot skip
it; `planfile.read_checked_plan` adds the file's digest on top. A plan is refused (PlanError,
exit 2), naming the principal or deny, when

  * the account id is not 12 digits, or a principal is listed twice;
  * a principal is not an IAM user or role ARN (a group ARN is refused: apply would otherwise write
    a group's deny onto the role of the same name); a plan may span several accounts (apply
    changes those of the credentials' account, journals hold one account);
  * the placement is not one of `PolicyPlacement` (a string from a file is converted when read), or
    is `none` while denies are switched on;
  * a policy name does not start with `deescalate-` (inline), or is not the principal's own
    `deescalate-deny-<kind>-<name>` (managed), so `revert --all` can always find what apply wrote;
  * a state line is not one `fingerprint.state_lines` writes;
  * a deny is not a well-formed `service:Action` on a resource, or ids repeat;
  * the recorded document differs from the one rendered from the denies switched on (edited after
    the check), or any statement of it is not a Deny.

It also reports the *manual* denies: switched on but not tied to an escalation edge of a finding
(no edge the deny names in `cuts`, from this principal, has a grant the deny matches). Apply shows
them in the dry run and makes no call while any is left unless `--allow-manual` is given.
Whether a deny could lock out the caller needs the live account: `apply.prepare` checks that.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from deescalate.errors import PlanError
from deescalate.model import Deny, Edge, Plan, PolicyPlacement, PrincipalPlan
from deescalate.policy.match import action_matches, resource_matches
from deescalate.remediate.names import iam_principal, is_own_policy_name
from deescalate.remediate.quotas import managed_policy_name, render_document

_ACCOUNT_RE = re.compile(r"\d{12}\Z")
_ACTION_RE = re.compile(r"[A-Za-z0-9-]{1,64}:[A-Za-z0-9*?]{1,128}\Z")
_STATE_RE = re.compile(
    r"(inline [A-Za-z0-9+=,.@_-]{1,128} [0-9a-f]{16}|(managed|boundary|group) arn:[\x21-\x7e]{1,2040})\Z"
)
_MAX_RESOURCE = 2048


@dataclass(frozen=True, slots=True, kw_only=True)
class ManualDeny:
    principal: str
    deny: Deny


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanVetting:
    manual: tuple[ManualDeny, ...]  # switched-on denies not tied to an escalation edge of a finding


def vet_plan(plan: Plan) -> PlanVetting:
    """Every structural and safety check of a plan that needs no AWS call (PlanError on the first)."""
    if not isinstance(plan.account_id, str) or not _ACCOUNT_RE.match(plan.account_id):
        raise PlanError(f"the plan's account_id {plan.account_id!r} is not a 12-digit AWS account id")
    seen: set[str] = set()
    deny_ids: set[str] = set()
    manual: list[ManualDeny] = []
    edges: dict[str, Edge] = {e.id: e for e in plan.edges}
    for pp in plan.principals:
        if pp.principal in seen:
            raise PlanError(f"{pp.principal} appears twice in the plan")
        seen.add(pp.principal)
        _vet_principal(plan, pp)
        for d in pp.denies:
            _vet_deny(pp, d)
            if d.id in deny_ids:
                raise PlanError(f"deny id {d.id!r} appears twice in the plan")
            deny_ids.add(d.id)
            if d.apply and not pp.unfixable and not _tied(d, pp.principal, edges):
                manual.append(ManualDeny(principal=pp.principal, deny=d))
    return PlanVetting(manual=tuple(manual))


def _vet_principal(plan: Plan, pp: PrincipalPlan) -> None:
    who = iam_principal(pp.principal)
    if who is None:
        raise PlanError(
            f"{pp.principal!r} is not an IAM user or role ARN (arn:PARTITION:iam::ACCOUNT:user/NAME or "
            "role/NAME); apply writes denies on users and roles only"
        )
    # A StrEnum: a library caller's "inline" is accepted, anything that is not a member is not.
    if not isinstance(pp.placement, str) or pp.placement not in PolicyPlacement._value2member_map_:
        raise PlanError(f"{pp.principal}: placement {pp.placement!r} is not one of "
                        f"{', '.join(p.value for p in PolicyPlacement)}")
    for line in pp.state:
        if not isinstance(line, str) or not _STATE_RE.match(line):
            raise PlanError(f"{pp.principal}: state line {line!r} is not one deescalate writes")
    active = any(d.apply for d in pp.denies)
    rendered = render_document(pp.denies)
    if not all(st["Effect"] == "Deny" for st in rendered["Statement"]):  # by construction; kept as a guard
        raise PlanError(f"{pp.principal}: a statement is not a Deny")
    if pp.unfixable:
        return  # apply skips it
    match pp.placement:
        case PolicyPlacement.NONE:
            if active:
                raise PlanError(f"{pp.principal}: denies are switched on but the placement is none")
        case PolicyPlacement.INLINE:
            if active and not is_own_policy_name(pp.policy_name):
                raise PlanError(f"{pp.principal}: inline policy name {pp.policy_name!r} does not start with "
                                "deescalate- (apply writes only policies it can find and revert again)")
        case PolicyPlacement.MANAGED:
            if active and pp.policy_name != managed_policy_name(pp.principal):
                raise PlanError(f"{pp.principal}: managed policy name {pp.policy_name!r} is not "
                                f"{managed_policy_name(pp.principal)!r}, the one apply creates for it")
    recorded = _recorded(pp)
    if recorded != rendered:
        raise PlanError(
            f"the denies switched on for {pp.principal} differ from its verified document: the plan was "
            "edited after it was checked. Run `deescalate plan --check PLAN SNAPSHOT` first (it "
            "re-verifies the edit and records the result in the plan)"
        )


def _recorded(pp: PrincipalPlan) -> object:
    if not pp.document:
        return {"Version": "2012-10-17", "Statement": []}
    try:
        return json.loads(pp.document)
    except (ValueError, RecursionError) as e:
        raise PlanError(f"{pp.principal}: the recorded document is not JSON ({e})") from e


def _vet_deny(pp: PrincipalPlan, d: Deny) -> None:
    where = f"{pp.principal}: deny {d.id!r}"
    if d.principal != pp.principal:
        raise PlanError(f"{where} belongs to {d.principal}")
    if not isinstance(d.apply, bool):
        raise PlanError(f"{where}: apply must be true or false")
    if not isinstance(d.action, str) or not _ACTION_RE.match(d.action):
        raise PlanError(f"{where}: action {d.action!r} is not service:Action")
    if (not isinstance(d.resource, str) or not d.resource or len(d.resource) > _MAX_RESOURCE
            or not d.resource.isprintable() or any(c.isspace() for c in d.resource)):
        raise PlanError(f"{where}: resource {d.resource!r} is not an ARN, an ARN pattern or *")


def _tied(d: Deny, principal: str, edges: dict[str, Edge]) -> bool:
    """The deny names (in `cuts`) an escalation edge with a grant `principal` needs that it denies.

    A grant is the edge source's own, or (a step of a composed edge) that of `grant.principal`.
    """
    for edge_id in d.cuts:
        edge = edges.get(edge_id)
        if edge is None:
            continue
        for alt in edge.alternatives:
            for g in alt:
                if (g.principal or edge.source) != principal:
                    continue
                if action_matches(d.action, g.action) and resource_matches(d.resource, g.resource):
                    return True
    return False
