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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.dockerfile import dockerfile_instructions
from tests.support.server_fixtures import SpinPyProcess, raw_request

Start = Callable[..., SpinPyProcess]

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


def dockerfile_arg(name: str) -> str:
    """The default value of an `ARG name=value` of the Dockerfile."""
    for word, args in dockerfile_instructions(dockerfile()):
        if word == "ARG" and args.startswith(f"{name}="):
            return args.split("=", 1)[1]
    raise AssertionError(f"no ARG {name} with a default in the Dockerfile")


def test_the_image_serves_its_app_on_all_interfaces_port_3000() -> None:
    words = cmd_words()
    assert words[:2] == ["spin-py", "up"]
    assert "-f" not in words and "--from" not in words  # the workdir's spin.toml
    app = dockerfile_arg("SPIN_PY_APP")
    assert app == "manifests/otel-demo"
    assert (REPO / app / "spin.toml").is_file()
    workdirs = [args for word, args in dockerfile_instructions(dockerfile()) if word == "WORKDIR"]
    assert workdirs[-1] == "/app/${SPIN_PY_APP}"
    assert words[words.index("--listen") + 1] == "0.0.0.0:3000"
    assert words[words.index("--state-dir") + 1] == "/var/lib/spin-py"
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
    assert workdirs == ["/app", "/app/${SPIN_PY_APP}"]


def test_the_server_runs_as_a_non_root_user_that_owns_the_state_dir() -> None:
    instructions = dockerfile_instructions(dockerfile())
    users = [args for word, args in instructions if word == "USER"]
    assert users == ["10001:10001"]
    (run,) = [args for word, args in instructions if word == "RUN"]
    assert "useradd --system --uid 10001 --gid spin" in run
    assert "chown spin:spin /var/lib/spin-py" in run
    names = [word for word, _ in instructions]
    assert names.index("USER") > names.index("RUN")  # the build ran as root, the server not


def healthcheck_command() -> list[str]:
    (check,) = [
        args for word, args in dockerfile_instructions(dockerfile()) if word == "HEALTHCHECK"
    ]
    options, _, command = check.partition(" CMD ")
    assert "--interval=" in options and "--timeout=" in options
    words = yaml.safe_load(command)  # the exec form: a JSON array
    assert isinstance(words, list)
    return [str(w) for w in words]


def test_the_healthcheck_probes_the_health_endpoint(spin_py_server: Start) -> None:
    """The HEALTHCHECK command, run against a real server (its port put in for 3000): it
    succeeds while the server serves, fails once it is gone."""
    words = healthcheck_command()
    assert words[0] == "/opt/spin-py/bin/python"
    assert "http://127.0.0.1:3000/.well-known/spin/health" in words[-1]
    server = spin_py_server(REPO / "manifests" / "static")
    probe = [sys.executable, *words[1:-1], words[-1].replace(":3000/", f":{server.port}/")]
    assert subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
    server.stop()
    assert subprocess.run(probe, capture_output=True, timeout=30).returncode != 0


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
def test_the_image_build_script_builds_and_compiles_only_the_served_app(
    tmp_path: Path, spin_py_server: Start
) -> None:
    venv = tmp_path / "venv"
    env = dict(os.environ, SPIN_PY_VENV=str(venv), PYTHON=sys.executable)
    env.pop("VIRTUAL_ENV", None)
    env.pop("SPIN_PY_APP", None)
    result = subprocess.run(
        [str(BUILD_SCRIPT)], env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert (venv / "bin" / "spin-py").is_file()
    assert "==> spin-py build -f manifests/otel-demo" in out
    assert "[otel-demo] " in out
    assert not any(line.startswith(("[hello]", "[echo]", "[todo]")) for line in out.splitlines())
    assert 'Component "otel-demo": ' in out  # spin-py cache warm
    assert (REPO / "components" / "otel-demo" / "build" / "otel-demo.wasm").stat().st_size > 1e6
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import spin_py, wasmtime, aiohttp"],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    gone = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import componentize_py"], capture_output=True
    )
    assert gone.returncode != 0  # the build tools are not in the image

    # the container's start: the image's CMD, from the app's directory, with the image's
    # venv and cache: it serves without compiling anything
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin"}
    app_dir = REPO / "manifests" / "otel-demo"
    state = tmp_path / "state"
    server = spin_py_server(
        "spin.toml",
        "--state-dir",
        str(state),
        cwd=app_dir,
        env=env,
        executable=str(venv / "bin" / "spin-py"),
    )
    assert raw_request(server.base_url, "GET", "/.well-known/spin/health").status == 200
    assert raw_request(server.base_url, "GET", "/hello").status == 200
    stderr = server.stop().stderr
    assert "Compiling" not in stderr, stderr
