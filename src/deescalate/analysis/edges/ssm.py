"""SSM techniques: run commands on, or open a session to, an SSM-managed instance.

The target is the instance's role (its instance profile), or for a hybrid-activated machine the
role it registered with. An EC2 instance is reachable only if SSM manages it: when the SSM
inventory is missing or failed for its region, the edge is reported conditional.
https://docs.aws.amazon.com/systems-manager/latest/userguide/managed_instances.html
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from deescalate.analysis.edges.base import Checker, EdgeContext, Principal, run_shell_script
from deescalate.analysis.edges.ec2 import INSTANCE, instance_roles
from deescalate.analysis.edges.patterns import gap_pattern, resource_edges
from deescalate.model import Edge, Grant, InventoryState, Resource

MANAGED = "ssm:managed-instance"


def _managed(ctx: EdgeContext) -> tuple[set[str], dict[str, str]]:
    """(ARNs of instances SSM lists as managed, region -> why SSM's list is not known there)."""
    arns = {r.arn for r in ctx.snapshot.resources if r.kind == MANAGED}
    unknown = {
        rec.region: rec.state.value + (f": {rec.error}" if rec.error else "")
        for rec in ctx.snapshot.inventory
        if rec.kind == MANAGED and rec.state is not InventoryState.OK
    }
    return arns, unknown


def _checker(technique: str, action: str, verb: str, with_document: bool) -> Checker:
    def find(ctx: EdgeContext, source: Principal, _prior: Sequence[Edge]) -> Iterator[Edge]:
        arns, unknown = _managed(ctx)
        listed = {rec.region for rec in ctx.snapshot.inventory if rec.kind == MANAGED}

        def usable(res: Resource) -> str | None:
            if res.arn in arns:
                return None
            if res.region in unknown:
                return f"whether SSM manages {res.name} is unknown (SSM inventory {unknown[res.region]})"
            if res.region not in listed:
                return f"whether SSM manages {res.name} is unknown (SSM not listed in {res.region})"
            return ""  # listed, and not managed: no way in

        def document(res: Resource) -> tuple[Grant, ...]:
            if not with_document:
                return ()
            # SendCommand is authorised on the instance and on the document it runs.
            return (Grant(action=action, resource=run_shell_script(res)),)

        gap = gap_pattern(action, "instance")

        yield from resource_edges(
            ctx,
            source,
            technique=technique,
            kind=INSTANCE,
            ways=((action,),),
            gap_resource=gap,
            gap_roles=lambda a: instance_roles(ctx, a),
            usable=usable,
            extra=document,
            verb=verb,
        )
        # Hybrid (non-EC2) managed machines carry their registration role themselves.
        hybrid = [
            r
            for r in ctx.resources(MANAGED, source.account_id)
            if r.role_arns and ":managed-instance/" in r.arn
        ]
        for res in hybrid:
            for role_arn in res.role_arns:
                edge = ctx.edge(
                    source=source.arn,
                    target=role_arn,
                    technique=technique,
                    candidates=[(Grant(action=action, resource=res.arn), *document(res))],
                    via=res.arn,
                    description=f"{verb} managed machine {res.name}",
                )
                if edge is not None:
                    yield edge

    return Checker(technique=technique, needs=((action,),), find=find, kinds=(INSTANCE, MANAGED))


CHECKERS: tuple[Checker, ...] = (
    _checker("ssm-001", "ssm:StartSession", "open an SSM session on", with_document=False),
    _checker("ssm-002", "ssm:SendCommand", "run an SSM command on", with_document=True),
    # An association runs a document (AWS-RunShellScript with our commands) on its targets, as
    # their instance profile; CreateAssociation is authorised on the instance and the document.
    # https://docs.aws.amazon.com/systems-manager/latest/userguide/state-manager-associations.html
    _checker(
        "X-SSMOther", "ssm:CreateAssociation", "associate a shell-script document with", with_document=True
    ),
)
