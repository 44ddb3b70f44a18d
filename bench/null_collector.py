"""An OTLP/HTTP receiver that accepts and discards everything (benchmark W4).

Answers `POST /v1/traces`, `/v1/metrics` and `/v1/logs` with `200` and an empty protobuf
body (an empty `Export*ServiceResponse`: full success), so an exporter pointed at it through
`OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:<port>` pays for encoding and sending but never
sees an error. It counts requests and bytes and prints the totals when stopped; `GET /stats`
returns them as JSON.

    .venv/bin/python bench/null_collector.py --port 4318
"""

from __future__ import annotations

import argparse
import json

from aiohttp import web

STATS = web.AppKey("stats", dict[str, int])


async def export(request: web.Request) -> web.Response:
    """Read and drop one export request."""
    body = await request.read()
    stats = request.app[STATS]
    signal = request.match_info["signal"]
    stats[f"{signal}_requests"] = stats.get(f"{signal}_requests", 0) + 1
    stats[f"{signal}_bytes"] = stats.get(f"{signal}_bytes", 0) + len(body)
    return web.Response(body=b"", content_type="application/x-protobuf")


async def stats(request: web.Request) -> web.Response:
    """What has been received so far."""
    return web.json_response(request.app[STATS])


async def report(app: web.Application) -> None:
    """Print the totals on shutdown."""
    print(json.dumps(app[STATS]), flush=True)


def make_app() -> web.Application:
    """The receiver app with its counters."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STATS] = {}
    app.router.add_post("/v1/{signal:traces|metrics|logs}", export)
    app.router.add_get("/stats", stats)
    app.on_shutdown.append(report)
    return app


def main() -> None:
    """Serve on 127.0.0.1:<port> until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4318)
    args = parser.parse_args()
    web.run_app(make_app(), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
