"""Span and trace ids from the operating system's randomness (``wasi:random`` in a component).

componentize-py snapshots the interpreter at build time, so a pseudo-random generator seeded then
could hand every instance the same sequence. ``os.urandom`` asks the host each time.
"""

from __future__ import annotations

import os

from opentelemetry.sdk.trace.id_generator import IdGenerator


class WasiIdGenerator(IdGenerator):
    """Random non-zero ids read from ``os.urandom``."""

    def generate_span_id(self) -> int:
        """A random 64-bit span id, never zero."""
        return _nonzero(8)

    def generate_trace_id(self) -> int:
        """A random 128-bit trace id, never zero."""
        return _nonzero(16)


def _nonzero(size: int) -> int:
    """A random non-zero integer of ``size`` bytes."""
    while True:
        value = int.from_bytes(os.urandom(size), "big")
        if value:
            return value
