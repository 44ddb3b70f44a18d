"""`[variables]`: application variables, each with a default XOR `required = true`."""

from __future__ import annotations

from spin_py.manifest.diagnostics import Invalid, quote
from spin_py.manifest.fields import Table
from spin_py.manifest.ids import lower_snake_error
from spin_py.manifest.model import Variable

VARIABLE_KEYS = ("default", "required", "secret", "description")


def parse_variables(root: Table) -> tuple[Variable, ...]:
    """Parse the top-level `[variables]` table (absent means no variables)."""
    table = root.table("variables")
    return tuple(_variable(table, name) for name in table.names())


def _variable(table: Table, name: str) -> Variable:
    problem = lower_snake_error(name)
    if problem:
        raise Invalid(table.at(name), f"invalid variable name {quote(name)}: {problem}")
    spec = Table.of(table.at(name), table.data[name], 'a table like `{ default = "..." }`')
    spec.check_keys(VARIABLE_KEYS)
    default = spec.opt_str("default")
    required = spec.opt_bool("required")
    if required and default is not None:
        reason = "a variable must have either a default or `required = true`, not both"
        raise Invalid(table.at(name), f"invalid variable definition for `{name}`: {reason}")
    if not required and default is None:
        reason = "a variable must have either a default or `required = true`"
        raise Invalid(table.at(name), f"invalid variable definition for `{name}`: {reason}")
    return Variable(
        name=name,
        default=default,
        required=required,
        secret=spec.opt_bool("secret"),
        description=spec.opt_str("description"),
    )
