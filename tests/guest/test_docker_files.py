"""docker-compose.yml, Dockerfile and docker/build-image.sh, checked without a Docker engine.

The compose file must parse and point at files that exist, with the ports and OTLP settings
the README walkthrough relies on; the Dockerfile's build steps (a script) run for real against
a temporary virtual environment, reusing the component build cache.
"""

from __future__ import annotations

import fnmatch
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
BUILD_SCRIPT = REPO / "docker" / "build-image.sh"


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"no service {name!r} in docker-compose.yml"
    return dict(services[name])


def environment(svc: dict[str, Any]) -> dict[str, str]:
    """A service's environment, whether written as a mapping or as KEY=VALUE items."""
    env = svc.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    logical, current = [], ""
    for line in path.read_text().splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip().removesuffix("\\") + " "
        if not line.rstrip().endswith("\\"):
            logical.append(current.strip())
            current = ""
    pairs = [tuple(item.split(None, 1)) for item in logical]
    return [(word.upper(), rest) for word, rest in pairs]


def dockerfile() -> Path:
    build = service("spin-py")["build"]
    return REPO / str(build["context"]) / str(build.get("dockerfile", "Dockerfile"))


def cmd_words() -> list[str]:
    (cmd,) = [args for word, args in dockerfile_instructions(dockerfile()) if word == "CMD"]
    words = yaml.safe_load(cmd)  # the exec form is a JSON array, which YAML reads too
    assert isinstance(words, list)
    return [str(w) for w in words]


def test_compose_builds_spin_py_from_a_dockerfile_in_the_repo() -> None:
    build = service("spin-py")["build"]
    assert (REPO / build["context"]).resolve() == REPO
    assert dockerfile().is_file()


def test_spin_py_serves_port_3000_and_exports_to_jaeger_over_otlp_http() -> None:
    svc = service("spin-py")
    assert "3000:3000" in svc["ports"]
    assert environment(svc)["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4318"
    assert "jaeger" in svc.get("depends_on", [])


def test_jaeger_all_in_one_receives_otlp_http_and_shows_its_ui() -> None:
    svc = service("jaeger")
    assert str(svc["image"]).startswith("jaegertracing/all-in-one:")
    assert environment(svc)["COLLECTOR_OTLP_ENABLED"] == "true"
    assert {"4318:4318", "16686:16686"} <= set(svc["ports"])


def test_the_image_serves_otel_demo_on_all_interfaces_port_3000() -> None:
    words = cmd_words()
    assert words[:2] == ["spin-py", "up"]
    manifest = words[words.index("-f") + 1]
    assert (REPO / manifest / "spin.toml").is_file()
    assert manifest == "manifests/otel-demo"
    assert words[words.index("--listen") + 1] == "0.0.0.0:3000"
    exposed = [args for word, args in dockerfile_instructions(dockerfile()) if word == "EXPOSE"]
    assert exposed == ["3000"]


def test_every_file_the_dockerfile_runs_exists_and_is_executable() -> None:
    instructions = dockerfile_instructions(dockerfile())
    runs = [shlex.split(args)[0] for word, args in instructions if word == "RUN"]
    assert runs == ["docker/build-image.sh"]
    for script in runs:
        path = REPO / script
        assert path.is_file() and os.access(path, os.X_OK), script
    copies = [shlex.split(args) for word, args in instructions if word == "COPY"]
    assert copies == [[".", "/app"]]
    workdirs = [args for word, args in instructions if word == "WORKDIR"]
    assert workdirs == ["/app"]


def test_the_docker_context_keeps_what_the_build_needs() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    needed = [
        "pyproject.toml",
        "README.md",
        "docker/build-image.sh",
        "spin_py/__init__.py",
        "components/build.py",
        "components/otel-demo/build.py",
        "components/otel-demo/app.py",
        "manifests/otel-demo/spin.toml",
        "guest/python/opentelemetry_wasi/wit/world.wit",
        "guest/python/opentelemetry_wasi/componentize-py.toml",
    ]
    for rel in needed:
        assert (REPO / rel).is_file(), rel
        assert not any(_ignored(rel, p) for p in patterns), f"{rel} is excluded from the image"
    assert any(_ignored(".venv/bin/python", p) for p in patterns)
    assert any(_ignored("components/otel-demo/build/otel-demo.wasm", p) for p in patterns)


def _ignored(rel: str, pattern: str) -> bool:
    """Whether a .dockerignore pattern excludes `rel` (itself or a parent directory)."""
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    if pattern.startswith("**/"):
        tail = pattern.removeprefix("**/")
        return any(
            fnmatch.fnmatch(p.split("/")[-1], tail) or fnmatch.fnmatch(p, tail) for p in prefixes
        )
    return any(fnmatch.fnmatch(p, pattern) for p in prefixes)


@pytest.mark.image_build
def test_the_image_build_script_installs_spin_py_and_builds_otel_demo(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = dict(os.environ, SPIN_PY_VENV=str(venv), PYTHON=sys.executable)
    env.pop("VIRTUAL_ENV", None)
    result = subprocess.run(
        [str(BUILD_SCRIPT)], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (venv / "bin" / "spin-py").is_file()
    assert "spin-py build -f manifests/otel-demo/spin.toml" in result.stdout
    assert "[otel-demo] " in result.stdout
    assert (REPO / "components" / "otel-demo" / "build" / "otel-demo.wasm").stat().st_size > 1e6
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import componentize_py, spin_sdk, spin_py"],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
