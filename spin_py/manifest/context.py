"""What parsing one manifest needs besides the TOML data: the file, positions, and warnings."""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path

from spin_py.manifest.diagnostics import Invalid, KeyPath, format_path, located_message
from spin_py.manifest.locate import Locator, Position

logger = logging.getLogger(__name__)


class Context:
    """The manifest being parsed: names its file and locates key paths in its text."""

    def __init__(self, file: Path, text: str) -> None:
        self.file = file
        self.text = text
        self.variable_defaults: dict[str, str | None] = {}
        """Application variables and their defaults (None: required), once `[variables]` is
        parsed."""
        self.problems: list[Invalid] = []
        """Problems recorded with `report`, raised together by the loader at the end."""

    def report(self, problem: Invalid) -> None:
        """Record a problem and go on parsing: the loader reports every recorded problem (and
        the one that stopped parsing, if any) in one error."""
        self.problems.append(problem)

    @cached_property
    def locator(self) -> Locator:
        """Built on first use: only errors and warnings need positions."""
        return Locator(self.text)

    def locate(self, path: KeyPath) -> Position:
        return self.locator.find(path)

    def warn(self, path: KeyPath, message: str) -> None:
        """Log a warning about `path` in the same format as errors."""
        line, column = self.locate(path)
        logger.warning("%s", located_message(self.file, line, column, format_path(path), message))
