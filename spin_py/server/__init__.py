"""The aiohttp front end: request handling, spin-* headers, startup listing and lifecycle.

Modules (import them directly; this package imports nothing so that pure modules stay light):

- `up`          `up(config, components=...)`: load, bind, build the app, print the listing, serve
- `component`   the `ComponentHandler` seam through which component triggers run
- `app`         `create_web_app(app, router, components)`: the aiohttp `Application`
- `handler`     the request handler: reserved paths, router, static response or component
- `responses`   `make_response` / `make_stream_response`: no header spin-py was not asked for
- `wellknown`   `/.well-known/spin/health` and `/info`
- `static`      `static_response` triggers
- `listen`      `bind_listener` / `start_listening`: the one place the socket is bound and listens
- `listing`     the `Serving ...` / `Available Routes:` listing, plain or JSON
- `lifecycle`   run until SIGINT/SIGTERM, then a bounded graceful shutdown
- `supervisor`  `--workers N`: bind once, fork workers sharing the socket, restart, stop
- `worker`      the forked worker process: its status pipe, watching the supervisor
- `headers`     the spin-* request headers a component sees
"""
