"""wasi:cli host functions: environment, exit, stdio capture to files and the console, terminals.

(Named test_wasi_cli.py: tests/integration/test_cli.py already owns the module name test_cli.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from wasmtime.component import FuncType, Variant

from spin_py.config import default_log_dir
from spin_py.host.channels import CallbackOutputStream
from spin_py.host.context import ComponentContext
from spin_py.host.streams import StreamClosed
from spin_py.host.table import GuestExit
from spin_py.manifest.model import Component
from spin_py.wasi import cli
from spin_py.wasi.component_logs import component_logs
from tests.support.host_calls import Host, hello_import_types
from tests.support.models import make_context

COMPONENT = Component(
    id="greeter",
    source="greeter.wasm",
    environment=(("A", "1"), ("B", "2")),
)


@pytest.fixture
def make_host(tmp_path: Path) -> Iterator[Callable[..., Host]]:
    hosts: list[Host] = []

    def make(ctx: ComponentContext | None = None, **settings: Any) -> Host:
        """A request of a new component context (or another request of `ctx`)."""
        if ctx is None:
            settings.setdefault("log_dir", default_log_dir(tmp_path / ".spin"))
            ctx = make_context(tmp_path, COMPONENT, **settings)
        host = Host(ctx)
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        component_logs(host.ctx).close()
        host.close()


def write(host: Host, fn: Any, *chunks: bytes) -> None:
    stream = host.obj(host.call(fn))
    assert isinstance(stream, CallbackOutputStream)
    for chunk in chunks:
        assert stream.check_write() >= len(chunk)
        stream.write(chunk)


def test_environment_merges_component_then_cli_pairs(make_host: Callable[..., Host]) -> None:
    host = make_host(env=(("B", "from-cli"), ("C", "3")))
    assert host.call(cli.get_environment) == [("A", "1"), ("B", "from-cli"), ("C", "3")]
    assert host.call(cli.get_arguments) == []
    assert host.call(cli.initial_cwd) is None


def test_exit_unwinds_with_the_status(make_host: Callable[..., Host]) -> None:
    host = make_host()
    with pytest.raises(GuestExit) as ok:
        host.call(cli.exit_, Variant("ok"))
    assert ok.value.code == 0
    with pytest.raises(GuestExit) as err:
        host.call(cli.exit_, Variant("err"))
    assert err.value.code == 1
    with pytest.raises(GuestExit) as code:
        host.call(cli.exit_with_code, 42)
    assert code.value.code == 42


def test_stdin_is_empty(make_host: Callable[..., Host]) -> None:
    host = make_host()
    stdin = host.obj(host.call(cli.get_stdin))
    with pytest.raises(StreamClosed):
        stdin.read(10)  # type: ignore[attr-defined]


def test_no_terminals(make_host: Callable[..., Host]) -> None:
    host = make_host()
    assert host.call(cli.no_terminal) is None


def test_stdout_and_stderr_go_to_files_and_prefixed_console_lines(
    make_host: Callable[..., Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = make_host()
    write(host, cli.get_stdout, b"hello\nwor", b"ld\npartial")
    write(host, cli.get_stderr, b"oops\n")
    logs = tmp_path / ".spin" / "logs"
    assert (logs / "greeter_stdout.txt").read_bytes() == b"hello\nworld\npartial"
    assert (logs / "greeter_stderr.txt").read_bytes() == b"oops\n"
    assert capsys.readouterr().err.splitlines() == [
        "[greeter] hello",
        "[greeter] world",
        "[greeter] oops",
    ]
    cli.flush_stdio(host.state)
    assert capsys.readouterr().err == "[greeter] partial\n"


def test_a_partial_line_is_echoed_when_the_stream_closes_or_drops(
    make_host: Callable[..., Host], capsys: pytest.CaptureFixture[str]
) -> None:
    host = make_host()
    handle = host.call(cli.get_stdout)
    stream = host.obj(handle)
    assert isinstance(stream, cli.StdioStream)
    stream.write(b"no newline")
    assert capsys.readouterr().err == ""
    host.state.table.drop(handle.rep)  # what the resource destructor does
    assert capsys.readouterr().err == "[greeter] no newline\n"
    stream = host.obj(host.call(cli.get_stderr))
    stream.write(b"left over")
    for obj in host.state.table.objects():
        obj.close()  # type: ignore[attr-defined]  # what the executor does at the end
    assert capsys.readouterr().err == "[greeter] left over\n"


def test_files_are_shared_by_requests_and_appended(
    make_host: Callable[..., Host], tmp_path: Path
) -> None:
    first = make_host()
    second = make_host(first.ctx)
    write(first, cli.get_stdout, b"one\n")
    write(second, cli.get_stdout, b"two\n")
    assert component_logs(first.ctx) is component_logs(second.ctx)
    path = tmp_path / ".spin" / "logs" / "greeter_stdout.txt"
    assert path.read_bytes() == b"one\ntwo\n"


@pytest.mark.parametrize(
    ("settings", "echoed"),
    [
        ({"quiet": True}, False),
        ({"follow": ("other",)}, False),
        ({"follow": ("other", "greeter")}, True),
        ({"follow": None}, True),
    ],
)
def test_quiet_and_follow_choose_what_is_echoed(
    make_host: Callable[..., Host],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    settings: dict[str, Any],
    echoed: bool,
) -> None:
    host = make_host(**settings)
    write(host, cli.get_stdout, b"line\n")
    assert capsys.readouterr().err == ("[greeter] line\n" if echoed else "")
    assert (tmp_path / ".spin" / "logs" / "greeter_stdout.txt").read_bytes() == b"line\n"


def test_no_log_dir_writes_no_files(
    make_host: Callable[..., Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    host = make_host(log_dir=None)
    write(host, cli.get_stdout, b"only on the console\n")
    assert capsys.readouterr().err == "[greeter] only on the console\n"
    assert not (tmp_path / ".spin").exists()


def test_concurrent_requests_never_splice_lines(
    make_host: Callable[..., Host], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = make_host()
    hosts = [base] + [make_host(base.ctx) for _ in range(3)]

    def run(n: int, host: Host) -> None:
        for i in range(200):
            write(host, cli.get_stdout, f"req{n}-".encode(), f"line{i}\n".encode())

    threads = [threading.Thread(target=run, args=(n, h)) for n, h in enumerate(hosts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = capsys.readouterr().err.splitlines()
    expected = {f"[greeter] req{n}-line{i}" for n in range(4) for i in range(200)}
    assert len(lines) == 800
    assert set(lines) == expected
    content = (tmp_path / ".spin" / "logs" / "greeter_stdout.txt").read_bytes()
    assert len(content) == sum(len(f"req{n}-line{i}\n") for n in range(4) for i in range(200))


@pytest.fixture(scope="module")
def cli_types(built_component: Callable[[str], Path]) -> dict[str, dict[str, FuncType]]:
    return hello_import_types(built_component("hello"))


def test_values_lower_as_the_wit_declares(
    make_host: Callable[..., Host], cli_types: dict[str, dict[str, FuncType]]
) -> None:
    host = make_host()
    env = cli_types["wasi:cli/environment@0.2.0"]
    host.lowered(env, "get-environment", cli.get_environment)
    host.lowered(env, "get-arguments", cli.get_arguments)
    host.lowered(env, "initial-cwd", cli.initial_cwd)
    host.lowered(cli_types["wasi:cli/stdin@0.2.0"], "get-stdin", cli.get_stdin)
    host.lowered(cli_types["wasi:cli/stdout@0.2.0"], "get-stdout", cli.get_stdout)
    host.lowered(cli_types["wasi:cli/stderr@0.2.0"], "get-stderr", cli.get_stderr)
    for name in ("stdin", "stdout", "stderr"):
        types = cli_types[f"wasi:cli/terminal-{name}@0.2.0"]
        host.lowered(types, f"get-terminal-{name}", cli.no_terminal)
