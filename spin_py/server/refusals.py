"""Counting refusals without flooding the log: one warning line at most every `LOG_INTERVAL` s.

A worker that refuses work (a request past `--max-concurrent-requests`, a connection past
`--max-connections`) under load would otherwise log a line per refusal. `RefusalLog.count()`
counts every refusal and logs the count since its last line, and the total, at most once per
interval (the first refusal is logged at once). Event loop only.
"""

from __future__ import annotations

import logging
import time

__all__ = ["LOG_INTERVAL", "RefusalLog"]

LOG_INTERVAL = 10.0
"""Seconds between two log lines of one `RefusalLog` (refusals in between are counted)."""


class RefusalLog:
    """Counts refusals; warns with `template` (fields `{count}`: refusals since the last line,
    `{total}`: since start) at most once per `interval` seconds."""

    def __init__(self, logger: logging.Logger, template: str, interval: float = LOG_INTERVAL):
        self._log = logger
        self._template = template
        self._interval = interval
        self.total = 0
        """Refusals since start."""
        self._unlogged = 0
        self._logged_at: float | None = None

    def count(self) -> None:
        """One more refusal (logged now, or counted into the next line)."""
        self.total += 1
        self._unlogged += 1
        now = time.monotonic()
        if self._logged_at is not None and now - self._logged_at < self._interval:
            return
        self._log.warning(self._template.format(count=self._unlogged, total=self.total))
        self._unlogged = 0
        self._logged_at = now
