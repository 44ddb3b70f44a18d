"""The ceiling for a Python front end: aiohttp answering every request with a constant.

Same body and headers as the hello components (`200`, `text/plain; charset=utf-8`,
`Hello from spin-py!`), no routing, no access log, one process.

    .venv/bin/python bench/raw_aiohttp.py --port 8081
"""

from __future__ import annotations

import argparse

from aiohttp import web

BODY = b"Hello from spin-py!"


async def hello(request: web.Request) -> web.Response:
    """Every method and path: the constant greeting."""
    return web.Response(body=BODY, content_type="text/plain", charset="utf-8")


def make_app() -> web.Application:
    """An app whose only route matches everything."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hello)
    return app


def main() -> None:
    """Serve on 127.0.0.1:<port> until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args()
    web.run_app(make_app(), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
