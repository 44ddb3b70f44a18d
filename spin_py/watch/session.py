"""`spin-py watch`: build, serve, and on every change rebuild what changed and swap the app in.

One process serves (the `--workers` option of `up` does not apply): the listening socket is
bound once and kept for the whole session; each reload builds a new `Generation` (manifest,
router, compiled components, invoker, platform services) next to the one serving, then swaps it
in (`spin_py.watch.live`). Requests never wait for a build and never see a half-loaded app: until
the swap they run on the old generation, after it on the new one, and the old one is closed when
its last request has finished. One process rather than a supervisor replacing workers one by
one: the reload is a pointer swap instead of a fork, compile and warm-up per worker, and a
watcher thread plus compile threads would make forking unsafe anyway.

A cycle (`_cycle`), run for the start and then for each batch of changes (changes that arrive
during a cycle wait for the next one, together):

1. the manifest changed (or at start): read it again; a broken manifest is reported and the old
   app keeps serving; components whose build section changed are rebuilt;
2. the components whose `watch` globs matched are rebuilt, one at a time, with `spin-py build`'s
   runner (the user's environment; output prefixed by component id); a failed build is reported
   and the old app keeps serving;
3. if anything the app is loaded from changed (manifest, a source's size or mtime, mounted
   files), the new generation is loaded (remote sources, components compiled through the cache)
   and swapped in; a load error is reported and the old app keeps serving.

The socket starts listening after the first successful load, as `spin-py up` does; until then
(a first build or load that fails) the session waits for a fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import sys
import time
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import watchfiles
from aiohttp import web

from spin_py import manifest
from spin_py.build import build_component, build_environment
from spin_py.config import UpConfig
from spin_py.errors import SpinPyError
from spin_py.manifest.model import App, RemoteSource
from spin_py.manifest.select import retain_components
from spin_py.outbound import OutboundClient, SelfOrigin
from spin_py.routing import Router
from spin_py.runtime.compile_cache import report_to_stderr
from spin_py.runtime.remote_sources import resolve_remote_sources
from spin_py.server import lifecycle, trace_ui
from spin_py.server.app import serving_web_app
from spin_py.server.bridge import WasmComponentHandler, build_handler
from spin_py.server.drain import Drain
from spin_py.server.listen import bind_listener, bound_url, start_listening
from spin_py.server.listing import render_listing
from spin_py.server.platform_setup import prepare_platform
from spin_py.server.tls import server_context
from spin_py.server.up import TELEMETRY_SHUTDOWN_S, configure_telemetry, scheme
from spin_py.telemetry import Telemetry
from spin_py.watch.live import Generation, LiveApp
from spin_py.watch.plan import Changes, WatchPlan

log = logging.getLogger(__name__)

IGNORED_NAMES = (".swp", ".swx", "~", ".tmp")
"""Editor and build temporaries: never a reason to rebuild."""


@dataclass(frozen=True)
class WatchSettings:
    """The options of `spin-py watch` itself (the rest are `up`'s)."""

    skip_build: bool = False
    """Only reload when sources (built by someone else) change; never build."""
    clear: bool = False
    """Clear the terminal before each rebuild."""
    debounce_ms: int = 100
    """Quiet time after a change before acting on it (changes meanwhile are taken together)."""


def run_watch(
    config: UpConfig,
    settings: WatchSettings,
    *,
    cache_dir: Path | None,
    environ: Mapping[str, str],
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> None:
    """Watch and serve until SIGINT/SIGTERM (errors binding the port are `SpinPyError`s)."""
    ssl_context = None if config.tls is None else server_context(config.tls)
    sock = bind_listener(config.listen, find_free_port=config.find_free_port)
    ui_sock = trace_ui.bind(config)
    extras = trace_ui.in_process(config, ui_sock)
    session = WatchSession(config, settings, sock, cache_dir, environ, out, err, extras)
    try:
        lifecycle.run(
            session.web_app,
            sock,
            trace_ui.announcing(session.print_listing, ui_sock, config, out),
            await_turn=session.first_load,
            ssl_context=ssl_context,
            drain=session.drain,
            connections=config.security.connections,
        )
    finally:
        session.shutdown_telemetry()
        sock.close()
        if ui_sock is not None:
            ui_sock.close()


class WatchSession:
    """One `spin-py watch` run (see the module docstring)."""

    def __init__(
        self,
        config: UpConfig,
        settings: WatchSettings,
        sock: socket.socket,
        cache_dir: Path | None,
        environ: Mapping[str, str],
        out: TextIO,
        err: TextIO,
        extras: trace_ui.TelemetryExtras | None = None,
    ) -> None:
        self._config = config
        self._extras = extras or trace_ui.TelemetryExtras()
        self._settings = settings
        self._sock = sock
        self._cache_dir = cache_dir
        self._env = build_environment(environ)
        self._out = out
        self._err = err
        self.live = LiveApp()
        self.drain = Drain(config.shutdown_delay)
        self._app: App | None = None
        """The last manifest version that parsed (what is watched)."""
        self._plan: WatchPlan | None = None
        self._changes: asyncio.Queue[set[str]] = asyncio.Queue()
        self._restart_watcher = asyncio.Event()
        self._first: asyncio.Future[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._telemetry: Telemetry | None = None
        self._generations = 0

    # -- the lifecycle hooks ------------------------------------------------------------------

    async def web_app(self) -> web.Application:
        """The aiohttp app around `LiveApp` (built before anything is loaded); starts watching
        and the first cycle."""
        self._first = asyncio.get_running_loop().create_future()
        name = self._config.manifest_path.parent.name
        try:
            self._adopt(self._load_manifest())
            name = self._app.name if self._app is not None else name
        except SpinPyError as error:
            self._report(error)
        self._telemetry = configure_telemetry(self._config, name, self._extras)
        self._tasks = [
            asyncio.create_task(self._watch_files(), name="spin-py-watch-files"),
            asyncio.create_task(self._process(), name="spin-py-watch-cycles"),
        ]
        web_app = serving_web_app(self.live.handle, self.live, self._telemetry, self.drain)
        web_app.on_cleanup.insert(0, self._stop_tasks)
        if self._extras.setup_app is not None:  # --trace-ui: the UI serves beside the app
            self._extras.setup_app(web_app)
        return web_app

    async def first_load(self) -> None:
        """Returns once the first generation serves; then the socket listens."""
        assert self._first is not None
        await self._first
        start_listening(self._sock)

    def print_listing(self) -> None:
        """The startup listing of the current generation (also after a manifest reload)."""
        generation = self.live.current
        if generation is None:
            return
        base_url = bound_url(self._sock, scheme(self._config))
        listing = render_listing(base_url, generation.router, self._config.output_format)
        self._write(self._out, listing)

    def shutdown_telemetry(self) -> None:
        if self._telemetry is not None:
            self._telemetry.shutdown(TELEMETRY_SHUTDOWN_S)

    async def _stop_tasks(self, _: web.Application) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # -- watching -----------------------------------------------------------------------------

    async def _watch_files(self) -> None:
        """Feed batches of relevant changed paths to `_process`; restarted when the watched
        directories change (a manifest reload)."""
        while True:
            roots = self._roots()
            self._restart_watcher.clear()
            log.debug("watching %s", ", ".join(map(str, roots)))
            async for batch in watchfiles.awatch(
                *roots,
                watch_filter=self._wanted,
                step=max(1, self._settings.debounce_ms),
                debounce=max(1600, self._settings.debounce_ms),
                stop_event=self._restart_watcher,
                ignore_permission_denied=True,
            ):
                self._changes.put_nowait({path for _, path in batch})

    def _roots(self) -> list[Path]:
        if self._plan is not None:
            return self._plan.roots()
        return [self._config.manifest_path.parent]

    def _wanted(self, _: watchfiles.Change, path: str) -> bool:
        if path.endswith(IGNORED_NAMES) or os.path.basename(path).startswith(".#"):
            return False
        if os.path.normpath(path) == str(self._config.manifest_path):
            return True
        return self._plan is not None and self._plan.wants(path)

    async def _process(self) -> None:
        await self._guarded_cycle(None)
        while True:
            paths = await self._changes.get()
            await asyncio.sleep(0)  # let a burst of batches queue up
            while not self._changes.empty():
                paths |= self._changes.get_nowait()
            await self._guarded_cycle(paths)

    async def _guarded_cycle(self, paths: set[str] | None) -> None:
        try:
            await self._cycle(paths)
        except SpinPyError as error:
            self._report(error)
        except Exception:
            log.exception("spin-py watch: unexpected error; still serving the previous version")

    # -- one cycle ----------------------------------------------------------------------------

    async def _cycle(self, paths: set[str] | None) -> None:
        """One cycle: `paths` changed (None: the start, the manifest already read)."""
        started = time.monotonic()
        if paths is None:
            if self._app is None:
                return  # the manifest is broken: reported; waiting for a change
            changes = Changes(manifest=False)
            rebuild = _build_changed(None, self._app)
        else:
            plan = self._plan or WatchPlan(self._config.manifest_path, {})
            changes = plan.classify(paths)
            if not changes.any:
                return
            rebuild = set(changes.rebuild)
            building = rebuild and not self._settings.skip_build
            if changes.manifest or changes.files or building:
                manifest_path = {str(self._config.manifest_path)} if changes.manifest else set()
                inputs = changes.build_inputs if building else frozenset()
                self._announce(manifest_path | inputs | changes.files)
                paths = set()
            else:
                paths = set(changes.sources)
            if changes.manifest or self._app is None:
                new_app = self._load_manifest()
                rebuild |= _build_changed(self._app, new_app)
                self._adopt(new_app)
        app = self._app
        assert app is not None
        if self._settings.skip_build:
            rebuild.clear()
        build_s = await self._build(app, rebuild)
        fingerprint = _fingerprint(app)
        current = self.live.current
        if (
            current is not None
            and not changes.manifest
            and not changes.files
            and fingerprint == current.fingerprint
        ):
            return  # e.g. the build output of a cycle that already loaded it
        if paths:
            self._announce(paths)
        load_started = time.monotonic()
        generation = await self._load(app, fingerprint)
        self.live.swap(generation)
        if self._first is not None and not self._first.done():
            self._first.set_result(None)  # `first_load` returns: listen, print the listing
            return
        self._say(
            f"Reloaded in {time.monotonic() - started:.1f}s ("
            + (f"build {build_s:.1f}s, " if rebuild else "")
            + f"load {time.monotonic() - load_started:.1f}s); serving the new version"
        )
        if changes.manifest:
            self.print_listing()

    def _announce(self, paths: set[str]) -> None:
        if self._settings.clear:
            self._write(self._out, "\x1b[2J\x1b[H")
        self._say(f"Changed: {_describe(paths, self._config.manifest_path.parent)}")

    def _load_manifest(self) -> App:
        app = manifest.load(self._config.manifest_path)
        return retain_components(app, self._config.component_ids)

    def _adopt(self, app: App) -> None:
        """Watch what `app` (a newly read manifest) names."""
        first = self._plan is None
        old_roots = self._roots()
        self._app = app
        self._plan = WatchPlan.of(app)
        if first and not self._settings.skip_build:
            for cid in self._plan.unwatched:
                self._say(
                    f'Component "{cid}" has no `watch` globs in its [component.{cid}.build] '
                    "section: changes to its sources will not rebuild it"
                )
        if self._plan.roots() != old_roots:
            self._restart_watcher.set()

    async def _build(self, app: App, component_ids: set[str]) -> float:
        started = time.monotonic()
        for cid, component in app.components.items():
            if cid in component_ids and component.build is not None:
                await asyncio.to_thread(
                    build_component, app, component, env=self._env, out=self._out
                )
        return time.monotonic() - started

    async def _load(self, app: App, fingerprint: object) -> Generation:
        first = self._generations == 0
        resolved = await asyncio.to_thread(self._prepare, app, first)
        handler = await _completed(
            asyncio.to_thread(
                build_handler, resolved, self._config, self._cache_dir, OutboundClient()
            )
        )
        origin = SelfOrigin.from_sockname(scheme(self._config), self._sock.getsockname())
        handler.set_self_origin(origin)
        self._generations += 1
        router = Router.build(resolved.triggers)
        return Generation(self._generations, resolved, router, handler, fingerprint, self.drain)

    def _prepare(self, app: App, first: bool) -> App:
        """In a thread: remote sources; the once-per-session platform startup."""
        root = self._config.cache_root
        resolved = app if root is None else resolve_remote_sources(app, root, report_to_stderr)
        if first:
            prepare_platform(resolved, self._config)
        return resolved

    # -- output -------------------------------------------------------------------------------

    def _report(self, error: SpinPyError) -> None:
        still = (
            "still serving the previous version"
            if self.live.current is not None
            else "not serving yet"
        )
        self._write(self._err, f"Error: {error}\n")
        self._say(f"spin-py watch: {still}; waiting for changes")

    def _say(self, line: str) -> None:
        self._write(self._out, line + "\n")

    @staticmethod
    def _write(stream: TextIO, text: str) -> None:
        stream.write(text)
        stream.flush()


async def _completed(
    load: Coroutine[object, object, WasmComponentHandler],
) -> WasmComponentHandler:
    """Await a handler being built in a thread; if cancelled meanwhile (a stop signal), wait
    for the thread and close what it built, so no worker thread outlives the session."""
    task = asyncio.ensure_future(load)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            handler = await task
            await handler.aclose()
        raise


def _build_changed(old: App | None, new: App) -> set[str]:
    """Components of `new` whose build section is new or different (all, at the start)."""
    return {
        cid
        for cid, component in new.components.items()
        if component.build is not None
        and (
            old is None or cid not in old.components or old.components[cid].build != component.build
        )
    }


def _fingerprint(app: App) -> tuple[object, ...]:
    """What the app is loaded from: the manifest's bytes, each local source's size and mtime."""
    try:
        manifest_hash = hashlib.sha256(app.manifest_path.read_bytes()).hexdigest()
    except OSError:
        manifest_hash = ""
    sources: list[tuple[object, ...]] = []
    for cid, component in sorted(app.components.items()):
        if isinstance(component.source, RemoteSource):
            sources.append((cid, component.source.url, component.source.digest))
            continue
        path = app.base_dir / component.source
        try:
            st = path.stat()
            sources.append((cid, str(path), st.st_size, st.st_mtime_ns))
        except OSError:
            sources.append((cid, str(path), -1, -1))
    return (manifest_hash, tuple(sources))


def _describe(paths: set[str], base: Path) -> str:
    shown = sorted(os.path.relpath(p, base) for p in paths)
    return ", ".join(shown[:3]) + (f" and {len(shown) - 3} more" if len(shown) > 3 else "")
