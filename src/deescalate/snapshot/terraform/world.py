"""Values of resource instances, with "known after apply" resolved through configuration references.

A plan leaves unknown what AWS computes (a new role's `arn`, a new policy's `arn`), and every
attribute that refers to it (`policy_arn = aws_iam_policy.p.arn`) is then unknown too. AWS derives
those values from names deescalate can read, so `World.value` follows the configuration's
`references` to the instance referred to and derives the value as AWS will (`derive`). What
cannot be derived stays `UNKNOWN`, and the caller makes what depends on it conditional.

Only a reference to an attribute (`TYPE.NAME.ATTR`, `TYPE.NAME[KEY].ATTR`, `data.TYPE.NAME.ATTR`)
in the same module is followed; `var.`, `local.`, `module.` outputs and `each.` are not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from deescalate.snapshot.terraform.plan import UNKNOWN, Instance, module_path

_REF = re.compile(
    r"^(?P<data>data\.)?(?P<type>[A-Za-z0-9_-]+)\.(?P<name>[A-Za-z0-9_-]+)(?:\[(?P<key>[^\]]+)\])?"
    r"(?:\.(?P<attr>[A-Za-z0-9_]+))?"
)
_NOT_RESOURCES = ("var", "local", "module", "each", "count", "path", "self", "terraform")

# Derives an attribute of an instance (e.g. the ARN of a role from its name and path); None when
# it has no rule for that attribute.
Deriver = Callable[["World", Instance, str], Any]


class World:
    """The resource instances of one side of the change (before or after), for reference lookups."""

    def __init__(self, instances: Iterable[Instance], derive: Deriver) -> None:
        self.by_config: dict[tuple[str, str, str, str], list[Instance]] = {}
        for inst in instances:
            key = (module_path(inst.module), inst.mode, inst.type, inst.name)
            self.by_config.setdefault(key, []).append(inst)
        self._derive = derive

    def value(self, inst: Instance, key: str, depth: int = 0) -> Any:
        """The attribute's value; UNKNOWN when neither the plan nor a reference can tell it."""
        got = inst.get(key)
        if got is not UNKNOWN:
            if isinstance(got, list) and isinstance(inst.unknown, dict):
                return self._list(inst, key, got, depth)
            return got
        if depth > 8:
            return UNKNOWN
        resolved = [self.deref(inst, ref, depth + 1) for ref in self._attr_refs(inst, key)]
        if not resolved:
            return UNKNOWN
        kind_list = isinstance(inst.values.get(key), list) or _is_list_expr(inst.config.get(key))
        if kind_list:
            out: list[Any] = []
            for r in resolved:
                if r is UNKNOWN:
                    return UNKNOWN
                out.extend(r if isinstance(r, list) else [r])
            return out
        if len(resolved) == 1:
            return resolved[0]
        return UNKNOWN  # an expression combining several references: not derivable

    def _list(self, inst: Instance, key: str, got: list[Any], depth: int) -> Any:
        flags = inst.unknown.get(key) if isinstance(inst.unknown, dict) else None
        if not isinstance(flags, list) or not any(f is True for f in flags):
            return got
        known = [v for v, f in zip(got, flags, strict=False) if f is not True]
        resolved = [self.deref(inst, ref, depth + 1) for ref in self._attr_refs(inst, key)]
        extra: list[Any] = []
        for r in resolved:
            if r is UNKNOWN:
                return UNKNOWN
            extra.extend(r if isinstance(r, list) else [r])
        if len(extra) < sum(1 for f in flags if f is True):
            return UNKNOWN
        return list(dict.fromkeys([*known, *extra]))

    @staticmethod
    def _attr_refs(inst: Instance, key: str) -> list[str]:
        refs = inst.references(key)
        # Terraform lists `a.b.c` and then `a.b`; keep the most specific, attribute references only.
        out = []
        for ref in refs:
            m = _REF.match(ref)
            if m is None or ref.split(".", 1)[0] in _NOT_RESOURCES or not m.group("attr"):
                continue
            if any(o.startswith(ref + ".") or o.startswith(ref + "[") for o in refs):
                continue
            out.append(ref)
        return out

    def find(self, inst: Instance, ref: str) -> Instance | None:
        """The instance `ref` (as written in inst's module) points at, when it is one instance."""
        m = _REF.match(ref)
        if m is None:
            return None
        mode = "data" if m.group("data") else "managed"
        cands = self.by_config.get((module_path(inst.module), mode, m.group("type"), m.group("name")), [])
        cands = [c for c in cands if c.module == inst.module] or cands
        key = m.group("key")
        if key is not None:
            try:
                want = json.loads(key)
            except json.JSONDecodeError:
                return None  # an expression as index (each.key, count.index): pair by our own index below
            hit = [c for c in cands if c.index == want]
            return hit[0] if len(hit) == 1 else None
        if len(cands) == 1:
            return cands[0]
        paired = [c for c in cands if c.index is not None and c.index == inst.index]
        return paired[0] if len(paired) == 1 else None

    def deref(self, inst: Instance, ref: str, depth: int = 0) -> Any:
        m = _REF.match(ref)
        target = self.find(inst, ref)
        if m is None or target is None:
            return UNKNOWN
        attr = m.group("attr") or ""
        derived = self._derive(self, target, attr)
        if derived is not None:
            return derived
        return self.value(target, attr, depth)


def _is_list_expr(expr: Any) -> bool:
    return isinstance(expr, dict) and isinstance(expr.get("constant_value"), list)
