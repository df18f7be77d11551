"""Access-advisor data in a snapshot: when each principal at risk last used each service and action.

The file `iam/get-service-last-accessed-details.json` holds, per principal ARN, the response of
GetServiceLastAccessedDetails for a job generated with `Granularity=ACTION_LEVEL` (pages merged),
as `collect --last-accessed` writes it. IAM reports activity for at least the last 400 days, and
action-level data only for the services and actions it tracks:
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_last-accessed.html
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from deescalate.model import AccessRecord, ServiceUsage
from deescalate.snapshot.where import At, as_object, get_objects, get_opt_str, get_str


def parse_last_accessed(raw: Any, file: str) -> dict[str, AccessRecord]:
    top = as_object(raw, At(file=file))
    out: dict[str, AccessRecord] = {}
    for arn, resp in top.items():
        at = At(file=file, path=arn).named("access advisor report")
        if not arn.startswith("arn:"):
            raise at.error("expected a principal ARN as the key")
        body = as_object(resp, at)
        status = get_str(body, "JobStatus", at, default="COMPLETED")
        if status != "COMPLETED":
            continue  # an unfinished or failed job says nothing about use
        services: dict[str, ServiceUsage] = {}
        for where, svc in get_objects(body, "ServicesLastAccessed", at):
            namespace = get_str(svc, "ServiceNamespace", where).lower()
            tracked = svc.get("TrackedActionsLastAccessed")
            actions: dict[str, str | None] | None = None
            if tracked is not None:
                actions = {}
                for awhere, act in get_objects(svc, "TrackedActionsLastAccessed", where):
                    name = get_str(act, "ActionName", awhere).lower()
                    actions[name] = get_opt_str(act, "LastAccessedTime", awhere)
            services[namespace] = ServiceUsage(
                namespace=namespace,
                last_used=get_opt_str(svc, "LastAuthenticated", where),
                actions=None if actions is None else MappingProxyType(actions),
            )
        created = get_str(body, "JobCreationDate", at, default="")
        out[arn] = AccessRecord(
            principal=arn,
            reported_at=get_str(body, "JobCompletionDate", at, default=created),
            services=MappingProxyType(services),
        )
    return out
