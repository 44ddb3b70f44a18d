"""Helpers for the trace UI's integration tests: start `spin-py up --trace-ui`, find the UI's URL
in its startup output, send requests with a traceparent, and read the JSON API."""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.server_fixtures import SpinPyProcess

CALLER_SPAN = "00f067aa0ba902b7"


def trace_id(n: int) -> str:
    return f"4bf92f3577b34da6a3ce929d{n:08x}"


def start_with_ui(
    spin_py_server: Callable[..., SpinPyProcess], manifest: Path, *args: str, **kw: Any
) -> tuple[SpinPyProcess, str]:
    """Start `spin-py up --trace-ui` and return the server and the UI's base URL (no slash)."""
    server = spin_py_server(manifest, "--trace-ui", *args, timeout=120, **kw)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in "".join(server._stdout).splitlines():
            if line.startswith("Trace UI: "):
                return server, line.removeprefix("Trace UI: ").strip().rstrip("/")
        time.sleep(0.05)
    raise AssertionError("no 'Trace UI:' line:\n" + "".join(server._stdout))


_CONNECTIONS: dict[tuple[str, int], http.client.HTTPConnection] = {}
"""One kept-alive connection per server and thread."""


def send(base_url: str, path: str, trace: str | None = None) -> int:
    """GET `path` (with a sampled traceparent naming `trace`) on a kept-alive connection; the
    status code. The connection stays open: a client that hangs up the moment it has the
    body can cut a guest that has not finished its response yet (it then traps), which
    would make the traces these tests look at depend on timing."""
    headers = {"traceparent": f"00-{trace}-{CALLER_SPAN}-01"} if trace else {}
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    key = (base_url, threading.get_ident())
    for attempt in (1, 2):
        conn = _CONNECTIONS.get(key)
        if conn is None:
            conn = _CONNECTIONS[key] = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            return int(response.status)
        except (ConnectionError, http.client.HTTPException):
            conn.close()
            del _CONNECTIONS[key]
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
    """GET a JSON API route: status, decoded body (None for an empty one), headers."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            status, got = int(response.status), dict(response.headers)
    except urllib.error.HTTPError as err:
        body, status, got = err.read(), int(err.code), dict(err.headers)
    return status, json.loads(body) if body else None, got


def wait_for(check: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    """Call `check` until it returns something truthy (its result) or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except AssertionError as err:
            last = err
        else:
            if last:
                return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or check}: last {last!r}")


def trace_with(ui: str, trace: str, spans: int, *names: str) -> dict[str, Any] | None:
    """The trace's JSON once it holds at least `spans` spans, `names` among them (else None)."""
    status, body, _ = get(f"{ui}/api/traces/{trace}")
    if status != 200 or len(body["spans"]) < spans:
        return None
    if not set(names) <= {s["name"] for s in body["spans"]}:
        return None
    return dict(body)


def by_name(trace: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spans = {s["name"]: s for s in trace["spans"]}
    assert len(spans) == len(trace["spans"]), [s["name"] for s in trace["spans"]]
    return spans
