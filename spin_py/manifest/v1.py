"""Manifest version 1 (`spin_manifest_version = "1"`) converted to the v2 application model.

As Spin converts it: top-level `name`/`version`/`description`/`authors` become the application,
each `[[component]]` becomes a component plus an HTTP trigger with ID `trigger-<component-id>`,
`config` becomes component `variables`, `allowed_http_hosts` becomes `allowed_outbound_hosts`
(with redis/mysql/postgres wildcards added when `allowed_outbound_hosts` is absent), and
component IDs in snake_case or mixedCase are rewritten to kebab-case. Errors name v1 key paths.
"""

from __future__ import annotations

from pathlib import Path

from spin_py.manifest.app_details import SUPPORTED_TRIGGER, check_base, unsupported_trigger
from spin_py.manifest.component import check_component_id, parse_component
from spin_py.manifest.context import Context
from spin_py.manifest.diagnostics import Invalid, quote
from spin_py.manifest.fields import Table, type_error
from spin_py.manifest.ids import kebab_error
from spin_py.manifest.model import App, Component, HttpTrigger
from spin_py.manifest.trigger import parse_executor, parse_route
from spin_py.manifest.variables import parse_variables

TOP_KEYS = (
    "spin_manifest_version",
    "spin_version",
    "name",
    "version",
    "description",
    "authors",
    "trigger",
    "variables",
    "component",
)


def parse_v1(ctx: Context, doc: dict[str, object], manifest_path: Path) -> App:
    """Validate a v1 document and convert it to the application model."""
    root = Table(doc, ())
    root.check_keys(TOP_KEYS)
    name = root.req_str("name")
    _check_trigger(ctx, Table.of(root.at("trigger"), root.required("trigger")))
    variables = parse_variables(root)
    names = {v.name for v in variables}
    ctx.variable_defaults = {v.name: v.default for v in variables}
    components: dict[str, Component] = {}
    triggers: list[HttpTrigger] = []
    entries = root.data.get("component", [])
    if not isinstance(entries, list):
        raise type_error(root.at("component"), entries, "an array of tables (`[[component]]`)")
    for index, entry in enumerate(entries):
        table = Table.of((*root.at("component"), index), entry)
        component = _component(ctx, table, names, components)
        components[component.id] = component
        triggers.append(_trigger(table, component.id))
    return App(
        manifest_path=manifest_path,
        name=name,
        version=root.opt_str("version"),
        description=root.opt_str("description"),
        authors=root.str_list("authors"),
        variables=variables,
        triggers=tuple(triggers),
        components=components,
    )


def _check_trigger(ctx: Context, trigger: Table) -> None:
    trigger_type = trigger.req_str("type")
    if trigger_type != SUPPORTED_TRIGGER:
        raise unsupported_trigger(trigger.at("type"), trigger_type)
    trigger.check_keys(("type", "base"))
    check_base(ctx, trigger.at("base"), trigger.opt_str("base"))


def _component(
    ctx: Context, table: Table, app_vars: set[str], existing: dict[str, Component]
) -> Component:
    raw_id = table.req_str("id")
    component_id = raw_id
    if kebab_error(raw_id):
        component_id = raw_id.replace("_", "-").lower()
        if kebab_error(component_id):
            check_component_id(table.at("id"), raw_id)
    if component_id in existing:
        raise Invalid(table.at("id"), f"duplicate component ID {quote(component_id)}")
    return parse_component(ctx, table, component_id, app_vars, v1=True)


def _trigger(table: Table, component_id: str) -> HttpTrigger:
    trigger = Table.of(table.at("trigger"), table.required("trigger"))
    trigger.check_keys(("route", "executor"))
    return HttpTrigger(
        id=f"trigger-{component_id}",
        route=parse_route(trigger),
        component=component_id,
        executor=parse_executor(trigger),
    )
