"""The aiohttp front end: request handling, the component handler, startup and shutdown.

Modules (import them directly; this package imports nothing so that pure modules stay light):

- `up`              `up(config, components=...)`: load, bind, build the app, print the listing,
                    serve (one process, or workers)
- `app`             `create_web_app(...)`: the aiohttp `Application`; `serving_web_app` for watch
- `handler`         the request handler: protocol checks, reserved paths, router, static
                    response or component
- `request_target`  the request line and `Host` a component may see (505, 400)
- `component`       the `ComponentHandler` seam through which component triggers run
- `bridge`          the wasi:http component handler behind that seam (`WasmComponentHandler`)
- `inbound`         the guest's `incoming-request` for an aiohttp request
- `headers`         the spin-* request headers a component sees
- `execution`       one guest call serving one request (HTTP and chained requests)
- `chaining`        `http://<component>.spin.internal/...` served in-process
- `overload`        the 503 with `Retry-After` when every request slot is taken
- `responses`       `make_response` / `make_stream_response`: no header spin-py was not asked for
- `wellknown`       `/.well-known/spin/health` and `/info`
- `static`          `static_response` triggers
- `platform_setup`  the Spin platform APIs' startup (once, then per process)
- `listen`          `bind_listener` / `start_listening`: the one place the socket is bound and
                    listens
- `listing`         the `Serving ...` / `Available Routes:` listing, plain or JSON
- `tls`             the server's `SSLContext` for `--tls-cert` / `--tls-key`
- `connections`     header-read and keep-alive timeouts, connections per worker
- `lifecycle`       run until SIGINT/SIGTERM, then a bounded graceful shutdown
- `drain`           `--shutdown-delay`: health 503 and `Connection: close` before stopping
- `supervisor`      `--workers N`: bind once, fork workers sharing the socket, restart, stop
- `worker`          the forked worker process: its status pipe, watching the supervisor
- `trace_ui`        wiring `--trace-ui` and `--access-log` into `up` (in process, or a sidecar)
"""
