"""`[[trigger.http]]` entries: route, component or static response, executor, and trigger IDs.

Normalization follows Spin: a trigger without an `id` referencing component `c` gets
`c-http-trigger` (if free); other triggers without an `id` (inline components, static responses)
get `http-trigger1`, `http-trigger2`, ... (the first free number). An inline component gets the ID
`<trigger-id>-component`, or `inline-component1`, ... if that is taken or not a valid ID.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import Literal

from spin_py.manifest.component import check_component_id, parse_component
from spin_py.manifest.context import Context
from spin_py.manifest.diagnostics import Invalid, KeyPath, quote
from spin_py.manifest.fields import Table, type_error
from spin_py.manifest.ids import kebab_error
from spin_py.manifest.model import Component, Executor, HttpTrigger, StaticResponse
from spin_py.manifest.route_syntax import route_error

TRIGGER_KEYS = ("id", "route", "component", "static_response", "executor")
_STATIC_KEYS = ("status_code", "headers", "body")
_ExecutorType = Literal["spin", "http", "wagi"]
_EXECUTORS: dict[str, tuple[_ExecutorType, tuple[str, ...]]] = {
    "spin": ("spin", ()),
    "http": ("http", ()),
    "wagi": ("wagi", ("argv", "entrypoint")),
}
"""Executor types and the extra keys each accepts."""
_WASIP3_EXECUTOR = "wasip3-unstable"
"""Spin's executor for WASIp3 components, refused with its own message
(docs/compatibility.md#wasip3-and-component-model-async)."""


@dataclass
class _Entry:
    """One trigger table before IDs are assigned."""

    table: Table
    id: str | None
    route: str | None
    component: str | Table | None
    static_response: StaticResponse | None
    executor: Executor | None


def parse_http_triggers(
    ctx: Context, value: object, path: KeyPath, components: dict[str, Component], app_vars: Set[str]
) -> tuple[HttpTrigger, ...]:
    """Parse `trigger.http`; inline components are added to `components` under their new IDs."""
    if not isinstance(value, list):
        raise type_error(path, value, "an array of tables (`[[trigger.http]]`)")
    entries = [_entry(Table.of((*path, i), item)) for i, item in enumerate(value)]
    ids = _assign_ids(entries)
    triggers = []
    for entry, trigger_id in zip(entries, ids, strict=True):
        component_id = _component_id(ctx, entry, trigger_id, components, app_vars)
        triggers.append(
            HttpTrigger(
                id=trigger_id,
                route=entry.route,
                component=component_id,
                static_response=entry.static_response,
                executor=entry.executor,
            )
        )
    for entry, trigger in zip(entries, triggers, strict=True):
        if trigger.component is not None and trigger.component not in components:
            raise Invalid(
                entry.table.at("component"),
                f"missing component {quote(trigger.component)} configured for trigger "
                f"{quote(trigger.id)}",
            )
    return tuple(triggers)


def _entry(table: Table) -> _Entry:
    table.check_keys(TRIGGER_KEYS)
    has_component, has_static = table.has("component"), table.has("static_response")
    if has_component == has_static:
        which = "has both" if has_component else "has neither"
        raise Invalid(
            table.at("static_response") if has_component else table.path,
            f"a trigger must specify either `component` or `static_response` - this one {which}",
        )
    return _Entry(
        table=table,
        id=table.opt_str("id") or None,
        route=parse_route(table),
        component=_component_spec(table) if has_component else None,
        static_response=_static_response(table) if has_static else None,
        executor=parse_executor(table),
    )


def parse_route(table: Table) -> str | None:
    """`route = "/path"` (returned as written) or `route = { private = true }` (None)."""
    value = table.required("route")
    if isinstance(value, str):
        problem = route_error(value)
        if problem:
            raise Invalid(table.at("route"), problem)
        return value
    spec = Table.of(table.at("route"), value, "a string or `{ private = true }`")
    spec.check_keys(("private",))
    if not spec.opt_bool("private"):
        raise Invalid(
            spec.path,
            "route must be a string pattern or `{ private = true }`; `{ private = false }` is "
            "not allowed",
        )
    return None


def _component_spec(table: Table) -> str | Table:
    value = table.data["component"]
    if isinstance(value, str):
        return check_component_id(table.at("component"), value)
    return Table.of(table.at("component"), value, "a component ID or an inline component table")


def _static_response(table: Table) -> StaticResponse:
    spec = table.table("static_response")
    spec.check_keys(_STATIC_KEYS)
    status = spec.data.get("status_code", 200)
    if isinstance(status, bool) or not isinstance(status, int):
        raise type_error(spec.at("status_code"), status, "an integer")
    if not 100 <= status <= 599:
        raise Invalid(spec.at("status_code"), f"status code {status} is not between 100 and 599")
    return StaticResponse(
        status_code=status, headers=spec.str_table("headers"), body=spec.opt_str("body") or ""
    )


def parse_executor(table: Table) -> Executor | None:
    """`executor = { type = "spin" | "http" | "wagi", ... }` (wagi takes `argv`, `entrypoint`)."""
    spec = table.opt_table("executor")
    if spec is None:
        return None
    name = spec.req_str("type")
    if name == _WASIP3_EXECUTOR:
        raise Invalid(
            spec.at("type"),
            f"executor {quote(name)} runs WASIp3 (`wasi:http@0.3`) components, which spin-py "
            "cannot host: spin-py hosts `wasi:http@0.2.x` components. Remove the executor and "
            "build the component for `wasi:http@0.2.x` (for Python: the Spin SDK 3.x, "
            "`spin-sdk==3.4.1`, with componentize-py 0.17.x)",
        )
    if name not in _EXECUTORS:
        raise Invalid(
            spec.at("type"), f"unknown variant `{name}`, expected one of `spin`, `http`, `wagi`"
        )
    kind, option_keys = _EXECUTORS[name]
    spec.check_keys(("type", *option_keys))
    options = tuple((key, spec.req_str(key)) for key in spec.names() if key != "type")
    return Executor(type=kind, options=options)


def _assign_ids(entries: list[_Entry]) -> list[str]:
    """Trigger IDs: explicit ones (unique), then generated ones as Spin generates them."""
    taken: set[str] = set()
    for entry in entries:
        if entry.id is not None:
            if entry.id in taken:
                raise Invalid(entry.table.at("id"), f"duplicate trigger ID {quote(entry.id)}")
            taken.add(entry.id)
    ids: list[str] = []
    counter = 1
    for entry in entries:
        if entry.id is not None:
            ids.append(entry.id)
            continue
        natural = f"{entry.component}-http-trigger" if isinstance(entry.component, str) else None
        if natural is None or natural in taken:
            while f"http-trigger{counter}" in taken:
                counter += 1
            natural = f"http-trigger{counter}"
        taken.add(natural)
        ids.append(natural)
    return ids


def _component_id(
    ctx: Context,
    entry: _Entry,
    trigger_id: str,
    components: dict[str, Component],
    app_vars: Set[str],
) -> str | None:
    """The component ID a trigger runs; an inline component is parsed and registered here."""
    if not isinstance(entry.component, Table):
        return entry.component
    component_id = f"{trigger_id}-component"
    if kebab_error(component_id) or component_id in components:
        counter = 1
        while f"inline-component{counter}" in components:
            counter += 1
        component_id = f"inline-component{counter}"
    components[component_id] = parse_component(ctx, entry.component, component_id, app_vars)
    return component_id
