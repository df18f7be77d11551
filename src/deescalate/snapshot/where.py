"""Typed access to parsed JSON that knows where it is, so every error names the file and the place.

`At` is a position such as `snap/iam/get-account-authorization-details.json:
UserDetailList[3].UserPolicyList[0] (user alice, policy p1)`. The helpers below read one field and
raise `SnapshotError` with that position when the field has the wrong type; nothing else in the
loader inspects raw JSON types.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deescalate.errors import SnapshotError
from deescalate.terminal import clean


@dataclass(frozen=True, slots=True, kw_only=True)
class At:
    file: str
    path: str = ""
    about: tuple[str, ...] = ()

    def key(self, name: str) -> At:
        return At(file=self.file, path=f"{self.path}.{name}" if self.path else name, about=self.about)

    def index(self, i: int) -> At:
        return At(file=self.file, path=f"{self.path}[{i}]", about=self.about)

    def named(self, what: str) -> At:
        return At(file=self.file, path=self.path, about=(*self.about, what))

    def __str__(self) -> str:
        place = self.path or "top level"
        about = f" ({', '.join(self.about)})" if self.about else ""
        return f"{self.file}: {place}{about}"

    def error(self, message: str) -> SnapshotError:
        # A key of the file is part of the place (a user name, a policy name): one line, whatever
        # characters the file's author put in it.
        return SnapshotError(clean(f"{self}: {message}"))


def type_name(value: Any) -> str:
    """How a message names the JSON type of `value`: "a string", "null", ..."""
    match value:
        case None:
            return "null"
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "a list"
        case dict():
            return "an object"
        case _:
            return type(value).__name__


def as_object(value: Any, at: At) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise at.error(f"expected an object, found {type_name(value)}")
    return value


def get_list(obj: dict[str, Any], name: str, at: At, *, required: bool = False) -> list[tuple[At, Any]]:
    """The items of list `name` with their positions; absent (or null) is empty unless required."""
    here = at.key(name)
    value = obj.get(name)
    if value is None:
        if required:
            raise here.error("missing (expected a list)")
        return []
    if not isinstance(value, list):
        raise here.error(f"expected a list, found {type_name(value)}")
    return [(here.index(i), item) for i, item in enumerate(value)]


def get_objects(
    obj: dict[str, Any], name: str, at: At, *, required: bool = False
) -> list[tuple[At, dict[str, Any]]]:
    return [(where, as_object(item, where)) for where, item in get_list(obj, name, at, required=required)]


def get_opt_str(obj: dict[str, Any], name: str, at: At) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise at.key(name).error(f"expected a string, found {type_name(value)}")
    return value


def get_str(obj: dict[str, Any], name: str, at: At, *, default: str | None = None) -> str:
    """Field `name` as a string; absent (or null) is `default`, or an error when there is none."""
    value = get_opt_str(obj, name, at)
    if value is None:
        if default is None:
            raise at.key(name).error("missing (expected a string)")
        return default
    return value


def get_opt_int(obj: dict[str, Any], name: str, at: At) -> int | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise at.key(name).error(f"expected a number, found {type_name(value)}")
    return value


def get_opt_object(obj: dict[str, Any], name: str, at: At) -> dict[str, Any] | None:
    value = obj.get(name)
    if value is None:
        return None
    return as_object(value, at.key(name))


def get_tags(obj: dict[str, Any], at: At, name: str = "Tags") -> dict[str, str]:
    """AWS tag lists `[{"Key": k, "Value": v}]` (IAM, EC2) as a dict."""
    tags: dict[str, str] = {}
    for where, tag in get_objects(obj, name, at):
        tags[get_str(tag, "Key", where)] = get_str(tag, "Value", where, default="")
    return tags
