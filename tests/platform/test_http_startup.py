"""What `spin-py up` does once at startup, before serving, even with several worker processes:
the `--key-value` and `--sqlite` writes, and `--truncate-logs`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.support.http_apps import calls, hexed, ok, write_app
from tests.support.server_fixtures import SpinPyProcess

Start = Callable[..., SpinPyProcess]


def test_startup_writes_run_once_with_two_workers(
    spin_py_server: Start, ready_component: Callable[[str], Path], tmp_path: Path
) -> None:
    manifest = write_app(
        tmp_path / "app",
        ready_component("platform-probe"),
        key_value_stores=["default"],
        sqlite_databases=["default"],
    )
    server = spin_py_server(
        manifest,
        "--state-dir", str(tmp_path / "state"),
        "--workers", "2",
        "--key-value", "greeting=hi",
        "--sqlite", "CREATE TABLE IF NOT EXISTS runs (at INTEGER)",
        "--sqlite", "INSERT INTO runs VALUES (1)",
        "-q",
    )  # fmt: skip
    for _ in range(4):  # whichever worker answers, it sees one row and the seeded key
        results = calls(
            server,
            [
                ["sql2.open", "c", "default"],
                ["sql2.execute", "c", "SELECT count(*) FROM runs"],
                ["kv.open", "s", "default"],
                ["kv.get", "s", "greeting"],
            ],
        )
        assert results[1] == ok({"columns": ["count(*)"], "rows": [[{"integer": 1}]]})
        assert results[3] == ok(hexed(b"hi"))


def test_truncate_logs_empties_component_log_files(
    spin_py_server: Start, ready_component: Callable[[str], Path], tmp_path: Path
) -> None:
    manifest = write_app(tmp_path / "app", ready_component("platform-probe"))
    logs = tmp_path / "state" / "logs"
    logs.mkdir(parents=True)
    for stream in ("stdout", "stderr"):
        (logs / f"probe_{stream}.txt").write_text(f"old {stream}\n")
    (logs / "unrelated.txt").write_text("kept\n")
    args = ("--state-dir", str(tmp_path / "state"), "-q")
    spin_py_server(manifest, *args).stop()
    assert (logs / "probe_stdout.txt").read_text() == "old stdout\n"
    spin_py_server(manifest, *args, "--truncate-logs").stop()
    assert (logs / "probe_stdout.txt").read_text() == ""
    assert (logs / "probe_stderr.txt").read_text() == ""
    assert (logs / "unrelated.txt").read_text() == "kept\n"


def test_runtime_config_state_dir_applies_unless_the_option_is_given(
    spin_py_server: Start, ready_component: Callable[[str], Path], tmp_path: Path
) -> None:
    manifest = write_app(
        tmp_path / "app", ready_component("platform-probe"), key_value_stores=["default"]
    )
    config = tmp_path / "config" / "runtime-config.toml"
    config.parent.mkdir()
    config.write_text('state_dir = "rc-state"\n')
    server = spin_py_server(manifest, "--runtime-config-file", str(config), "-q")
    assert calls(server, [["kv.open", "s", "default"], ["kv.set", "s", "k", "v"]]) == [ok(), ok()]
    server.stop()
    assert (tmp_path / "config" / "rc-state" / "sqlite_key_value.db").is_file()
    assert not (tmp_path / "app" / ".spin" / "sqlite_key_value.db").exists()
    # the explicit option wins over the runtime config
    server = spin_py_server(
        manifest, "--runtime-config-file", str(config), "--state-dir", str(tmp_path / "opt"), "-q"
    )
    assert calls(server, [["kv.open", "s", "default"], ["kv.get", "s", "k"]])[1] == ok(None)
    server.stop()
    assert (tmp_path / "opt" / "sqlite_key_value.db").is_file()
