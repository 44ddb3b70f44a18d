"""`[component.<id>]` tables (and v1 `[[component]]` entries, and inline trigger components).

One parser serves both manifest versions: v1 differs only in a few key names (`config` for
`variables`, `id` and `trigger` inside the table) and in how `allowed_http_hosts` is converted.
"""

from __future__ import annotations

from collections.abc import Set
from pathlib import PurePosixPath

from spin_py.manifest.context import Context
from spin_py.manifest.diagnostics import Invalid, KeyPath, quote
from spin_py.manifest.fields import Table, expect_str, type_error
from spin_py.manifest.ids import kebab_error, lower_snake_error, snake_error
from spin_py.manifest.model import BuildConfig, Component, FileMount, RemoteSource
from spin_py.manifest.outbound import (
    SKIPPED_ENTRIES,
    AllowedHostError,
    convert_allowed_http_hosts,
    parse_allowed_host,
)
from spin_py.manifest.templates import (
    TemplateError,
    is_template,
    render_template,
    template_references,
)

_COMMON_KEYS = (
    "source",
    "description",
    "environment",
    "files",
    "exclude_files",
    "allowed_outbound_hosts",
    "allowed_http_hosts",
    "key_value_stores",
    "sqlite_databases",
    "ai_models",
    "build",
)
V2_KEYS = (
    *_COMMON_KEYS,
    "variables",
    "tool",
    "dependencies",
    "dependencies_inherit_configuration",
    "profile",
)
"""Keys of a v2 component; `tool`, `dependencies*` and `profile` are accepted and ignored."""
V1_KEYS = ("id", *_COMMON_KEYS, "config", "trigger")
"""Keys of a v1 `[[component]]` entry (`id` and `trigger` are read by the v1 parser)."""

_BUILD_KEYS = ("command", "workdir", "watch")
_IGNORED_TABLES = ("tool", "dependencies", "profile")
_DIGEST_HEX = frozenset("0123456789abcdef")


def check_component_id(path: KeyPath, component_id: str) -> str:
    """`component_id` if it is a valid (kebab-case) component ID, else `Invalid` at `path`."""
    problem = kebab_error(component_id)
    if problem:
        raise Invalid(path, f"invalid component ID {quote(component_id)}: {problem}")
    return component_id


def parse_component(
    ctx: Context, table: Table, component_id: str, app_variables: Set[str], *, v1: bool = False
) -> Component:
    """Parse and validate one component table into a `Component`."""
    table.check_keys(V1_KEYS if v1 else V2_KEYS)
    _check_ignored(table, v1=v1)
    return Component(
        id=component_id,
        source=_source(table),
        description=table.opt_str("description"),
        files=_files(ctx, table),
        exclude_files=table.str_list("exclude_files"),
        allowed_outbound_hosts=_outbound_hosts(ctx, table, v1=v1),
        key_value_stores=_labels(table, "key_value_stores"),
        sqlite_databases=_labels(table, "sqlite_databases"),
        ai_models=table.str_list("ai_models"),  # any model name, as Spin accepts
        environment=table.str_table("environment"),
        variables=_variables(table, "config" if v1 else "variables", app_variables),
        build=_build(table),
    )


def _check_ignored(table: Table, *, v1: bool) -> None:
    """Type-check the keys spin-py accepts for compatibility but does not use."""
    if v1:
        return
    for key in _IGNORED_TABLES:
        table.table(key)
    table.opt_bool("dependencies_inherit_configuration")


def _source(table: Table) -> str | RemoteSource:
    value = table.required("source")
    if isinstance(value, str):
        if not value:
            raise Invalid(table.at("source"), "the source path is empty")
        return value
    spec = Table.of(
        table.at("source"), value, 'a path or a table `{ url = "...", digest = "..." }`'
    )
    if spec.has("package"):
        raise Invalid(
            spec.path,
            "registry sources (`package`/`version`) are not supported by spin-py; use a local "
            'path or `{ url = "...", digest = "sha256:..." }`',
        )
    spec.check_keys(("url", "digest"))
    url, digest = spec.req_str("url"), spec.req_str("digest")
    algorithm, _, hexdigest = digest.partition(":")
    if algorithm != "sha256" or len(hexdigest) != 64 or not set(hexdigest) <= _DIGEST_HEX:
        raise Invalid(
            spec.at("digest"),
            f'invalid digest {quote(digest)}: expected "sha256:" and 64 lowercase hex digits',
        )
    return RemoteSource(url=url, digest=digest)


def _files(ctx: Context, table: Table) -> tuple[FileMount, ...]:
    value = table.data.get("files", [])
    if not isinstance(value, list):
        raise type_error(table.at("files"), value, "an array")
    return tuple(_file_mount(ctx, (*table.at("files"), i), item) for i, item in enumerate(value))


def _file_mount(ctx: Context, path: KeyPath, value: object) -> FileMount:
    if isinstance(value, str):
        _check_inside_app(path, value)
        return FileMount(source=value)
    spec = Table.of(path, value, 'a glob or a table `{ source = "...", destination = "/..." }`')
    spec.check_keys(("source", "destination"))
    source, destination = spec.req_str("source"), spec.req_str("destination")
    _check_inside_app(spec.at("source"), source)
    if not destination.startswith("/"):
        raise Invalid(
            spec.at("destination"),
            f"destination {quote(destination)} must be an absolute path (start with '/')",
        )
    if PurePosixPath(destination).name in ("", "..") and (ctx.file.parent / source).is_file():
        # One file is mounted as a file: the destination must name it (Spin refuses `/`).
        raise Invalid(
            spec.at("destination"),
            f"{quote(destination)} is not a valid destination file name (the source "
            f"{quote(source)} is a file: give the path it should have, e.g. "
            f"{quote('/' + PurePosixPath(source).name)})",
        )
    return FileMount(source=source, destination=destination)


def _check_inside_app(path: KeyPath, source: str) -> None:
    """Files are mounted from inside the application directory only (docs/security.md): an
    absolute source or one with a `..` segment is refused here; symlinks are checked when the
    server builds the mounts."""
    if source.startswith("/") or ".." in source.replace("\\", "/").split("/"):
        raise Invalid(
            path,
            f"files source {quote(source)} must be a path relative to the application directory "
            "without '..': files from outside the application directory cannot be mounted",
        )


def _outbound_hosts(ctx: Context, table: Table, *, v1: bool) -> tuple[str, ...]:
    """`allowed_outbound_hosts` plus converted `allowed_http_hosts`; every bad entry of both is
    reported (`ctx.report`), not only the first."""
    hosts = table.str_list("allowed_outbound_hosts")
    for index, entry in enumerate(hosts):
        problem = _outbound_host_problem(ctx, entry)
        if problem:
            ctx.report(Invalid((*table.at("allowed_outbound_hosts"), index), problem))
    legacy = _http_hosts(ctx, table, allow_databases=v1 and not table.has("allowed_outbound_hosts"))
    if legacy and not v1:
        ctx.warn(
            table.at("allowed_http_hosts"),
            "`allowed_http_hosts` is deprecated: replace it with "
            f"`allowed_outbound_hosts = [{', '.join(quote(h) for h in legacy)}]`",
        )
    return (*hosts, *legacy)


def _outbound_host_problem(ctx: Context, entry: str) -> str | None:
    """What is wrong with one `allowed_outbound_hosts` entry, or None.

    A template is checked for syntax, and, when every variable it uses has a default, rendered
    with the defaults and checked like a literal entry (an entry rendering to an empty string,
    `http://` or `https://` is skipped at runtime, so it is fine).
    """
    try:
        if not is_template(entry):
            parse_allowed_host(entry)
            return None
        names = template_references(entry)
    except (AllowedHostError, TemplateError) as err:
        return str(err)
    defaults = {name: ctx.variable_defaults.get(name) for name in names}
    if any(value is None for value in defaults.values()):
        return None  # a required (or undefined) variable: only known at runtime
    rendered = render_template(entry, {k: v for k, v in defaults.items() if v is not None})
    if rendered.strip() in SKIPPED_ENTRIES:
        return None
    try:
        parse_allowed_host(rendered)
    except AllowedHostError as err:
        used = ", ".join(f"`{name}`" for name in dict.fromkeys(names))
        return (
            f"{quote(entry)} renders to {quote(rendered)} with the default of {used}, "
            f"which is not a valid outbound host: {err}"
        )
    return None


def _http_hosts(ctx: Context, table: Table, *, allow_databases: bool) -> tuple[str, ...]:
    """The `allowed_http_hosts` entries converted to `allowed_outbound_hosts` form (every bad
    entry is reported)."""
    entries = table.str_list("allowed_http_hosts")
    good = []
    for index, entry in enumerate(entries):
        try:
            convert_allowed_http_hosts([entry], allow_databases=False)
        except AllowedHostError as err:
            ctx.report(Invalid((*table.at("allowed_http_hosts"), index), str(err)))
        else:
            good.append(entry)
    if not good and not allow_databases:
        return ()
    return tuple(convert_allowed_http_hosts(good, allow_databases=allow_databases))


def _labels(table: Table, key: str) -> tuple[str, ...]:
    """`key_value_stores` / `sqlite_databases`: labels in kebab-case or snake_case."""
    labels = table.str_list(key)
    for index, label in enumerate(labels):
        if kebab_error(label) and snake_error(label):
            raise Invalid(
                (*table.at(key), index),
                f"invalid label {quote(label)}: expected kebab-case or snake_case",
            )
    return labels


def _variables(table: Table, key: str, app_variables: Set[str]) -> tuple[tuple[str, str], ...]:
    """Component variables: lower snake-case names mapped to templates over app variables."""
    spec = table.table(key)
    out: list[tuple[str, str]] = []
    for name, value in spec.data.items():
        problem = lower_snake_error(name)
        if problem:
            raise Invalid(spec.at(name), f"invalid variable name {quote(name)}: {problem}")
        template = expect_str(spec.at(name), value)
        for ref in _references(spec.at(name), template):
            if ref not in app_variables:
                raise Invalid(
                    spec.at(name),
                    f"template references undefined variable `{ref}`: "
                    "declare it in the application's [variables]",
                )
        out.append((name, template))
    return tuple(out)


def _references(path: KeyPath, template: str) -> tuple[str, ...]:
    try:
        return template_references(template)
    except TemplateError as err:
        raise Invalid(path, str(err)) from None


def _build(table: Table) -> BuildConfig | None:
    spec = table.opt_table("build")
    if spec is None:
        return None
    spec.check_keys(_BUILD_KEYS)
    command = spec.required("command")
    if isinstance(command, str):
        commands: tuple[str, ...] = (command,)
    elif isinstance(command, list):
        commands = spec.str_list("command")
    else:
        raise type_error(spec.at("command"), command, "a string or an array of strings")
    return BuildConfig(
        commands=commands, workdir=spec.opt_str("workdir"), watch=spec.str_list("watch")
    )
