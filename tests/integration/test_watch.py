"""`spin-py watch` as a user runs it: a real subprocess, real files edited, a client polling.

Most tests use a small app whose component is built by a shell-level build command from
component text (a variant of the tiny component answering a 5-byte version string), so a
rebuild takes well under a second. The example-app test edits the Python source of the demo's
hello component in a temporary copy of the repository's example app, and polls the server
without pause through the real componentize-py rebuild.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.server_fixtures import SpinPyProcess, start_spin_py

REPO = Path(__file__).resolve().parents[2]
TINY_WAT = REPO / "components" / "tiny" / "tiny.wat"
Start = Callable[..., SpinPyProcess]

MAKE = """\
import pathlib, sys
here = pathlib.Path(__file__).parent
version = (here / "version.txt").read_text().strip()
if version == "broken":
    sys.exit("make.py: version.txt says broken")
assert len(version) == 5, version
text = (here / "tiny.wat").read_text().replace('"hello")', f'"{version}")')
with open(here / "builds.log", "a") as log:
    log.write(f"{here.name} {version}\\n")
(here / "app.wat").write_text(text)
"""

APP = """\
spin_manifest_version = 2

[application]
name = "watched"

[[trigger.http]]
route = "/a/..."
component = "a"

[[trigger.http]]
route = "/b/..."
component = "b"

[component.a]
source = "a/app.wat"
[component.a.build]
command = "python3 make.py"
workdir = "a"
watch = ["version.txt", "*.py"]

[component.b]
source = "b/app.wat"
[component.b.build]
command = "python3 make.py"
workdir = "b"
watch = ["version.txt"]
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    app = tmp_path / "app"
    for name, version in (("a", "a0001"), ("b", "b0001")):
        (app / name).mkdir(parents=True)
        (app / name / "make.py").write_text(MAKE)
        (app / name / "version.txt").write_text(version + "\n")
        shutil.copyfile(TINY_WAT, app / name / "tiny.wat")
    (app / "spin.toml").write_text(APP)
    return app


@pytest.fixture
def watch() -> Iterator[Callable[..., SpinPyProcess]]:
    started: list[SpinPyProcess] = []

    def start(app: Path, *args: str, **kwargs: object) -> SpinPyProcess:
        server = start_spin_py(app, *args, subcommand="watch", **kwargs)  # type: ignore[arg-type]
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            server.stop()


def get(base_url: str, path: str, timeout: float = 30.0) -> tuple[int, bytes]:
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def body(server: SpinPyProcess, path: str) -> bytes:
    status, data = get(server.base_url, path)
    assert status == 200, (status, data)
    return data


def stdout_so_far(server: SpinPyProcess) -> str:
    return "".join(server._stdout)


def builds(app: Path) -> list[str]:
    lines: list[str] = []
    for name in ("a", "b"):
        log = app / name / "builds.log"
        if log.exists():
            lines += log.read_text().splitlines()
    return sorted(lines)


@dataclass
class Poller:
    """Requests `path` back to back in a thread; records every outcome."""

    base_url: str
    path: str
    outcomes: list[tuple[float, int, bytes]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status, data = get(self.base_url, self.path)
            except (OSError, http.client.HTTPException) as error:
                self.failures.append(f"{type(error).__name__}: {error}")
                continue
            self.outcomes.append((time.monotonic(), status, data))
            if status != 200:
                self.failures.append(f"status {status}: {data[:100]!r}")

    def stop(self) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(30)

    def bodies(self) -> list[bytes]:
        return [data for _, _, data in self.outcomes]


def test_only_the_changed_component_is_rebuilt_and_served_without_restart(
    watch: Start, app_dir: Path
) -> None:
    server = watch(app_dir)
    assert body(server, "/a/x") == b"a0001" and body(server, "/b/x") == b"b0001"
    assert builds(app_dir) == ["a a0001", "b b0001"]  # the start builds everything
    poller = Poller(server.base_url, "/a/x")
    poller.start()
    (app_dir / "a" / "version.txt").write_text("a0002\n")
    wait_for(lambda: body(server, "/a/x") == b"a0002", 60, "the new version of a")
    time.sleep(0.3)
    poller.stop()
    assert poller.failures == []
    bodies = poller.bodies()
    assert set(bodies) == {b"a0001", b"a0002"}
    switch = bodies.index(b"a0002")
    assert all(b == b"a0002" for b in bodies[switch:])  # one switch, never back
    assert builds(app_dir) == ["a a0001", "a a0002", "b b0001"]  # b was not rebuilt
    assert body(server, "/b/x") == b"b0001"
    assert server.process.poll() is None
    out = stdout_so_far(server)
    assert "Changed: a/version.txt" in out
    assert "Reloaded in " in out and "serving the new version" in out


def test_a_failed_build_keeps_the_previous_version_serving(watch: Start, app_dir: Path) -> None:
    server = watch(app_dir)
    (app_dir / "a" / "version.txt").write_text("broken\n")
    wait_for(lambda: "waiting for changes" in stdout_so_far(server), 60, "the build failure")
    assert 'build command for component "a" failed with exit status 1' in server.stderr_so_far()
    assert "still serving the previous version" in stdout_so_far(server)
    assert body(server, "/a/") == b"a0001"
    (app_dir / "a" / "version.txt").write_text("a0003\n")
    wait_for(lambda: body(server, "/a/") == b"a0003", 60, "the fixed build")


def test_a_broken_manifest_keeps_serving_then_a_fixed_one_reloads_everything(
    watch: Start, app_dir: Path
) -> None:
    server = watch(app_dir)
    manifest = app_dir / "spin.toml"
    manifest.write_text(APP.replace('name = "watched"', 'name = "watched"\nbogus = 1'))
    wait_for(lambda: "Error: " in server.stderr_so_far(), 60, "the manifest error")
    assert "application.bogus" in server.stderr_so_far()
    assert body(server, "/a/") == b"a0001"
    fixed = APP + '\n[[trigger.http]]\nroute = "/ping"\nstatic_response = { body = "pong" }\n'
    manifest.write_text(fixed)
    wait_for(lambda: get(server.base_url, "/ping")[1] == b"pong", 60, "the new route")
    assert stdout_so_far(server).count("Available Routes:") == 2  # listed again after reload
    assert f"  http-trigger1: {server.base_url}/ping" in stdout_so_far(server)


def test_a_request_in_flight_finishes_on_the_old_version(
    watch: Start, app_dir: Path, built_component: Callable[[str], Path]
) -> None:
    """A request whose body is still arriving (the echo component streams it back as it comes)
    when the new version is swapped in: it completes, on the generation it started on."""
    echo = built_component("echo")
    manifest = app_dir / "spin.toml"
    manifest.write_text(
        APP + f'\n[[trigger.http]]\nroute = "/echo/..."\ncomponent = "echo"\n'
        f'\n[component.echo]\nsource = "{echo}"\n'
    )
    server = watch(app_dir, timeout=120)
    host, port = server.base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        head = b"POST /echo/stream HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
        sock.sendall(head + b"12345")
        data = sock.recv(65536)
        while b"12345" not in data:
            data += sock.recv(65536)  # the first half came back: the guest is running
        (app_dir / "a" / "version.txt").write_text("a0004\n")
        wait_for(lambda: body(server, "/a/") == b"a0004", 60, "the new version")
        sock.sendall(b"67890")
        while not data.endswith(b"\r\n0\r\n\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 ")
    assert data.endswith(b"\r\n0\r\n\r\n")  # the response was completed, not cut
    echoed = data.partition(b"\r\n\r\n")[2]
    assert b"12345" in echoed and b"67890" in echoed


def test_skip_build_reloads_when_the_source_changes(watch: Start, app_dir: Path) -> None:
    for name in ("a", "b"):
        text = TINY_WAT.read_text().replace('"hello")', f'"{name}0000")')
        (app_dir / name / "app.wat").write_text(text)
    server = watch(app_dir, "--skip-build")
    assert body(server, "/a/") == b"a0000"
    assert builds(app_dir) == []  # nothing built
    text = (app_dir / "a" / "app.wat").read_text().replace('"a0000")', '"a0009")')
    tmp = app_dir / "a" / ".app.wat.new"
    tmp.write_text(text)
    os.replace(tmp, app_dir / "a" / "app.wat")  # as build tools write their output
    wait_for(lambda: body(server, "/a/") == b"a0009", 60, "the reloaded source")
    assert builds(app_dir) == []


def test_up_options_pass_through_and_ports_stay(watch: Start, app_dir: Path) -> None:
    server = watch(
        app_dir, "--component-id", "b", "-e", "X=1", "--debounce", "50", "--workers", "2"
    )
    assert get(server.base_url, "/a/")[0] == 404  # only b is served
    assert body(server, "/b/") == b"b0001"
    port = server.port
    (app_dir / "b" / "version.txt").write_text("b0002\n")
    wait_for(lambda: body(server, "/b/") == b"b0002", 60, "b's new version")
    assert server.port == port
    finished = server.stop()
    assert finished.returncode == 0
    assert "Traceback" not in finished.stderr
    assert "Note: spin-py watch serves from one process; --workers is ignored" in finished.stderr


def test_editing_the_demo_apps_python_source(
    watch: Start, tmp_path: Path, built_component: Callable[[str], Path]
) -> None:
    """The done-when scenario: a temporary copy of the example app `manifests/hello`, its
    component's Python source edited, the new greeting served by the same process on the same
    port, with a client polling without pause through the componentize-py rebuild and the
    reload, and not one failed request."""
    built_component("hello")
    built_component("hello-proxy")  # warm caches: the start only copies the cached builds
    copy = tmp_path / "repo"
    shutil.copytree(REPO / "manifests" / "hello", copy / "manifests" / "hello")
    ignore = shutil.ignore_patterns("build", "__pycache__")
    shutil.copytree(REPO / "components", copy / "components", ignore=ignore)
    server = watch(copy / "manifests" / "hello", timeout=300)
    assert body(server, "/hello") == b"Hello from spin-py!"
    pid = server.process.pid
    poller = Poller(server.base_url, "/hello")
    poller.start()
    source = copy / "components" / "hello" / "app.py"
    source.write_text(source.read_text().replace("Hello from spin-py!", "Hello from watch!!!"))
    try:
        wait_for(
            lambda: any(b == b"Hello from watch!!!" for b in poller.bodies()[-5:]),
            600,
            "the rebuilt component",
        )
        time.sleep(0.5)
    finally:
        poller.stop()
    assert poller.failures == []
    bodies = poller.bodies()
    switch = bodies.index(b"Hello from watch!!!")
    assert switch > 10, "the poller should have been answered all through the rebuild"
    assert set(bodies[:switch]) == {b"Hello from spin-py!"}
    assert set(bodies[switch:]) == {b"Hello from watch!!!"}
    assert server.process.pid == pid and server.process.poll() is None
    out = stdout_so_far(server)
    assert 'Building component "hello" with `python3 ../../components/build.py hello`' in out
    assert "Reloaded in " in out
