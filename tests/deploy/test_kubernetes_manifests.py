"""deploy/kubernetes, checked without a cluster.

Every resource is validated against the Kubernetes API schemas that `kubernetes-validate`
bundles, in strict mode (an unknown or misspelt field fails), for the oldest Kubernetes version
the guide supports and the newest the package knows. Then what the resources name is checked
against what exists: the options given to `spin-py up` (parsed by spin-py's own command line),
the app in the ConfigMap (loaded by spin-py's manifest loader, compared with
`manifests/kv-counter`, its component path mapped into the image), the runtime config (parsed
by spin-py), the environment variables (each one spin-py reads, or one another refers to),
every port, Service, volume and mount path, the Dockerfile's `WORKDIR`/`ENV`/`EXPOSE`, the
image tag (the package version), and the probe, drain and resource figures against spin-py's
own constants.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

from spin_py import manifest
from spin_py.cli import main
from spin_py.config import parse_bytes, parse_duration
from spin_py.platform.runtime_config import RedisStoreConfig, load_runtime_config
from spin_py.server.supervisor import STOP_TIMEOUT
from spin_py.server.wellknown import HEALTH_PATH
from spin_py.telemetry import env as otel_env
from tests.support.dockerfile import dockerfile_instructions

REPO = Path(__file__).resolve().parents[2]
KUBE = REPO / "deploy" / "kubernetes"
BUILD_SCRIPT = REPO / "docker" / "build-image.sh"
DEPLOY_README = REPO / "deploy" / "README.md"
OLDEST_KUBERNETES = "1.29.0"

SUPERVISOR_MIB = 64
WORKER_MIB = 256
"""Memory of the supervisor and of one worker serving kv-counter, above what guests use
(measured: 59 MiB and at most 222 MiB under 32 concurrent requests; docs/deployment.md)."""
CPU_REQUEST_PER_WORKER = 0.5
CPU_LIMIT_PER_WORKER = 1.0


# -- reading the manifests ------------------------------------------------------------------


def manifest_files() -> list[Path]:
    return sorted(p for p in KUBE.glob("*.yaml") if p.name != "kustomization.yaml")


def resources() -> list[dict[str, Any]]:
    docs = []
    for path in manifest_files():
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def find(kind: str, name: str) -> dict[str, Any]:
    found = [r for r in resources() if r["kind"] == kind and r["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def containers(deployment: str) -> dict[str, dict[str, Any]]:
    spec = find("Deployment", deployment)["spec"]["template"]["spec"]
    return {c["name"]: c for c in spec["containers"]}


def spin_py_pod() -> dict[str, Any]:
    return dict(find("Deployment", "spin-py")["spec"]["template"]["spec"])


def spin_py_container() -> dict[str, Any]:
    return containers("spin-py")["spin-py"]


def up_options() -> dict[str, Any]:
    """The `spin-py up` arguments of the Deployment, parsed by spin-py's own command line."""
    container = spin_py_container()
    assert container["command"] == ["spin-py"]
    args = container["args"]
    assert args[0] == "up"
    context = main.commands["up"].make_context("up", list(args[1:]))
    return dict(context.params)


def port_number(container: dict[str, Any], name: str) -> int:
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    assert name in ports, f"container {container['name']} has no port named {name!r}"
    return int(ports[name])


def mounts(deployment: str, container: str) -> dict[str, dict[str, Any]]:
    """mountPath -> the volume mounted there."""
    spec = find("Deployment", deployment)["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    found = {}
    for mount in containers(deployment)[container].get("volumeMounts", []):
        assert mount["name"] in volumes, f"no volume {mount['name']!r}"
        found[mount["mountPath"]] = volumes[mount["name"]]
    return found


def mounted_file(deployment: str, container: str, path: str) -> str:
    """The text a container reads at `path`, from the ConfigMap mounted above it."""
    for mount_path, volume in mounts(deployment, container).items():
        if path.startswith(mount_path.rstrip("/") + "/"):
            assert "configMap" in volume, f"{path} is not in a ConfigMap"
            data = find("ConfigMap", volume["configMap"]["name"])["data"]
            key = path.removeprefix(mount_path.rstrip("/") + "/")
            assert key in data, f"ConfigMap {volume['configMap']['name']} has no {key}"
            return str(data[key])
    raise AssertionError(f"nothing is mounted above {path}")


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, args in dockerfile_instructions():
        if word == "ENV":
            env.update(pair.split("=", 1) for pair in shlex.split(args))
    return env


def service_target(host: str, port: int) -> tuple[dict[str, Any], int]:
    """The container (and its port number) behind Service `host` port `port`."""
    service = find("Service", host)
    (entry,) = [p for p in service["spec"]["ports"] if p["port"] == port]
    selector = service["spec"]["selector"]
    backing = [
        d
        for d in resources()
        if d["kind"] == "Deployment"
        and selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
    ]
    assert len(backing) == 1, f"Service {host} selects {len(backing)} Deployments"
    for container in backing[0]["spec"]["template"]["spec"]["containers"]:
        names = {p["name"] for p in container.get("ports", [])}
        if entry["targetPort"] in names:
            return container, port_number(container, entry["targetPort"])
    raise AssertionError(f"Service {host}:{port} targets no named container port")


# -- the Kubernetes schemas -----------------------------------------------------------------


def test_the_kustomization_lists_every_manifest_and_nothing_else() -> None:
    kustomization = yaml.safe_load((KUBE / "kustomization.yaml").read_text())
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    assert set(kustomization) <= {"apiVersion", "kind", "namespace", "labels", "resources"}
    assert sorted(kustomization["resources"]) == [p.name for p in manifest_files()]
    namespaces = [r for r in resources() if r["kind"] == "Namespace"]
    assert [n["metadata"]["name"] for n in namespaces] == [kustomization["namespace"]]


@pytest.mark.parametrize("version", [OLDEST_KUBERNETES, latest_version()])
def test_every_resource_validates_strictly_against_the_kubernetes_schemas(version: str) -> None:
    checked = []
    for resource in resources():
        kubernetes_validate.validate(resource, version, strict=True)
        checked.append(f"{resource['kind']}/{resource['metadata']['name']}")
    assert len(checked) == 13, checked


def test_strict_validation_catches_a_misspelt_field() -> None:
    deployment = copy.deepcopy(find("Deployment", "spin-py"))
    deployment["spec"]["template"]["spec"]["terminationGracePeriod"] = 30
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, latest_version(), strict=True)


# -- spin-py's Deployment against the image and the app -------------------------------------


def test_the_image_is_this_version_of_the_repository_image() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert spin_py_container()["image"] == f"spin-py:{project['version']}"
    assert project["scripts"]["spin-py"] == "spin_py.cli:main"
    env = dockerfile_env()
    assert f"{env['SPIN_PY_VENV']}/bin" in env["PATH"].split(":")  # `spin-py` is on PATH
    assert "$SPIN_PY_VENV" in BUILD_SCRIPT.read_text() or "SPIN_PY_VENV" in BUILD_SCRIPT.read_text()


def test_spin_py_listens_on_the_port_the_image_exposes_and_the_service_targets() -> None:
    listen = up_options()["listen"]
    host, port = listen.rsplit(":", 1)
    assert host == "0.0.0.0"
    assert port_number(spin_py_container(), "http") == int(port)
    exposed = [args for word, args in dockerfile_instructions() if word == "EXPOSE"]
    assert exposed == [port]
    container, target = service_target("spin-py", 80)
    assert container["name"] == "spin-py" and target == int(port)


def test_the_app_is_kv_counter_with_its_component_where_the_image_build_puts_it(
    tmp_path: Path,
) -> None:
    options = up_options()
    (tmp_path / "spin.toml").write_text(mounted_file("spin-py", "spin-py", options["from_"]))
    served = manifest.load(tmp_path / "spin.toml")
    repo = manifest.load(REPO / "manifests" / "kv-counter" / "spin.toml")
    assert (served.name, served.version, served.variables) == (
        repo.name,
        repo.version,
        repo.variables,
    )
    assert served.triggers == repo.triggers
    assert served.components.keys() == repo.components.keys()
    workdir = [args for word, args in dockerfile_instructions() if word == "WORKDIR"]
    copies = [shlex.split(args) for word, args in dockerfile_instructions() if word == "COPY"]
    assert workdir[0] == "/app" and copies == [[".", "/app"]]  # /app is the repository
    for cid, component in served.components.items():
        built = repo.components[cid]
        assert isinstance(component.source, str) and isinstance(built.source, str)
        in_repo = (repo.base_dir / built.source).resolve().relative_to(REPO)
        assert Path(component.source) == Path("/app") / in_repo
        assert built.build is not None  # docker/build-image.sh builds the image's one app:
        assert 'spin-py" build -f "$SRC/$APP"' in BUILD_SCRIPT.read_text()
        assert "--build-arg SPIN_PY_APP=manifests/kv-counter" in DEPLOY_README.read_text()
        unchanged = dataclasses.replace(built, source=component.source, build=None)
        assert dataclasses.replace(component, description=built.description) == unchanged


def test_the_runtime_config_keeps_key_value_in_the_redis_service(tmp_path: Path) -> None:
    path = tmp_path / "runtime-config.toml"
    path.write_text(mounted_file("spin-py", "spin-py", str(up_options()["runtime_config_file"])))
    config = load_runtime_config(path)
    store = config.key_value_stores["default"]
    assert isinstance(store, RedisStoreConfig)
    url = urlsplit(store.url)
    assert url.scheme == "redis" and url.hostname is not None and url.port is not None
    container, port = service_target(url.hostname, url.port)
    assert container["image"].startswith("redis:") and port == 6379


def test_every_path_spin_py_writes_is_a_writable_volume() -> None:
    container = spin_py_container()
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounted = mounts("spin-py", "spin-py")
    options = up_options()
    assert "emptyDir" in mounted[str(options["state_dir"])]
    assert options["log_dir"] == ""  # component output goes to the container log only
    # the compile cache is baked into the image and only read: no volume hides it
    assert dockerfile_env()["SPIN_PY_CACHE_DIR"] not in mounted
    assert "emptyDir" in mounted["/tmp"]


def test_every_environment_variable_is_one_spin_py_reads_or_one_referred_to() -> None:
    env = spin_py_container()["env"]
    names = [item["name"] for item in env]
    read = {v for k, v in vars(otel_env).items() if k.startswith("OTEL_") and isinstance(v, str)}
    read |= {
        e for p in main.commands["up"].params if isinstance(e := getattr(p, "envvar", None), str)
    }
    values = " ".join(str(item.get("value", "")) for item in env)
    referred = set(re.findall(r"\$\((\w+)\)", values))
    for name in names:
        assert name in read or name in referred, f"{name} is neither read nor referred to"
    assert referred <= set(names)
    for name in referred:  # a $(NAME) refers to a variable defined before it
        assert names.index(name) < min(
            i for i, item in enumerate(env) if f"$({name})" in str(item.get("value", ""))
        )


def test_traces_go_to_the_collector_and_on_to_jaeger() -> None:
    env = {item["name"]: item.get("value") for item in spin_py_container()["env"]}
    endpoint = urlsplit(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
    assert endpoint.scheme == "http" and endpoint.hostname and endpoint.port
    container, port = service_target(endpoint.hostname, endpoint.port)
    args = container["args"]
    assert args[0].startswith("--config=")
    config = yaml.safe_load(mounted_file("otel-collector", container["name"], args[0][9:]))
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(f":{port}")
    pipelines = config["service"]["pipelines"]
    for kind in ("receivers", "processors", "exporters"):
        used = {name for pipeline in pipelines.values() for name in pipeline.get(kind, [])}
        assert used <= set(config[kind]), f"undefined {kind}: {used - set(config[kind])}"
    assert set(pipelines) == {"traces", "metrics", "logs"}  # spin-py may export all three
    (exporter,) = pipelines["traces"]["exporters"]
    host, jaeger_port = config["exporters"][exporter]["endpoint"].rsplit(":", 1)
    jaeger, target = service_target(host, int(jaeger_port))
    assert target == 4317  # OTLP/gRPC
    assert {"name": "COLLECTOR_OTLP_ENABLED", "value": "true"} in jaeger["env"]
    health = config["extensions"]["health_check"]["endpoint"].rsplit(":", 1)[1]
    assert port_number(container, container["readinessProbe"]["httpGet"]["port"]) == int(health)


def test_the_probes_ask_spin_py_health_and_outlast_the_startup_compile() -> None:
    container = spin_py_container()
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = container[probe]["httpGet"]
        assert (get["path"], get["port"]) == (HEALTH_PATH, "http"), probe
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120
    liveness = container["livenessProbe"]
    drain = parse_duration(up_options()["shutdown_delay"])
    # a draining pod answers 503 to every probe: liveness must not give up before it is gone
    assert liveness["periodSeconds"] * liveness["failureThreshold"] > drain


def test_termination_grace_covers_spin_pys_drain_and_stop() -> None:
    drain = parse_duration(up_options()["shutdown_delay"])
    assert drain >= 2 * spin_py_container()["readinessProbe"]["periodSeconds"]
    assert spin_py_pod()["terminationGracePeriodSeconds"] >= drain + STOP_TIMEOUT


def test_resources_follow_the_worker_count_and_the_instance_memory_cap() -> None:
    options = up_options()
    workers = int(options["workers"])
    per_worker = WORKER_MIB + options["max_concurrent_requests"] * (
        parse_bytes(options["max_instance_memory"]) // 2**20
    )
    resources_ = spin_py_container()["resources"]
    assert parse_bytes(resources_["limits"]["memory"]) >= (
        (SUPERVISOR_MIB + workers * per_worker) * 2**20
    )
    assert parse_bytes(resources_["requests"]["memory"]) >= (SUPERVISOR_MIB + workers * 256) * 2**20
    assert float(resources_["requests"]["cpu"]) == workers * CPU_REQUEST_PER_WORKER
    assert float(resources_["limits"]["cpu"]) == workers * CPU_LIMIT_PER_WORKER


def test_the_autoscaler_and_the_disruption_budget_cover_the_deployment() -> None:
    hpa = find("HorizontalPodAutoscaler", "spin-py")["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "spin-py",
    }
    (metric,) = hpa["metrics"]
    assert metric["resource"]["name"] == "cpu"  # needs the cpu request, set above
    assert hpa["minReplicas"] >= 2
    labels = find("Deployment", "spin-py")["spec"]["template"]["metadata"]["labels"]
    pdb = find("PodDisruptionBudget", "spin-py")["spec"]
    assert pdb["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["minAvailable"] < hpa["minReplicas"]


def test_every_service_selects_one_deployment_and_targets_named_ports() -> None:
    services = [r for r in resources() if r["kind"] == "Service"]
    assert {s["metadata"]["name"] for s in services} == {
        "spin-py",
        "redis",
        "otel-collector",
        "jaeger",
    }
    for service in services:
        for entry in service["spec"]["ports"]:
            service_target(service["metadata"]["name"], entry["port"])


def iter_mounts() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for resource in resources():
        if resource["kind"] == "Deployment":
            for container in resource["spec"]["template"]["spec"]["containers"]:
                for volume in mounts(resource["metadata"]["name"], container["name"]).values():
                    yield resource["metadata"]["name"], container["name"], volume


def test_every_mounted_config_map_exists() -> None:
    seen = 0
    for _, _, volume in iter_mounts():
        if "configMap" in volume:
            find("ConfigMap", volume["configMap"]["name"])
            seen += 1
    assert seen == 2
