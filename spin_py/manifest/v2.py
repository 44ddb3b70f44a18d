"""Manifest version 2 (`spin_manifest_version = 2`) into an `App`."""

from __future__ import annotations

from pathlib import Path

from spin_py.manifest.app_details import SUPPORTED_TRIGGER, check_base, unsupported_trigger
from spin_py.manifest.component import check_component_id, parse_component
from spin_py.manifest.context import Context
from spin_py.manifest.fields import Table
from spin_py.manifest.model import App, Component, HttpTrigger
from spin_py.manifest.trigger import parse_http_triggers
from spin_py.manifest.variables import parse_variables

TOP_KEYS = ("spin_manifest_version", "application", "variables", "trigger", "component")
APPLICATION_KEYS = ("name", "version", "description", "authors", "targets", "trigger", "tool")


def parse_v2(ctx: Context, doc: dict[str, object], manifest_path: Path) -> App:
    """Validate a v2 document and build the application model."""
    root = Table(doc, ())
    root.check_keys(TOP_KEYS)
    application = Table.of(root.at("application"), root.required("application"))
    _check_application(ctx, application)
    variables = parse_variables(root)
    names = {v.name for v in variables}
    ctx.variable_defaults = {v.name: v.default for v in variables}
    components = _components(ctx, root.table("component"), names)
    triggers = _triggers(ctx, root, components, names)
    return App(
        manifest_path=manifest_path,
        name=application.req_str("name"),
        version=application.opt_str("version"),
        description=application.opt_str("description"),
        authors=application.str_list("authors"),
        variables=variables,
        triggers=triggers,
        components=components,
    )


def _check_application(ctx: Context, application: Table) -> None:
    application.check_keys(APPLICATION_KEYS)
    application.req_str("name")
    application.str_list("targets")
    for tool in application.table("tool").names():
        application.table("tool").table(tool)
    trigger = application.table("trigger")
    for trigger_type in trigger.names():
        if trigger_type != SUPPORTED_TRIGGER:
            raise unsupported_trigger(trigger.at(trigger_type), trigger_type)
    http = trigger.table(SUPPORTED_TRIGGER)
    http.check_keys(("base",))
    check_base(ctx, http.at("base"), http.opt_str("base"))


def _components(ctx: Context, table: Table, app_vars: set[str]) -> dict[str, Component]:
    components: dict[str, Component] = {}
    for component_id in table.names():
        check_component_id(table.at(component_id), component_id)
        spec = Table.of(table.at(component_id), table.data[component_id])
        components[component_id] = parse_component(ctx, spec, component_id, app_vars)
    return components


def _triggers(
    ctx: Context, root: Table, components: dict[str, Component], app_vars: set[str]
) -> tuple[HttpTrigger, ...]:
    triggers = Table.of(root.at("trigger"), root.required("trigger"))
    for trigger_type in triggers.names():
        if trigger_type != SUPPORTED_TRIGGER:
            raise unsupported_trigger(triggers.at(trigger_type), trigger_type)
    if not triggers.has(SUPPORTED_TRIGGER):
        return ()
    value = triggers.data[SUPPORTED_TRIGGER]
    return parse_http_triggers(ctx, value, triggers.at(SUPPORTED_TRIGGER), components, app_vars)
