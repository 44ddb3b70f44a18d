"""The README's option tables list exactly the options the real CLI has (`--help`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.server_fixtures import run_spin_py

README = Path(__file__).resolve().parents[2] / "README.md"
HELP_OPTION = re.compile(r"^  (?:(-\w), )?(--[a-z][a-z0-9-]*)")
TABLE_OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-zA-Z])\b")


def help_options(command: str) -> set[str]:
    """Every option `spin-py <command> --help` shows, short and long, without -h/--help."""
    result = run_spin_py(command, "--help")
    assert result.returncode == 0, result.stderr
    found: set[str] = set()
    options = result.stdout.split("\nOptions:\n", 1)[1].split("\n\n", 1)[0]
    for line in options.splitlines():
        match = HELP_OPTION.match(line)
        if match:
            found.update(name for name in match.groups() if name)
    return found - {"-h", "--help"}


def table_options(heading: str) -> set[str]:
    """The options in the first column of the table that follows `heading` in the README."""
    text = README.read_text()
    start = text.index(heading)
    rows = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("#"):
            break
        if line.startswith("| `"):
            rows.append(line.split(" | ")[0])
        elif rows and not line.startswith("|"):
            break
    assert rows, f"no table after {heading!r}"
    return {name for row in rows for name in TABLE_OPTION.findall(row)}


@pytest.mark.parametrize(
    ("command", "heading"),
    [("up", "### `spin-py up` options"), ("watch", "### `spin-py watch`")],
)
def test_the_readme_table_matches_help(command: str, heading: str) -> None:
    documented = table_options(heading)
    actual = help_options(command)
    assert sorted(actual - documented) == [], "options missing from the README table"
    assert sorted(documented - actual) == [], "README rows for options the CLI does not have"


def test_the_up_table_is_complete_enough_to_mean_something() -> None:
    assert len(table_options("### `spin-py up` options")) >= 30
