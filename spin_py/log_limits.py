"""Repeated log lines are rate-limited, so a client or guest cannot flood the operator's log.

One request that fails writes one line; a client sending thousands of such requests must not
write thousands of lines (docs/security.md, "Logs"). `RepeatFilter`, installed on the console
handler by the CLI, lets `BURST` lines of one kind through per `WINDOW` seconds and drops the
rest, counting them: the first line of that kind in a later window says how many were left out.
"Of one kind" means the same logger, level, message template and first argument (for most
lines, the component id), so one noisy component does not hide another's lines. Debug lines are
never dropped (whoever turns them on wants them all).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["BURST", "WINDOW", "RepeatFilter"]

BURST = 5
"""Lines of one kind logged per window."""
WINDOW = 10.0
"""Seconds of one rate-limiting window."""
MAX_KINDS = 1000
"""Kinds of line remembered at once (the least recently seen is forgotten beyond)."""

Kind = tuple[str, int, str, str]


@dataclass
class _Window:
    start: float
    logged: int = 0
    dropped: int = 0


class RepeatFilter(logging.Filter):
    """The rate limiter (see the module docstring). Thread-safe."""

    def __init__(self, burst: int = BURST, window: float = WINDOW) -> None:
        super().__init__()
        self._burst = burst
        self._window = window
        self._kinds: OrderedDict[Kind, _Window] = OrderedDict()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG:
            return True
        kind = _kind(record)
        now = time.monotonic()
        with self._lock:
            current = self._kinds.get(kind)
            if current is None or now - current.start >= self._window:
                dropped = 0 if current is None else current.dropped
                current = self._kinds[kind] = _Window(now)
                if dropped:
                    _note_dropped(record, dropped, self._burst, self._window)
            self._kinds.move_to_end(kind)
            while len(self._kinds) > MAX_KINDS:
                self._kinds.popitem(last=False)
            if current.logged < self._burst:
                current.logged += 1
                return True
            current.dropped += 1
            return False


def _kind(record: logging.LogRecord) -> Kind:
    args = record.args
    first = args[0] if isinstance(args, tuple) and args else None
    return record.name, record.levelno, str(record.msg), first if isinstance(first, str) else ""


def _note_dropped(record: logging.LogRecord, dropped: int, burst: int, window: float) -> None:
    record.msg = (
        f"{record.getMessage()} [{dropped} more line(s) like this were not logged "
        f"(at most {burst} per {window:g}s)]"
    )
    record.args = None
