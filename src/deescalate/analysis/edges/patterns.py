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
from deescalate.model import Edge, Grant, Resource, Role

NEW_INSTANCE_PROFILE = "instance-profile/*"


def _namespace(action: str) -> str:
    return action.split(":", 1)[0].lower()


def _name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def pass_role_edges(
    ctx: EdgeContext,
    source: Principal,
    *,
    technique: str,
    services: Sequence[str],
    ways: Sequence[Sequence[tuple[str, str]]],
    service_name: str,
    needs_instance_profile: bool = False,
    unknown: Sequence[str] = (),
) -> Iterator[Edge]:
    """Edges source -> each role trusting one of `services`.

    `ways` lists the alternatives of service calls, each as (action, resource type pattern such as
    "function:*"); every way also needs iam:PassRole on the role, passed to the first service.
    A call's resource is in the ARN namespace of its action's service (autoscaling:... on
    arn:aws:autoscaling:..., codepipeline:... on arn:aws:codepipeline:...), whatever `service_name`
    (which only names the resource in the edge's description) says.
    `unknown`: facts the snapshot lacks that the technique needs (the edges are conditional).
    """
    account = source.account_id
    calls = [
        tuple(Grant(action=a, resource=new_resource(_namespace(a), account, r)) for a, r in way)
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
                profile = f"arn:aws:iam::{account}:{NEW_INSTANCE_PROFILE}"
                extra = (
                    Grant(action="iam:CreateInstanceProfile", resource=profile),
                    Grant(action="iam:AddRoleToInstanceProfile", resource=profile),
                )
            edge = ctx.edge(
                source=source.arn,
                target=role.arn,
                technique=technique,
                candidates=[(pass_grant, *call, *extra) for call in calls],
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
    gap_resource: Callable[[str, str], str],
    gap_roles: Callable[[str], Sequence[Role]],
    usable: Callable[[Resource], str | None] | None = None,
    extra: Callable[[Resource], tuple[Grant, ...]] | None = None,
    verb: str = "take over",
) -> Iterator[Edge]:
    """Edges source -> the role of each existing `kind` resource it may act on.

    `ways`: alternatives of actions, each action asked on the resource's ARN.
    `gap_resource(region, account)`: the ARN pattern to ask about where the kind was not listed.
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
        pattern = gap_resource(gap.region, account)
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
    title: str,
    *,
    services: Sequence[str],
    service_name: str,
    calls: Sequence[tuple[str, str]],
    needs_instance_profile: bool = False,
    alternatives: Sequence[Sequence[tuple[str, str]]] = (),
    unknown: Sequence[str] = (),
) -> Checker:
    """A checker for 'PassRole + these calls on new resources' (`calls`: (action, resource type)).

    `alternatives`: further sets of calls that work as well (each is one more way).
    `unknown`: facts the snapshot lacks that the technique needs (its edges are conditional).
    """
    ways = (tuple(calls), *(tuple(way) for way in alternatives))

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
        )

    return Checker(
        technique=technique,
        title=title,
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
    gap_resource: Callable[[str, str], str],
    calls: Callable[[str], Sequence[Alternative]],
    description: Callable[[Role], str],
    with_gaps: bool = True,
) -> Iterator[Edge]:
    """Edges source -> each role trusting `service`, passed to an existing `kind` resource.

    The source points an existing resource (a job, a project, a cluster, a service) at a role of
    its choice and runs it. Any one such resource will do, so each gives alternatives of the same
    edge: `calls(arn)` lists them for the resource `arn` (without the iam:PassRole grant, added
    here). Where `kind` could not be listed, `gap_resource(region, account)` stands for the
    unlisted ones, and the edge is conditional if no resource was listed at all.
    """
    account = source.account_id
    listed = [r.arn for r in ctx.resources(kind, account)]
    gaps = ctx.gaps(kind) if with_gaps else ()
    doubts = () if listed else tuple(f"{kind} in {g.region} could not be listed ({g.why})" for g in gaps)
    targets = listed + [gap_resource(g.region, account) for g in gaps]
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
    title: str,
    *,
    kind: str,
    service: str,
    service_name: str,
    resource_type: str,
    actions: Sequence[str],
    verb: str,
    also: Sequence[tuple[str, str]] = (),
    gap_roles: Callable[[EdgeContext, str], Sequence[Role]] | None = None,
) -> Checker:
    """A checker for 'these calls on an existing resource of `kind` take over its role'.

    `service` is the service principal its roles trust (for regions where `kind` was not listed);
    `resource_type` the ARN's resource part pattern there, e.g. "function:*".
    `also`: calls on new resources the technique needs too, as (action, resource type).
    `gap_roles(ctx, account)`: the roles that can be behind an unlisted resource, when not every
    role trusting `service` can (an instance needs an instance profile too).
    """

    def gap(region: str, account: str) -> str:
        return f"arn:aws:{service_name}:{region}:{account}:{resource_type}"

    def find(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
        more = tuple(
            Grant(action=a, resource=new_resource(service_name, source.account_id, r)) for a, r in also
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
    return Checker(technique=technique, title=title, needs=(needs,), find=find, kinds=(kind,))
