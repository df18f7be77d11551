"""The two shapes most service techniques share, written once.

- *Pass a role to a new resource*: the source creates a resource (an instance, a function, a job)
  and hands it a role with iam:PassRole; the resource then runs with that role's credentials.
  Reaches every role of the source's account that trusts the service (PassRole cannot hand over a
  role of another account).
- *Take over an existing resource*: the source changes or enters a resource that already holds a
  role's credentials (edits a function's code, updates a stack, opens a notebook). Reaches the
  role of *each* such resource the source may act on. Where the inventory of the resource kind
  failed in a region, every role that could sit behind such a resource is reported, conditional.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from deescalate.analysis.edges.base import (
    Alternative,
    Checker,
    EdgeContext,
    Principal,
    new_resource,
    pass_role,
)
from deescalate.arn import partition_of
from deescalate.model import Edge, Grant, Resource, Role

# A call of a technique: (action, the SAR's name of the resource type it is asked on, "" when
# the action has one obvious type or none; see deescalate.grounding.resource_type).
Call = tuple[str, str]
# Where a kind could not be listed: (region, account, partition) -> the resource pattern to ask on.
GapResource = Callable[[str, str, str], str]
# Further grants a pass-role technique needs for a role: alternatives, one of which must hold.
ExtraGrants = Callable[[EdgeContext, Principal, Role], Sequence[Alternative]]


def _name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def pass_role_edges(
    ctx: EdgeContext,
    source: Principal,
    *,
    technique: str,
    services: Sequence[str],
    ways: Sequence[Sequence[Call]],
    service_name: str,
    needs_instance_profile: bool = False,
    unknown: Sequence[str] = (),
    extra_grants: ExtraGrants | None = None,
) -> Iterator[Edge]:
    """Edges source -> each role trusting one of `services`.

    `ways` lists the alternatives of service calls, each as (action, SAR resource type name or "");
    every way also needs iam:PassRole on the role, passed to the first service. A call's resource
    comes from the SAR (`new_resource`): "*" for an action without resource types, else its type's
    ARN format for any new name in the source's account and partition. `service_name` only names
    the resource in the edge's description.
    `unknown`: facts the snapshot lacks that the technique needs (the edges are conditional).
    """
    account = source.account_id
    partition = partition_of(source.arn)
    calls = [
        tuple(
            Grant(action=a, resource=new_resource(a, account, rtype=r, partition=partition)) for a, r in way
        )
        for way in ways
    ]
    seen: set[str] = set()
    for service in services:
        for role in ctx.others(source, ctx.roles_trusting(service, account)):
            if role.arn in seen:
                continue
            seen.add(role.arn)
            pass_grant = pass_role(role.arn, services[0])
            extra: tuple[Grant, ...] = ()
            if needs_instance_profile and not ctx.has_instance_profile(role):
                # Without a profile the role cannot go on an instance unless the source makes one.
                profile = new_resource("iam:CreateInstanceProfile", account, partition=partition)
                extra = (
                    Grant(action="iam:CreateInstanceProfile", resource=profile),
                    Grant(action="iam:AddRoleToInstanceProfile", resource=profile),
                )
            edge = ctx.edge(
                source=source.arn,
                target=role.arn,
                technique=technique,
                candidates=[
                    (pass_grant, *call, *extra, *more)
                    for call in calls
                    for more in (extra_grants(ctx, source, role) if extra_grants is not None else ((),))
                ],
                unknown=unknown,
                description=f"pass {role.name} to a new {service_name} resource and run code with it",
            )
            if edge is not None:
                yield edge


def resource_edges(
    ctx: EdgeContext,
    source: Principal,
    *,
    technique: str,
    kind: str,
    ways: Sequence[Sequence[str]],
    gap_resource: GapResource,
    gap_roles: Callable[[str], Sequence[Role]],
    usable: Callable[[Resource], str | None] | None = None,
    extra: Callable[[Resource], tuple[Grant, ...]] | None = None,
    verb: str = "take over",
) -> Iterator[Edge]:
    """Edges source -> the role of each existing `kind` resource it may act on.

    `ways`: alternatives of actions, each action asked on the resource's ARN.
    `gap_resource(region, account, partition)`: the ARN pattern to ask about where the kind was
    not listed.
    `gap_roles(account)`: the roles that could be behind an unlisted resource.
    `usable(resource)`: None when the resource is usable, else why it is only possibly usable
    (e.g. "SSM registration unknown"); raise nothing, return "" to skip the resource entirely.
    """
    account = source.account_id
    for res in ctx.resources(kind, account):
        doubt: tuple[str, ...] = ()
        if usable is not None:
            why = usable(res)
            if why == "":
                continue
            if why is not None:
                doubt = (why,)
        more = extra(res) if extra is not None else ()
        candidates: list[Alternative] = [
            (*(Grant(action=a, resource=res.arn) for a in way), *more) for way in ways
        ]
        for role_arn in res.role_arns:
            if role_arn == source.arn or not ctx.wants(source.arn, role_arn):
                continue
            edge = ctx.edge(
                source=source.arn,
                target=role_arn,
                technique=technique,
                candidates=candidates,
                via=res.arn,
                unknown=doubt,
                description=f"{verb} {kind} {res.name or res.arn}, which runs as {_name(role_arn)}",
            )
            if edge is not None:
                yield edge
    for gap in ctx.gaps(kind):
        pattern = gap_resource(gap.region, account, partition_of(source.arn))
        candidates = [tuple(Grant(action=a, resource=pattern) for a in way) for way in ways]
        for role in ctx.others(source, gap_roles(account)):
            edge = ctx.edge(
                source=source.arn,
                target=role.arn,
                technique=technique,
                candidates=candidates,
                via=pattern,
                unknown=(
                    f"{kind} in {gap.region} could not be listed ({gap.why}); "
                    f"one of them may run as {role.name}",
                ),
                description=f"{verb} an unlisted {kind} in {gap.region} that may run as {role.name}",
            )
            if edge is not None:
                yield edge


def pass_role_checker(
    technique: str,
    *,
    services: Sequence[str],
    service_name: str,
    calls: Sequence[Call | str],
    needs_instance_profile: bool = False,
    alternatives: Sequence[Sequence[Call | str]] = (),
    unknown: Sequence[str] = (),
    extra_grants: ExtraGrants | None = None,
) -> Checker:
    """A checker for 'PassRole + these calls on new resources'.

    `calls`: actions, or (action, SAR resource type name) where the action has several types.
    `alternatives`: further sets of calls that work as well (each is one more way).
    `unknown`: facts the snapshot lacks that the technique needs (its edges are conditional).
    `extra_grants(ctx, source, role)`: alternatives of further grants the technique needs for that
    role (one of them joins each way; none: no edge), e.g. passing a second, service role.
    Every call is grounded in the SAR when the checker is built: an unknown action or an ambiguous
    resource type fails at import.
    """
    ways = (_calls(calls), *(_calls(way) for way in alternatives))
    for way in ways:
        for a, r in way:
            new_resource(a, "000000000000", rtype=r)  # fails now, not during an analysis

    def find(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
        yield from pass_role_edges(
            ctx,
            source,
            technique=technique,
            services=services,
            ways=ways,
            service_name=service_name,
            needs_instance_profile=needs_instance_profile,
            unknown=unknown,
            extra_grants=extra_grants,
        )

    return Checker(
        technique=technique,
        needs=tuple(("iam:PassRole", *(a for a, _ in way)) for way in ways),
        find=find,
    )


def pass_to_existing_edges(
    ctx: EdgeContext,
    source: Principal,
    *,
    technique: str,
    kind: str,
    service: str,
    gap_resource: GapResource,
    calls: Callable[[str], Sequence[Alternative]],
    description: Callable[[Role], str],
    with_gaps: bool = True,
) -> Iterator[Edge]:
    """Edges source -> each role trusting `service`, passed to an existing `kind` resource.

    The source points an existing resource (a job, a project, a cluster, a service) at a role of
    its choice and runs it. Any one such resource will do, so each gives alternatives of the same
    edge: `calls(arn)` lists them for the resource `arn` (without the iam:PassRole grant, added
    here). Where `kind` could not be listed, `gap_resource(region, account, partition)` stands for the
    unlisted ones, and the edge is conditional if no resource was listed at all.
    """
    account = source.account_id
    listed = [r.arn for r in ctx.resources(kind, account)]
    gaps = ctx.gaps(kind) if with_gaps else ()
    doubts = () if listed else tuple(f"{kind} in {g.region} could not be listed ({g.why})" for g in gaps)
    targets = listed + [gap_resource(g.region, account, partition_of(source.arn)) for g in gaps]
    if not targets:
        return
    for role in ctx.others(source, ctx.roles_trusting(service, account)):
        pass_grant = pass_role(role.arn, service)
        edge = ctx.edge(
            source=source.arn,
            target=role.arn,
            technique=technique,
            candidates=[(pass_grant, *alt) for arn in targets for alt in calls(arn)],
            unknown=doubts,
            description=description(role),
        )
        if edge is not None:
            yield edge


def existing_checker(
    technique: str,
    *,
    kind: str,
    service: str,
    service_name: str,
    actions: Sequence[str],
    verb: str,
    resource_type: str = "",
    also: Sequence[Call] = (),
    gap_roles: Callable[[EdgeContext, str], Sequence[Role]] | None = None,
) -> Checker:
    """A checker for 'these calls on an existing resource of `kind` take over its role'.

    `service` is the service principal its roles trust (for regions where `kind` was not listed);
    `resource_type` the SAR's name of the resource type the actions are asked on ("" when the
    first action has one), whose ARN format stands for the unlisted resources there.
    `also`: calls on new resources the technique needs too, as (action, SAR resource type or "").
    `gap_roles(ctx, account)`: the roles that can be behind an unlisted resource, when not every
    role trusting `service` can (an instance needs an instance profile too).
    `service_name` names the service in descriptions.
    """
    gap = gap_pattern(actions[0], resource_type)
    for a, r in also:
        new_resource(a, "000000000000", rtype=r)

    def find(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
        partition = partition_of(source.arn)
        more = tuple(
            Grant(action=a, resource=new_resource(a, source.account_id, rtype=r, partition=partition))
            for a, r in also
        )
        yield from resource_edges(
            ctx,
            source,
            technique=technique,
            kind=kind,
            ways=(tuple(actions),),
            gap_resource=gap,
            gap_roles=lambda a: ctx.roles_trusting(service, a) if gap_roles is None else gap_roles(ctx, a),
            verb=verb,
            extra=(lambda _res: more) if more else None,
        )

    needs = (*actions, *(a for a, _ in also))
    return Checker(technique=technique, needs=(needs,), find=find, kinds=(kind,))


def _calls(way: Sequence[Call | str]) -> tuple[Call, ...]:
    return tuple((c, "") if isinstance(c, str) else c for c in way)


def gap_pattern(action: str, rtype: str = "") -> GapResource:
    """The resource pattern, from the SAR, that stands for unlisted resources of `action`'s type."""
    new_resource(action, "000000000000", rtype=rtype)  # fail at import on an ungrounded call

    def pattern(region: str, account: str, partition: str) -> str:
        return new_resource(action, account, region=region, rtype=rtype, partition=partition)

    return pattern
