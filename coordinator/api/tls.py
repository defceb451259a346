"""The site API's mutual TLS: the peer certificate, handed to the app in the ASGI scope.

Uvicorn verifies the client certificate during the handshake
(``ssl_cert_reqs=CERT_REQUIRED`` against the consortium CA), but does not put
it in the request scope. :class:`PeerCertificateH11Protocol` is uvicorn's h11
protocol that, once the TLS handshake is done (asyncio calls
``connection_made`` after it), wraps the app so every request on that
connection carries the ASGI TLS extension,
``scope["extensions"]["tls"]["client_cert_chain"]`` (PEM strings, leaf
first). The plain-HTTP admin listener never sets it, and no header can, so
site routes are unreachable there.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["TLS_EXTENSION", "PeerCertificateH11Protocol", "client_certificate_chain"]

TLS_EXTENSION = "tls"


def client_certificate_chain(scope: Mapping[str, Any]) -> list[str]:
    """The client certificate chain (PEM, leaf first) of a request, or ``[]``."""
    extensions = scope.get("extensions") or {}
    tls = extensions.get(TLS_EXTENSION) or {}
    chain = tls.get("client_cert_chain") or []
    return [str(pem) for pem in chain]


class _WithPeerCertificate:
    def __init__(self, app: Any, chain: list[str]) -> None:
        self.app = app
        self.chain = chain

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            extensions = dict(scope.get("extensions") or {})
            extensions[TLS_EXTENSION] = {"client_cert_chain": list(self.chain)}
            scope = {**scope, "extensions": extensions}
        await self.app(scope, receive, send)


class PeerCertificateH11Protocol(H11Protocol):
    """Uvicorn's h11 protocol, exposing the verified client certificate to the app."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Record the peer's certificate of this connection, then carry on as h11 does."""
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        if isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
            der = ssl_object.getpeercert(binary_form=True)
            if der:
                pem = (
                    x509.load_der_x509_certificate(der)
                    .public_bytes(serialization.Encoding.PEM)
                    .decode("ascii")
                )
                self.app = _WithPeerCertificate(self.app, [pem])
