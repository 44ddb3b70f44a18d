"""Key-value stores in Redis (`type = "redis"`, `url = "redis://host:port/db"`).

Keys are used as given (no per-label prefix, as in Spin), so two labels pointing at the same
Redis database share their keys. `increment` is Redis's INCRBY: the counter is stored as decimal
text. `swap_if` runs as one Lua script, so it is atomic on the server. The client keeps a
thread-safe connection pool and connects lazily; `spin-py up` pings every Redis store a
component uses before serving (`ping`), so an unreachable server stops startup with a clear
error. A server that goes away later gives the guest `other` errors; the first failure is
logged as an error (later ones at debug level, until an operation succeeds again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis

from spin_py.platform.kv.backend import StoreError, check_i64

T = TypeVar("T")

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for a TCP connection to the Redis server."""

OPERATION_TIMEOUT = 30.0
"""Seconds to wait for a reply to one command."""

_SWAP_IF_EQUAL = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


class RedisKeyValueStore:
    """The store `label`, backed by the Redis server at `url`."""

    system = "redis"

    def __init__(self, label: str, url: str) -> None:
        self.label = label
        self.url = url
        try:
            self._client: Any = redis.Redis.from_url(
                url,
                socket_connect_timeout=CONNECT_TIMEOUT,
                socket_timeout=OPERATION_TIMEOUT,
            )
        except ValueError as exc:
            raise StoreError(f"invalid Redis URL for key-value store {label!r}: {exc}") from exc
        self._swap_if_equal = self._client.register_script(_SWAP_IF_EQUAL)
        self._failing = False

    def _run(self, action: Callable[[], T]) -> T:
        try:
            result = action()
        except redis.RedisError as exc:
            self._failed(exc)
            raise StoreError(f"redis: {exc}") from exc
        if self._failing:
            self._failing = False
            log.warning('key-value store "%s": Redis at %s answers again', self.label, self.where)
        return result

    def _failed(self, exc: redis.RedisError) -> None:
        if self._failing:
            log.debug('key-value store "%s": Redis at %s: %s', self.label, self.where, exc)
            return
        self._failing = True
        log.error(
            'key-value store "%s": Redis at %s failed: %s (components get an `other` error; '
            "further failures are logged at debug level)",
            self.label,
            self.where,
            exc,
        )

    @property
    def where(self) -> str:
        """The server's URL without its password, for messages."""
        return without_password(self.url)

    def ping(self) -> None:
        """Check that the server answers; raises `StoreError` saying why not."""
        try:
            self._client.ping()
        except redis.RedisError as exc:
            raise StoreError(
                f'key-value store "{self.label}": cannot reach Redis at {self.where}: {exc}'
            ) from exc

    def get(self, key: str) -> bytes | None:
        value = self._run(lambda: self._client.get(key))
        return None if value is None else bytes(value)

    def set(self, key: str, value: bytes) -> None:
        self._run(lambda: self._client.set(key, bytes(value)))

    def delete(self, key: str) -> None:
        self._run(lambda: self._client.delete(key))

    def exists(self, key: str) -> bool:
        return bool(self._run(lambda: self._client.exists(key)))

    def get_keys(self) -> list[str]:
        raw = self._run(lambda: list(self._client.scan_iter(count=1000)))
        return sorted(k.decode("utf-8", "replace") for k in raw)

    def keys(self) -> list[str]:
        """Same as `get_keys`."""
        return self.get_keys()

    def increment(self, key: str, delta: int) -> int:
        check_i64(delta, "the increment")
        return int(self._run(lambda: self._client.incrby(key, delta)))

    def swap_if(self, key: str, expected: bytes | None, value: bytes) -> bool:
        if expected is None:
            return bool(self._run(lambda: self._client.set(key, bytes(value), nx=True)))
        args = [bytes(expected), bytes(value)]
        return bool(self._run(lambda: self._swap_if_equal(keys=[key], args=args)))

    def get_many(self, keys: Sequence[str]) -> list[tuple[str, bytes | None]]:
        if not keys:
            return []
        values = self._run(lambda: self._client.mget(list(keys)))
        return [(k, None if v is None else bytes(v)) for k, v in zip(keys, values, strict=True)]

    def set_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        if items:
            mapping = {key: bytes(value) for key, value in items}
            self._run(lambda: self._client.mset(mapping))

    def delete_many(self, keys: Sequence[str]) -> None:
        if keys:
            self._run(lambda: self._client.delete(*keys))

    def close(self) -> None:
        self._client.close()


def without_password(url: str) -> str:
    """`url` with its password (if any) replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
