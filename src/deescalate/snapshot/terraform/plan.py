"""Reading `terraform show -json PLAN` output: validation, resource instances, configuration references.

The format is Terraform's documented JSON plan representation
(https://developer.hashicorp.com/terraform/internals/json-format): a `format_version` whose major
version must be 1, `prior_state` (the state after refresh, including data sources read during
planning), `resource_changes` (each with `change.actions`, `before`, `after`, `after_unknown`),
`configuration` (the unevaluated expressions, with the `references` each one makes) and
`variables`. A plan may list every resource (unchanged ones as `no-op`) or only the changed ones.

Nothing here knows about AWS: this module turns the JSON into `Instance` values and answers
"what does this attribute reference?"; `account.py` and `effects.py` give them AWS meaning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from deescalate.errors import SnapshotError
from deescalate.files import read_regular, too_long
from deescalate.model import EMPTY_MAP

SUPPORTED_MAJOR = "1"


class TerraformPlanError(SnapshotError):
    """A file given as a Terraform plan is not one this tool reads (exit 3)."""


class Unknown:
    """The one value standing for "known after apply"."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "(known after apply)"


UNKNOWN = Unknown()


@dataclass(frozen=True, slots=True, kw_only=True)
class Instance:
    """One resource instance (or data source) as a plan or its prior state describes it."""

    address: str  # module.a["x"].aws_iam_role.r[0]
    mode: str  # "managed" | "data"
    type: str
    name: str
    index: Any = None  # None, an int (count) or a str (for_each)
    module: str = ""  # the module instance address, "" for the root module
    values: Mapping[str, Any] = field(default_factory=lambda: EMPTY_MAP)
    unknown: Any = False  # after_unknown: True, False, or a tree of the values' shape
    config: Mapping[str, Any] = field(default_factory=lambda: EMPTY_MAP)  # configuration expressions

    def is_unknown(self, key: str) -> bool:
        u = self.unknown
        return u is True or (isinstance(u, dict) and _any_true(u.get(key, False)))

    def get(self, key: str) -> Any:
        """The attribute's value, UNKNOWN when known only after apply, None when null or unset."""
        if self.is_unknown(key):
            return UNKNOWN
        return self.values.get(key)

    def configured(self, key: str) -> bool:
        """Whether the configuration sets the argument (not left to the provider to compute).

        A plan without the resource's configuration (some tools strip `configuration`) still tells:
        a computed argument is unknown when planned, so a known, non-empty value was configured.
        """
        if self.config:
            return key in self.config
        value = self.values.get(key)
        return not self.is_unknown(key) and value not in (None, [], {}, "")

    def references(self, key: str) -> tuple[str, ...]:
        expr = self.config.get(key)
        if isinstance(expr, dict):
            refs = expr.get("references")
            if isinstance(refs, list):
                return tuple(r for r in refs if isinstance(r, str))
        return ()


def _any_true(tree: Any) -> bool:
    if tree is True:
        return True
    if isinstance(tree, dict):
        return any(_any_true(v) for v in tree.values())
    if isinstance(tree, list):
        return any(_any_true(v) for v in tree)
    return False


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One entry of `resource_changes`."""

    address: str
    actions: tuple[str, ...]
    before: Instance | None  # None when the object does not exist before (create, read)
    after: Instance | None  # None when it does not exist after (delete)
    deposed: bool = False

    @property
    def kind(self) -> str:
        """create, update, delete, replace, read, no-op or forget."""
        acts = set(self.actions)
        if acts == {"delete", "create"}:
            return "replace"
        if len(self.actions) == 1:
            return self.actions[0]
        return "/".join(self.actions)


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedPlan:
    source: str
    format_version: str
    terraform_version: str
    prior: tuple[Instance, ...]  # prior_state: the account as Terraform knew it (and data sources read)
    changes: tuple[Change, ...]
    variables: Mapping[str, Any]
    provider_configs: Mapping[str, Any]
    configs: Mapping[tuple[str, str, str, str], Mapping[str, Any]]  # (module path, mode, type, name)


_INDEX = re.compile(r"\[[^\]]*\]")


def module_path(module_address: str) -> str:
    """The configuration path of a module instance: `module.a["x"].module.b[0]` -> `module.a.module.b`."""
    return _INDEX.sub("", module_address)


def _read(path: Path, shown: str) -> Any:
    try:
        text = read_regular(path).decode("utf-8-sig")
    except FileNotFoundError as e:
        raise TerraformPlanError(f"{shown}: no such file") from e
    except IsADirectoryError as e:
        raise TerraformPlanError(
            f"{shown}: is a directory, expected the output of `terraform show -json`"
        ) from e
    except UnicodeDecodeError as e:
        raise TerraformPlanError(
            f"{shown}: not UTF-8 text; is it the binary plan file? Give the output "
            "of `terraform show -json PLANFILE`"
        ) from e
    except OSError as e:
        raise TerraformPlanError(f"{shown}: cannot be read ({e.strerror})") from e
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise TerraformPlanError(
            f"{shown}: not JSON ({e.msg}, line {e.lineno}); give the output of "
            "`terraform show -json PLANFILE`"
        ) from e
    except RecursionError as e:
        raise TerraformPlanError(f"{shown}: JSON nested too deeply to read") from e
    except ValueError as e:  # a number of more digits than int() converts
        raise TerraformPlanError(f"{shown}: holds a number too long to read ({too_long(e)})") from e


def _check(doc: Any, shown: str) -> None:
    if not isinstance(doc, dict):
        raise TerraformPlanError(f"{shown}: not a Terraform plan (the JSON is not an object)")
    if "lineage" in doc and "serial" in doc:
        raise TerraformPlanError(
            f"{shown}: a Terraform state file, not a plan; run `terraform plan "
            "-out=tfplan` and `terraform show -json tfplan`"
        )
    version = doc.get("format_version")
    if not isinstance(version, str):
        raise TerraformPlanError(
            f"{shown}: not a Terraform plan (no format_version); give the output of "
            "`terraform show -json PLANFILE`"
        )
    if version.split(".", 1)[0] != SUPPORTED_MAJOR:
        raise TerraformPlanError(
            f"{shown}: plan format version {version} is not one this deescalate reads "
            f"(it reads {SUPPORTED_MAJOR}.x)"
        )
    if "resource_changes" not in doc and "planned_values" not in doc:
        what = "the JSON of a Terraform state" if "values" in doc else "not a Terraform plan"
        raise TerraformPlanError(
            f"{shown}: {what} (no resource_changes or planned_values); give the output of "
            "`terraform show -json PLANFILE`"
        )
    if doc.get("errored") is True:
        raise TerraformPlanError(
            f"{shown}: the plan errored (`errored: true`): Terraform could not finish "
            "planning, so it does not say what will change; fix the errors and plan again"
        )


def _obj(value: Any, shown: str, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TerraformPlanError(f"{shown}: {where} should be an object")
    return value


def _list(value: Any, shown: str, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TerraformPlanError(f"{shown}: {where} should be a list")
    return value


def _str(obj: dict[str, Any], key: str, shown: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise TerraformPlanError(f"{shown}: {where}.{key} should be a string")
    return value


def _config_index(doc: dict[str, Any], shown: str) -> dict[tuple[str, str, str, str], Mapping[str, Any]]:
    out: dict[tuple[str, str, str, str], Mapping[str, Any]] = {}
    configuration = _obj(doc.get("configuration"), shown, "configuration")

    def walk(module: dict[str, Any], path: str, depth: int) -> None:
        if depth > 64:
            raise TerraformPlanError(f"{shown}: configuration modules nested too deeply")
        for i, res in enumerate(_list(module.get("resources"), shown, f"{path or 'root_module'}.resources")):
            res = _obj(res, shown, f"{path or 'root_module'}.resources[{i}]")
            key = (path, str(res.get("mode", "managed")), str(res.get("type", "")), str(res.get("name", "")))
            out[key] = MappingProxyType(_obj(res.get("expressions"), shown, "expressions"))
        for name, call in _obj(module.get("module_calls"), shown, "module_calls").items():
            call = _obj(call, shown, f"module_calls.{name}")
            child = _obj(call.get("module"), shown, f"module_calls.{name}.module")
            walk(child, f"{path}.module.{name}" if path else f"module.{name}", depth + 1)

    walk(_obj(configuration.get("root_module"), shown, "configuration.root_module"), "", 0)
    return out


def _instance(
    res: dict[str, Any],
    values: Any,
    unknown: Any,
    configs: Mapping[Any, Mapping[str, Any]],
    *,
    shown: str,
    where: str,
    module: str | None = None,
) -> Instance:
    address = _str(res, "address", shown, where)
    mode = str(res.get("mode", "managed"))
    typ = _str(res, "type", shown, where)
    name = _str(res, "name", shown, where)
    if module is None:
        got = res.get("module_address")
        module = got if isinstance(got, str) else ""
    vals = _obj(values, shown, f"{where}.values") if values is not None else {}
    return Instance(
        address=address,
        mode=mode,
        type=typ,
        name=name,
        index=res.get("index"),
        module=module,
        values=MappingProxyType(vals),
        unknown=unknown if isinstance(unknown, (dict, bool)) else False,
        config=configs.get((module_path(module), mode, typ, name), EMPTY_MAP),
    )


def _state_instances(
    state: dict[str, Any], configs: Mapping[Any, Mapping[str, Any]], shown: str
) -> Iterator[Instance]:
    values = _obj(state.get("values"), shown, "prior_state.values")

    def walk(module: dict[str, Any], where: str, depth: int) -> Iterator[Instance]:
        if depth > 64:
            raise TerraformPlanError(f"{shown}: state modules nested too deeply")
        maddr = module.get("address")
        maddr = maddr if isinstance(maddr, str) else ""
        for i, res in enumerate(_list(module.get("resources"), shown, f"{where}.resources")):
            res = _obj(res, shown, f"{where}.resources[{i}]")
            if "deposed_key" in res:
                continue
            yield _instance(
                res,
                res.get("values"),
                False,
                configs,
                shown=shown,
                where=f"{where}.resources[{i}]",
                module=maddr,
            )
        for j, child in enumerate(_list(module.get("child_modules"), shown, f"{where}.child_modules")):
            yield from walk(
                _obj(child, shown, f"{where}.child_modules[{j}]"), f"{where}.child_modules[{j}]", depth + 1
            )

    yield from walk(
        _obj(values.get("root_module"), shown, "prior_state.values.root_module"),
        "prior_state.values.root_module",
        0,
    )


_ACTIONS = {"no-op", "create", "read", "update", "delete", "forget"}


def _changes(doc: dict[str, Any], configs: Mapping[Any, Mapping[str, Any]], shown: str) -> Iterator[Change]:
    for i, rc in enumerate(_list(doc.get("resource_changes"), shown, "resource_changes")):
        where = f"resource_changes[{i}]"
        rc = _obj(rc, shown, where)
        change = _obj(rc.get("change"), shown, f"{where}.change")
        actions = tuple(_list(change.get("actions"), shown, f"{where}.change.actions"))
        if not actions or any(not isinstance(a, str) or a not in _ACTIONS for a in actions):
            raise TerraformPlanError(
                f"{shown}: {where} has change.actions {json.dumps(list(actions))[:80]}, "
                f"not one of {sorted(_ACTIONS)}"
            )
        before_v = change.get("before")
        after_v = change.get("after")
        before = (
            None
            if before_v is None or actions == ("create",)
            else _instance(rc, before_v, False, configs, shown=shown, where=where)
        )
        after = (
            None
            if actions in (("delete",), ("forget",))
            else _instance(
                rc, after_v or {}, change.get("after_unknown", False), configs, shown=shown, where=where
            )
        )
        yield Change(
            address=_str(rc, "address", shown, where),
            actions=actions,
            before=before,
            after=after,
            deposed=bool(rc.get("deposed")),
        )


def read_plan(path: str | Path) -> ParsedPlan:
    """Read and check one `terraform show -json` plan file; every problem is a one-line TerraformPlanError."""
    shown = str(path)
    doc = _read(Path(path), shown)
    _check(doc, shown)
    configs = _config_index(doc, shown)
    prior_state = _obj(doc.get("prior_state"), shown, "prior_state")
    prior = tuple(_state_instances(prior_state, configs, shown)) if prior_state else ()
    variables = {
        k: v.get("value")
        for k, v in _obj(doc.get("variables"), shown, "variables").items()
        if isinstance(v, dict)
    }
    configuration = _obj(doc.get("configuration"), shown, "configuration")
    return ParsedPlan(
        source=shown,
        format_version=str(doc["format_version"]),
        terraform_version=str(doc.get("terraform_version", "")),
        prior=prior,
        changes=tuple(_changes(doc, configs, shown)),
        variables=MappingProxyType(variables),
        provider_configs=MappingProxyType(
            _obj(configuration.get("provider_config"), shown, "provider_config")
        ),
        configs=MappingProxyType(configs),
    )
