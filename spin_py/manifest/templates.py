"""Spin's `{{ name }}` templates, as used by component variables and allowed_outbound_hosts.

A template is literal text with `{{ variable_name }}` expressions. Their syntax and the names
they reference are checked here; resolving them with the variable providers is the platform's
job. `render_template` only fills in given values (the manifest uses it with the variables'
defaults, to check `allowed_outbound_hosts` at load).
"""

from __future__ import annotations

from collections.abc import Mapping

from spin_py.manifest.diagnostics import quote
from spin_py.manifest.ids import lower_snake_error


class TemplateError(ValueError):
    """A template is malformed (unterminated `{{` or a bad variable name)."""


def template_references(template: str) -> tuple[str, ...]:
    """The variable names a template references, in order; raises `TemplateError` if malformed."""
    names: list[str] = []
    rest = template
    while (start := rest.find("{{")) >= 0:
        end = rest.find("}}", start + 2)
        if end < 0:
            raise TemplateError(
                f"unterminated template expression in {quote(template)}: missing '}}}}'"
            )
        name = rest[start + 2 : end].strip()
        problem = lower_snake_error(name)
        if problem:
            raise TemplateError(f"invalid variable name {quote(name)} in template: {problem}")
        names.append(name)
        rest = rest[end + 2 :]
    return tuple(names)


def is_template(text: str) -> bool:
    """True if `text` contains a `{{ ... }}` expression (and so is resolved at runtime)."""
    return "{{" in text


def render_template(template: str, values: Mapping[str, str]) -> str:
    """`template` with each `{{ name }}` replaced by `values[name]`.

    Raises `TemplateError` if the template is malformed and `KeyError` for a name `values`
    lacks.
    """
    out: list[str] = []
    rest = template
    for name in template_references(template):
        start = rest.find("{{")
        end = rest.find("}}", start + 2)
        out.append(rest[:start])
        out.append(values[name])
        rest = rest[end + 2 :]
    out.append(rest)
    return "".join(out)
