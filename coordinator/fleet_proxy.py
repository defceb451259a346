"""The Fleet proxy: the only way from the network to the SuperLink.

flwr 1.41's SuperLink serves its Fleet, Control and ServerAppIo APIs on one
HTTP port, and its Control API is unauthenticated. The SuperLink therefore
listens on 127.0.0.1 only, and this small HTTPS server (the coordinator's
certificate, on ``fleet_host:fleet_port``) forwards ``POST /v1/fleet/*`` to it,
byte for byte with the SuperNode's signed authentication headers, and answers
404 to every other path: a node can never reach ``/v1/control/*`` or the
runtime API. The upstream connection verifies the SuperLink's certificate
against the consortium CA.

Request headers other than hop-by-hop ones, ``Content-Type`` included, reach
the SuperLink as the SuperNode sent them: the SuperLink answers 415 to a
request without ``Content-Type: application/protobuf`` (what a Flower
SuperNode always sends), so a 415 in its log means the sender left it out.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

__all__ = ["FLEET_PREFIX", "create_fleet_proxy"]

FLEET_PREFIX = "/v1/fleet/"

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-encoding",
    }
)


def create_fleet_proxy(
    upstream: str,
    *,
    ca_certificate: Path,
    timeout_s: float = 120,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """An ASGI app forwarding the Fleet API to ``upstream`` (``https://127.0.0.1:PORT``).

    ``transport`` replaces the network connection to ``upstream`` (tests use
    ``httpx.MockTransport``).
    """
    context = ssl.create_default_context(cafile=str(ca_certificate))
    client = httpx.AsyncClient(
        base_url=upstream, verify=context, timeout=timeout_s, transport=transport
    )

    async def forward(request: Request) -> Response:
        path = request.url.path
        if request.method != "POST" or not path.startswith(FLEET_PREFIX) or ".." in path:
            return PlainTextResponse("not found: only the Fleet API is served here\n", 404)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        try:
            upstream_response = await client.post(
                path, content=await request.body(), headers=headers
            )
        except httpx.HTTPError:
            return PlainTextResponse("the SuperLink is not reachable; try again\n", 503)
        reply_headers = {
            k: v for k, v in upstream_response.headers.items() if k.lower() not in _HOP_BY_HOP
        }
        return Response(
            upstream_response.content,
            status_code=upstream_response.status_code,
            headers=reply_headers,
        )

    return Starlette(
        routes=[Route("/{path:path}", forward, methods=["GET", "POST", "PUT", "DELETE"])]
    )
