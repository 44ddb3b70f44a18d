"""Application and component variables, resolved once at startup.

Application variables (`[variables]`) get their value from the first provider that has one (see
`variable_providers` for the order), else from their manifest `default`; a `required` variable no
provider answers has no value, which `check_required` turns into a startup error. Component
variables (`[component.<id>.variables]`) are `{{ name }}` templates over application variables,
rendered when a guest asks for them.

Guest-facing failures are `VariableError`s carrying the `fermyon:spin/variables` error case:
`invalid-name` (not a lower snake-case name), `undefined` (the component has no such variable),
`provider` (it refers to a required variable with no value). Messages never contain values, and
nothing here logs: secret values must not reach logs or spans.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from spin_py.errors import ConfigError
from spin_py.manifest.ids import lower_snake_error
from spin_py.manifest.model import App, Variable
from spin_py.platform.runtime_config import VariablesProviderConfig
from spin_py.platform.variable_providers import VariableProvider, build_providers


class VariableError(Exception):
    """A variable lookup failed; `case` and `payload` are the WIT error case and its message."""

    case: ClassVar[str] = "other"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.payload = message


class InvalidVariableName(VariableError):
    """The name asked for is not a valid variable name."""

    case = "invalid-name"


class UndefinedVariable(VariableError):
    """The component declares no variable of that name."""

    case = "undefined"


class VariableNoValue(VariableError):
    """The variable's template refers to a required application variable with no value."""

    case = "provider"


@dataclass(frozen=True)
class VarRef:
    """A `{{ name }}` expression in a template."""

    name: str


TemplatePart = str | VarRef


def parse_template(template: str) -> tuple[TemplatePart, ...]:
    """Split a template into literal text and `{{ name }}` references (whitespace inside the
    braces is ignored). Raises `ValueError` for an unterminated `{{` or a bad name."""
    parts: list[TemplatePart] = []
    rest = template
    while (start := rest.find("{{")) >= 0:
        end = rest.find("}}", start + 2)
        if end < 0:
            raise ValueError(f"unterminated '{{{{' in template {template!r}")
        name = rest[start + 2 : end].strip()
        problem = lower_snake_error(name)
        if problem:
            raise ValueError(f"invalid variable name {name!r} in template {template!r}: {problem}")
        if start:
            parts.append(rest[:start])
        parts.append(VarRef(name))
        rest = rest[end + 2 :]
    if rest:
        parts.append(rest)
    return tuple(parts)


class VariableResolver:
    """Every variable of one application, resolved over the providers given at construction.

    Thread-safe (immutable after construction); build it once at startup.
    """

    def __init__(self, app: App, providers: Sequence[VariableProvider]) -> None:
        self._app_vars: dict[str, Variable] = {v.name: v for v in app.variables}
        self._values: dict[str, str | None] = {
            v.name: _first_value(v, providers) for v in app.variables
        }
        self._components: dict[str, dict[str, tuple[TemplatePart, ...]]] = {
            cid: {name: self._parsed(cid, name, text) for name, text in c.variables}
            for cid, c in app.components.items()
        }

    @classmethod
    def from_settings(
        cls,
        app: App,
        *,
        cli_values: Sequence[tuple[str, str]] = (),
        configured: Sequence[VariablesProviderConfig] = (),
        env: Mapping[str, str],
        cwd: Path,
    ) -> VariableResolver:
        """Build the providers (`--variable` values, runtime-config providers, environment with
        `.env` in `cwd`) and resolve `app`'s variables over them."""
        return cls(app, build_providers(cli_values, configured, env, cwd))

    def _parsed(self, component_id: str, name: str, template: str) -> tuple[TemplatePart, ...]:
        try:
            parts = parse_template(template)
        except ValueError as exc:
            raise ConfigError(f"component {component_id!r} variable {name!r}: {exc}") from exc
        for part in parts:
            if isinstance(part, VarRef) and part.name not in self._app_vars:
                raise ConfigError(
                    f"component {component_id!r} variable {name!r} refers to undefined "
                    f"application variable {part.name!r}"
                )
        return parts

    def check_required(self) -> None:
        """Raise `ConfigError` naming the first required variable no provider gave a value."""
        for name, value in self._values.items():
            if value is None:
                raise ConfigError(
                    f'no provider resolved required variable "{name}": set it with '
                    f"--variable {name}=VALUE or SPIN_VARIABLE_{name.upper()}"
                )

    def resolve(self, component_id: str, name: str) -> str:
        """The value of component `component_id`'s variable `name` (`VariableError` if none)."""
        problem = lower_snake_error(name)
        if problem:
            raise InvalidVariableName(f"invalid variable name {name!r}: {problem}")
        template = self._components.get(component_id, {}).get(name)
        if template is None:
            raise UndefinedVariable(f'no variable for "{component_id}"."{name}"')
        return self._render(template)

    def get_all(self, component_id: str) -> list[tuple[str, str]]:
        """Every variable of the component with its value, in manifest order."""
        templates = self._components.get(component_id, {})
        return [(name, self._render(parts)) for name, parts in templates.items()]

    def resolve_template(self, template: str) -> str:
        """Render an application-level template (e.g. an `allowed_outbound_hosts` entry)."""
        try:
            parts = parse_template(template)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        for part in parts:
            if isinstance(part, VarRef) and part.name not in self._app_vars:
                raise ConfigError(f"template {template!r} refers to undefined variable")
        return self._render(parts)

    def _render(self, parts: tuple[TemplatePart, ...]) -> str:
        return "".join(part if isinstance(part, str) else self._value(part.name) for part in parts)

    def _value(self, name: str) -> str:
        value = self._values.get(name)
        if value is None:
            raise VariableNoValue(f'no provider resolved required variable "{name}"')
        return value

    def is_secret(self, name: str) -> bool:
        """Whether application variable `name` is marked `secret = true`."""
        variable = self._app_vars.get(name)
        return variable is not None and variable.secret

    def is_component_secret(self, component_id: str, name: str) -> bool:
        """Whether a component variable's template refers to a secret application variable."""
        parts = self._components.get(component_id, {}).get(name, ())
        return any(isinstance(p, VarRef) and self.is_secret(p.name) for p in parts)

    def component_variables(self, component_id: str) -> tuple[str, ...]:
        """The names of the component's variables, in manifest order."""
        return tuple(self._components.get(component_id, {}))


def _first_value(variable: Variable, providers: Sequence[VariableProvider]) -> str | None:
    for provider in providers:
        value = provider.get(variable.name)
        if value is not None:
            return value
    return variable.default
