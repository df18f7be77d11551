"""Access-advisor responses in the shape of IAM's GetServiceLastAccessedDetails (ACTION_LEVEL).

Written from the API reference's response elements (JobStatus, JobType, JobCreationDate,
JobCompletionDate, ServicesLastAccessed[].{ServiceName, ServiceNamespace, LastAuthenticated,
LastAuthenticatedEntity, LastAuthenticatedRegion, TotalAuthenticatedEntities,
TrackedActionsLastAccessed[].{ActionName, LastAccessedEntity, LastAccessedRegion, LastAccessedTime}},
IsTruncated, Marker); the local endpoint does not implement the API.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

REPORTED = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def when(days_ago: int | None) -> dt.datetime | None:
    return None if days_ago is None else REPORTED - dt.timedelta(days=days_ago)


def service(namespace: str, name: str, days_ago: int | None, entity: str,
            actions: dict[str, int | None] | None = None) -> dict[str, Any]:
    svc: dict[str, Any] = {"ServiceName": name, "ServiceNamespace": namespace, "TotalAuthenticatedEntities": 0}
    if days_ago is not None:
        svc.update(LastAuthenticated=when(days_ago), LastAuthenticatedEntity=entity,
                   LastAuthenticatedRegion="us-east-1", TotalAuthenticatedEntities=1)
    if actions is not None:
        tracked = []
        for action, ago in actions.items():
            item: dict[str, Any] = {"ActionName": action}
            if ago is not None:
                item.update(LastAccessedEntity=entity, LastAccessedRegion="us-east-1", LastAccessedTime=when(ago))
            tracked.append(item)
        svc["TrackedActionsLastAccessed"] = tracked
    return svc


def report(services: list[dict[str, Any]], *, status: str = "COMPLETED") -> dict[str, Any]:
    return {
        "JobStatus": status,
        "JobType": "ACTION_LEVEL",
        "JobCreationDate": REPORTED - dt.timedelta(minutes=1),
        "JobCompletionDate": REPORTED,
        "ServicesLastAccessed": services,
        "IsTruncated": False,
    }


def as_json(value: Any) -> Any:
    """The report as the collector writes it (datetimes in ISO 8601)."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    return value.isoformat() if isinstance(value, dt.datetime) else value
