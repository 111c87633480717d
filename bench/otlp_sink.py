"""A local OTLP/HTTP sink for the `gateway-otel` bench target: accepts and discards everything.

It answers every POST (`/v1/traces`, `/v1/metrics`) with an empty 200, so the gateway pays the
full export cost (batching, protobuf encoding, HTTP) while the sink does next to nothing.
"""

from __future__ import annotations

import argparse

from aiohttp import web


async def _accept(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(status=200, content_type="application/x-protobuf")


def main() -> None:
    """Serve on 127.0.0.1:`--port` until killed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/{tail:.*}", _accept)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
