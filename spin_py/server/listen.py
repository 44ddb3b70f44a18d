"""The one place spin-py binds its listening socket, and the one place it starts listening.

Binding and listening are two steps (docs/compatibility.md#startup-and-readiness):
`bind_listener` binds at once, before any component is loaded, so a busy port fails fast
(resolving the host, IPv4 preferred as Spin does; `--find-free-port` trying `port .. port + 9`;
the busy-port message). `start_listening` is called only when the app is ready to serve (every
worker loaded); until then the port refuses connections instead of queueing them, so no client
is accepted by a server that may still fail to start. The server is then handed the listening
socket (aiohttp `SockSite`).
"""

from __future__ import annotations

import errno
import socket

from spin_py.config import FIND_FREE_PORT_ATTEMPTS, ListenAddr
from spin_py.errors import ConfigError

BACKLOG = 1024


def bind_listener(
    addr: ListenAddr, *, find_free_port: bool = False, reuse_port: bool = False
) -> socket.socket:
    """A non-blocking socket bound to `addr` (or the next free port, if asked), not listening
    yet: call `start_listening` once the app is ready."""
    family, ip = _resolve(addr.host)
    if not find_free_port or addr.port == 0:
        return _bind_or_explain(family, ip, addr, reuse_port)
    last = min(addr.port + FIND_FREE_PORT_ATTEMPTS - 1, 65535)
    for port in range(addr.port, last + 1):
        try:
            return _bind(family, ip, port, reuse_port)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise ConfigError(f"Unable to listen on {addr}: {exc.strerror}") from exc
    raise ConfigError(
        f"Couldn't find a free port in the range {addr.port}-{last}. "
        "Consider retrying with a different base port."
    )


def start_listening(sock: socket.socket) -> None:
    """Start accepting connections on a socket from `bind_listener`.

    Another process may have bound the same port meanwhile (SO_REUSEADDR lets sockets share a
    port until one listens) and listened first: that is the busy-port error, as at bind time.
    """
    try:
        sock.listen(BACKLOG)
    except OSError as exc:
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]:{port}" if sock.family == socket.AF_INET6 else f"{host}:{port}"
        raise _unable_to_listen(shown, exc) from exc


def bound_url(sock: socket.socket, scheme: str = "http") -> str:
    """The base URL of a bound socket, e.g. `http://127.0.0.1:3000` or `http://[::1]:3000`."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if sock.family == socket.AF_INET6 else host
    return f"{scheme}://{shown}:{port}"


def _bind_or_explain(
    family: socket.AddressFamily, ip: str, addr: ListenAddr, reuse_port: bool
) -> socket.socket:
    try:
        return _bind(family, ip, addr.port, reuse_port)
    except OSError as exc:
        raise _unable_to_listen(str(addr), exc) from exc


def _unable_to_listen(shown: str, exc: OSError) -> ConfigError:
    """The error for a port that cannot be bound or listened on (busy: as Spin words it)."""
    if exc.errno == errno.EADDRINUSE:
        return ConfigError(
            f"Unable to listen on {shown}: address already in use. "
            "To have spin-py search for a free port, use the --find-free-port option."
        )
    return ConfigError(f"Unable to listen on {shown}: {exc.strerror}")


def _resolve(host: str) -> tuple[socket.AddressFamily, str]:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigError(f"Unable to resolve listen host {host!r}: {exc.strerror}") from exc
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, _, _, _, sockaddr = infos[0]
    return family, str(sockaddr[0])


def _bind(family: socket.AddressFamily, ip: str, port: int, reuse_port: bool) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((ip, port))
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
