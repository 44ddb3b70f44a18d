"""Server processes for the benchmarks: start, wait until they answer, measure, stop.

Every server runs in a session of its own (`start_new_session`), so stopping it signals exactly
the process group this module created (jco serve, for one, runs its HTTP server in a child
node process). Memory and CPU are read from /proc for the whole process tree.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """The status of a GET to `url`, or None when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, ValueError):
        return None


@dataclass
class Server:
    """One server process started by the benchmark, with its log file and start time."""

    name: str
    command: list[str]
    log_path: Path
    process: subprocess.Popen[bytes]
    started_at: float
    env_overrides: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        """The pid of the process we started (leader of its process group)."""
        return self.process.pid

    def tree(self) -> list[int]:
        """The pids of the server and all its descendants that are still alive."""
        return process_tree(self.pid)

    def rss_bytes(self) -> int:
        """Resident memory of the whole process tree, in bytes."""
        return sum(status_kb(pid, "VmRSS") for pid in self.tree()) * 1024

    def cpu_seconds(self) -> float:
        """User plus system CPU time used so far by the process tree (live processes)."""
        return sum(cpu_time(pid) for pid in self.tree())

    def wait_ready(self, url: str, timeout: float, expect: int = 200) -> float:
        """Poll `url` until it answers `expect`; the seconds since start. Raises on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early: {self.log_tail()}")
            if http_status(url) == expect:
                return time.monotonic() - self.started_at
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} not ready within {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the server's combined stdout/stderr."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the server's process group, then SIGKILL it if it lingers."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.process.wait(timeout=grace)
        # Children that outlived the leader are still in the group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)


def start(
    name: str,
    command: Sequence[str],
    log_dir: Path,
    env_overrides: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Server:
    """Start `command` in its own session, output to `<log_dir>/<name>.log`.

    The environment is ours minus every `OTEL_*` variable, plus `env_overrides`: tracing is
    only on where a workload asks for it.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    env.update(env_overrides or {})
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            list(command),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    return Server(
        name, list(command), log_path, process, time.monotonic(), dict(env_overrides or {})
    )


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """Stop `server` when the block ends, however it ends."""
    try:
        yield server
    finally:
        server.stop()


def process_tree(root: int) -> list[int]:
    """`root` and its descendants, found through /proc/<pid>/stat parent links."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _parent_pid(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        if Path(f"/proc/{pid}").exists():
            found.append(pid)
        queue.extend(children.get(pid, []))
    return found


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def _parent_pid(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def cpu_time(pid: int) -> float:
    """utime + stime of one process, in seconds (0 if it is gone)."""
    fields = _stat_fields(pid)
    if not fields:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def status_kb(pid: int, key: str) -> int:
    """A `kB` field of /proc/<pid>/status (VmRSS, VmHWM), 0 if missing or gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def reset_peak_rss(pids: Sequence[int]) -> bool:
    """Reset VmHWM of each process (`echo 5 > clear_refs`); False where it is not allowed."""
    ok = True
    for pid in pids:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            ok = False
    return ok


def peak_rss_bytes(pids: Sequence[int]) -> int:
    """Sum of VmHWM over `pids` in bytes (an upper bound of the tree's peak)."""
    return sum(status_kb(pid, "VmHWM") for pid in pids) * 1024


class RssSampler:
    """Samples the RSS of each process of a server tree in a background thread.

    `peaks` maps pid to its largest sample, `tree_peak` is the largest sum. Complements VmHWM:
    sampling sees processes started mid-run, VmHWM sees spikes shorter than the interval.
    """

    def __init__(self, server: Server, interval: float = 0.01) -> None:
        self._server = server
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.peaks: dict[int, int] = {}
        self.tree_peak = 0

    def _sample(self) -> None:
        total = 0
        for pid in self._server.tree():
            rss = status_kb(pid, "VmRSS") * 1024
            self.peaks[pid] = max(self.peaks.get(pid, 0), rss)
            total += rss
        self.tree_peak = max(self.tree_peak, total)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self._interval)

    def __enter__(self) -> RssSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def rss_by_pid(pids: Sequence[int]) -> dict[int, int]:
    """Current RSS of each process, in bytes."""
    return {pid: status_kb(pid, "VmRSS") * 1024 for pid in pids}


def pss_bytes(pids: Sequence[int]) -> int:
    """Proportional set size of the processes together (shared pages counted once), bytes.

    Falls back to RSS for a process without /proc/<pid>/smaps_rollup.
    """
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            total += status_kb(pid, "VmRSS") * 1024
            continue
        for line in text.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) * 1024
                break
    return total


def system_busy_seconds() -> float:
    """CPU seconds all CPUs spent busy since boot (/proc/stat: everything but idle, iowait)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(value) for value in fields[:8]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / CLOCK_TICKS


def children_cpu_seconds() -> float:
    """CPU seconds used by this process's reaped children (wrk runs, clients)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def self_cpu_seconds() -> float:
    """CPU seconds used by this process (the benchmark runner itself)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
