"""`spin-py build`: run each component's `[component.<id>.build]` commands, in manifest order.

Each command runs through the shell in the component's `workdir` (relative to the manifest's
directory; the manifest's directory when absent). Its stdout and stderr are merged and streamed
line by line, each line prefixed with `[<component-id>] `. The first command that fails stops the
build with a `BuildError` naming the component, the command and the exit status. Components
without a build section are skipped with a note.

Build commands run with the user's environment, as Spin runs them: the `PATH`, the `python`, the
`componentize-py` the user has. spin-py's own virtual environment (its `build` extra holds
componentize-py and spin-sdk) is only a fallback: when a command's program is not found on the
user's `PATH` but is in the directory of the Python running spin-py, that directory is appended
to `PATH` for that command and a note says so. Commands also see `SPIN_PY_PYTHON`, the Python
running spin-py, for build scripts that want spin-py's build tools on purpose (the example apps'
`components/build.py` does). A command the shell cannot find (exit status 127) fails with a hint.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from spin_py import manifest
from spin_py.config import BuildSettings
from spin_py.errors import BuildError
from spin_py.manifest.model import App, Component


def run_build(
    settings: BuildSettings,
    *,
    environ: Mapping[str, str],
    out: TextIO = sys.stdout,
    app: App | None = None,
) -> None:
    """Build the selected components (all if none selected) of the manifest in `settings`
    (`app`: that manifest, if the caller loaded it already)."""
    app = app if app is not None else manifest.load(settings.manifest_path)
    env = build_environment(environ)
    selected = select_components(app, settings.component_ids)
    for component in selected:
        build_component(app, component, env=env, out=out)
    if any(c.build is not None for c in selected):
        _say(out, "Finished building all components")
    else:
        _say(out, "No component has a build command: nothing to build")


def select_components(app: App, component_ids: tuple[str, ...]) -> list[Component]:
    """The components to build, in manifest order; unknown ids are an error."""
    unknown = [cid for cid in component_ids if cid not in app.components]
    if unknown:
        known = ", ".join(app.components) or "none"
        raise BuildError(f'unknown component "{unknown[0]}" (components: {known})')
    wanted = set(component_ids)
    return [c for cid, c in app.components.items() if not wanted or cid in wanted]


PYTHON_ENV_VAR = "SPIN_PY_PYTHON"
"""Set for build commands: the Python interpreter running spin-py."""

COMMAND_NOT_FOUND = 127
"""The shell's exit status for a command it cannot find."""

_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_SHELL_WORD = re.compile(
    r"^(?:[!{}()\[.:]|\[\[|case|cd|command|eval|exec|exit|export|for|if|set|source|test|time"
    r"|until|while)$"
)


def build_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of build commands: the user's `environ` plus `SPIN_PY_PYTHON`."""
    env = dict(environ)
    env[PYTHON_ENV_VAR] = sys.executable
    return env


def fallback_tool(command: str, env: Mapping[str, str]) -> Path | None:
    """spin-py's own copy of the program `command` runs, if the user's `PATH` lacks it.

    Only the program of a simple command is checked (its first word after `NAME=value`
    assignments); commands starting with a path or a shell keyword are run as written.
    """
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    while words and _ASSIGNMENT.match(words[0]):
        words.pop(0)
    if not words or "/" in words[0] or _SHELL_WORD.match(words[0]):
        return None
    program = words[0]
    if shutil.which(program, path=env.get("PATH", os.defpath)) is not None:
        return None
    own = shutil.which(program, path=str(Path(sys.executable).parent))
    return Path(own) if own is not None else None


def command_environment(
    command: str, env: Mapping[str, str], out: TextIO, component_id: str
) -> Mapping[str, str]:
    """`env`, or `env` with spin-py's bin directory appended to `PATH` when the command's
    program is only found there (said in the output)."""
    own = fallback_tool(command, env)
    if own is None:
        return env
    _say(
        out,
        f'Note: "{own.name}" is not on your PATH; component "{component_id}" is built with '
        f"spin-py's own ({own}). Install it to use your version.",
    )
    path = env.get("PATH", "")
    return {**env, "PATH": (path + os.pathsep if path else "") + str(own.parent)}


def build_component(app: App, component: Component, *, env: Mapping[str, str], out: TextIO) -> None:
    """Run one component's build commands in order; raise `BuildError` on the first failure."""
    if component.build is None:
        _say(out, f'No build command for component "{component.id}": skipped')
        return
    workdir = app.base_dir / (component.build.workdir or ".")
    if not workdir.is_dir():
        raise BuildError(f'build workdir "{workdir}" of component "{component.id}" does not exist')
    started = time.monotonic()
    for command in component.build.commands:
        _say(out, f'Building component "{component.id}" with `{command}`')
        command_env = command_environment(command, env, out, component.id)
        status = _run_command(command, component.id, workdir, command_env, out)
        if status != 0:
            hint = ""
            if status == COMMAND_NOT_FOUND:
                hint = " (command not found: is the tool installed and on your PATH?)"
            raise BuildError(
                f'build command for component "{component.id}" failed with '
                f"{_describe_status(status)}{hint}: `{command}`"
            )
    _say(out, f'Finished building component "{component.id}" in {_elapsed(started)}')


def _elapsed(started: float) -> str:
    return f"{time.monotonic() - started:.1f}s"


def _describe_status(status: int) -> str:
    """`exit status 2`, or `signal 9` for a command killed by a signal."""
    return f"signal {-status}" if status < 0 else f"exit status {status}"


def _run_command(
    command: str, component_id: str, workdir: Path, env: Mapping[str, str], out: TextIO
) -> int:
    """Run `command` through the shell, streaming its output prefixed; return its exit status."""
    with subprocess.Popen(
        command,
        shell=True,
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as process:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            _say(out, f"[{component_id}] {line}")
        return process.wait()


def _say(out: TextIO, line: str) -> None:
    out.write(line + "\n")
    out.flush()
