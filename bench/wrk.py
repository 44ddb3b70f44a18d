"""Running `wrk` and reading its report: requests/s, p50/p99 latency, errors.

wrk counts a response with status > 399 as "Non-2xx or 3xx"; socket errors (connect, read,
write, timeout) are counted separately. Both must be zero for a run to count as clean.
"""

from __future__ import annotations

import math
import re
import subprocess
from dataclasses import asdict, dataclass
from typing import Any

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_LATENCY = re.compile(r"^\s*(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_RPS = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m)", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass(frozen=True)
class WrkSettings:
    """Load shape: threads, connections, duration in seconds, per-request timeout."""

    threads: int = 2
    connections: int = 16
    duration: float = 10.0
    timeout: float = 30.0

    def command(self, url: str, duration: float | None = None) -> list[str]:
        """The wrk command line for `url` (optionally another duration, e.g. a warm-up).

        wrk takes whole seconds: durations are rounded up, to at least 1 s.
        """
        # wrk takes whole seconds only ("-d0.5s" is an error).
        seconds = max(1, math.ceil(self.duration if duration is None else duration))
        return [
            "wrk",
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{seconds}s",
            f"--timeout={self.timeout:g}s",
            "--latency",
            url,
        ]


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run reported (latencies in milliseconds)."""

    command: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float | None
    p75_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    non_2xx: int
    socket_errors: dict[str, int]
    raw: str

    @property
    def errors(self) -> int:
        """Non-2xx responses plus socket errors of every kind."""
        return self.non_2xx + sum(self.socket_errors.values())

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-ready data, with the error total."""
        data = asdict(self)
        data["errors"] = self.errors
        return data


def _millis(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def parse(output: str, command: str = "") -> WrkResult:
    """Read a `wrk --latency` report. Raises ValueError if it has no Requests/sec line."""
    rps = _RPS.search(output)
    if rps is None:
        raise ValueError(f"not a wrk report: {output[-500:]!r}")
    latencies = {m.group(1): _millis(m.group(2), m.group(3)) for m in _LATENCY.finditer(output)}
    total = _TOTAL.search(output)
    non_2xx = _NON_2XX.search(output)
    socket = _SOCKET.search(output)
    names = ("connect", "read", "write", "timeout")
    return WrkResult(
        command=command,
        requests=int(total.group(1)) if total else 0,
        seconds=_millis(total.group(2), total.group(3)) / 1000 if total else 0.0,
        rps=float(rps.group(1)),
        p50_ms=latencies.get("50"),
        p75_ms=latencies.get("75"),
        p90_ms=latencies.get("90"),
        p99_ms=latencies.get("99"),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=dict(zip(names, map(int, socket.groups()), strict=True))
        if socket
        else dict.fromkeys(names, 0),
        raw=output,
    )


def run(settings: WrkSettings, url: str, duration: float | None = None) -> WrkResult:
    """Run wrk against `url` and parse its report."""
    command = settings.command(url, duration)
    seconds = settings.duration if duration is None else duration
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=seconds + settings.timeout + 30,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    return parse(completed.stdout, " ".join(command))
