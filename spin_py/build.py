"""`spin-py build`: run each component's `[component.<id>.build]` commands, in manifest order.

Each command runs through the shell in the component's `workdir` (relative to the manifest's
directory; the manifest's directory when absent). Its stdout and stderr are merged and streamed
line by line, each line prefixed with `[<component-id>] `. The first command that fails stops the
build with a `BuildError` naming the component, the command and the exit status. Components
without a build section are skipped with a note.

PATH for build commands starts with the directory of the Python running spin-py, so `python`,
`pip` and `componentize-py` in a command resolve to spin-py's virtual environment first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from spin_py import manifest
from spin_py.config import BuildSettings
from spin_py.errors import BuildError
from spin_py.manifest.model import App, Component


def run_build(
    settings: BuildSettings, *, environ: Mapping[str, str], out: TextIO = sys.stdout
) -> None:
    """Build the selected components (all if none selected) of the manifest in `settings`."""
    app = manifest.load(settings.manifest_path)
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


def build_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` with the directory of `sys.executable` put first on PATH."""
    env = dict(environ)
    bin_dir = str(Path(sys.executable).parent)
    path = env.get("PATH", "")
    env["PATH"] = bin_dir + (os.pathsep + path if path else "")
    return env


def build_component(app: App, component: Component, *, env: Mapping[str, str], out: TextIO) -> None:
    """Run one component's build commands in order; raise `BuildError` on the first failure."""
    if component.build is None:
        _say(out, f'No build command for component "{component.id}": skipped')
        return
    workdir = app.base_dir / (component.build.workdir or ".")
    if not workdir.is_dir():
        raise BuildError(f'build workdir "{workdir}" of component "{component.id}" does not exist')
    for command in component.build.commands:
        _say(out, f'Building component "{component.id}" with `{command}`')
        status = _run_command(command, component.id, workdir, env, out)
        if status != 0:
            raise BuildError(
                f'build command for component "{component.id}" failed with '
                f"{_describe_status(status)}: `{command}`"
            )


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
