"""`wasi:cli` 0.2: environment, exit, stdio and the terminal interfaces.

What a component sees, as in Spin:
- environment: the component's `environment` table plus `-e/--env` pairs (later wins), no
  arguments, no initial working directory;
- exit: unwinds the guest call with `GuestExit` (the executor decides what the response is);
- stdin is empty; stdout/stderr go to the component's log sinks (`spin_py.wasi.component_logs`);
- no terminals (`get-terminal-*` answer `none`).

A last line without a newline reaches the console when the guest drops its stream or the
request ends (the executor closes leftover streams; `flush_stdio(state)` does it explicitly).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wasmtime.component import LinkerInstance, ResourceHost, Variant

from spin_py.host.channels import CallbackOutputStream, EmptyInputStream
from spin_py.host.context import ComponentContext
from spin_py.host.linking import add_funcs, add_resource, wasi
from spin_py.host.state import RequestState, current
from spin_py.host.table import GuestExit, Store, resource_kind
from spin_py.wasi.component_logs import LineBuffer, LogSink, component_logs

INPUT_STREAM = resource_kind("wasi:io/streams", "input-stream")
OUTPUT_STREAM = resource_kind("wasi:io/streams", "output-stream")
TERMINAL_INPUT = resource_kind("wasi:cli/terminal-input", "terminal-input")
TERMINAL_OUTPUT = resource_kind("wasi:cli/terminal-output", "terminal-output")

WRITE_PERMIT = 1024 * 1024
"""How many bytes a stdout/stderr `check-write` allows at once."""


@dataclass(frozen=True)
class Environment:
    """A component's environment, merged once: manifest `environment`, then `-e` pairs."""

    pairs: tuple[tuple[str, str], ...]


def _make_environment(ctx: ComponentContext) -> Environment:
    merged = dict(ctx.component.environment)
    merged.update(ctx.settings.env)
    return Environment(tuple(merged.items()))


def environment(ctx: ComponentContext) -> Environment:
    """The environment `ctx`'s component sees (computed once per component)."""
    return ctx.ext(Environment, _make_environment)


@dataclass
class StdioState:
    """One request's line buffers for stdout and stderr (shared by all its stream handles)."""

    buffers: dict[str, LineBuffer] = field(default_factory=dict)

    def buffer(self, name: str, sink: LogSink) -> LineBuffer:
        buf = self.buffers.get(name)
        if buf is None:
            buf = LineBuffer(sink)
            self.buffers[name] = buf
        return buf


def flush_stdio(state: RequestState) -> None:
    """End of request: echo any partial last line the guest wrote to stdout/stderr."""
    if state.has_ext(StdioState):
        for buf in state.ext(StdioState).buffers.values():
            buf.flush()


class StdioStream(CallbackOutputStream):
    """stdout/stderr: every write goes to the request's line buffer for that channel.

    A trailing partial line is echoed when the guest drops the stream or when the request
    ends (the executor closes leftover table objects), so no output is lost from the console.
    """

    def __init__(self, buffer: LineBuffer) -> None:
        super().__init__(buffer.write, WRITE_PERMIT)
        self._buffer = buffer

    def close(self) -> None:
        self._buffer.flush()
        super().close()

    def on_drop(self) -> None:
        self._buffer.flush()


def _output(name: str) -> ResourceHost:
    state = current()
    logs = component_logs(state.component)
    sink = logs.stdout if name == "stdout" else logs.stderr
    buf = state.ext(StdioState).buffer(name, sink)
    return state.table.push(StdioStream(buf), OUTPUT_STREAM)


# --- host functions -------------------------------------------------------------------------


def get_environment(store: Store) -> list[tuple[str, str]]:
    return list(environment(current().component).pairs)


def get_arguments(store: Store) -> list[str]:
    return []


def initial_cwd(store: Store) -> str | None:
    return None


def exit_(store: Store, status: Variant) -> None:
    """`exit(status: result)`: `ok` is exit code 0, `err` is 1."""
    raise GuestExit(0 if status.tag == "ok" else 1)


def exit_with_code(store: Store, code: int) -> None:
    raise GuestExit(code)


def get_stdin(store: Store) -> ResourceHost:
    return current().table.push(EmptyInputStream(), INPUT_STREAM)


def get_stdout(store: Store) -> ResourceHost:
    return _output("stdout")


def get_stderr(store: Store) -> ResourceHost:
    return _output("stderr")


def no_terminal(store: Store) -> None:
    return None


def add_to_linker(root: LinkerInstance) -> None:
    """Define every `wasi:cli` interface a wasi:http component may import."""
    with root.add_instance(wasi("wasi:cli/environment")) as i:
        add_funcs(
            i,
            {
                "get-environment": get_environment,
                "get-arguments": get_arguments,
                "initial-cwd": initial_cwd,
            },
        )
    with root.add_instance(wasi("wasi:cli/exit")) as i:
        add_funcs(i, {"exit": exit_, "exit-with-code": exit_with_code})
    with root.add_instance(wasi("wasi:cli/stdin")) as i:
        i.add_func("get-stdin", get_stdin)
    with root.add_instance(wasi("wasi:cli/stdout")) as i:
        i.add_func("get-stdout", get_stdout)
    with root.add_instance(wasi("wasi:cli/stderr")) as i:
        i.add_func("get-stderr", get_stderr)
    with root.add_instance(wasi("wasi:cli/terminal-input")) as i:
        add_resource(i, TERMINAL_INPUT)
    with root.add_instance(wasi("wasi:cli/terminal-output")) as i:
        add_resource(i, TERMINAL_OUTPUT)
    for name in ("stdin", "stdout", "stderr"):
        with root.add_instance(wasi(f"wasi:cli/terminal-{name}")) as i:
            i.add_func(f"get-terminal-{name}", no_terminal)
