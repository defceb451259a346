"""An HTTP client for the coordinator's site API: mutual TLS with the node's certificate.

The server must present a certificate issued by the pinned consortium CA for
the host in the coordinator URL; the node presents its own certificate and key.
"""

from __future__ import annotations

import ssl

import httpx

from node.consortium.membership import MembershipFiles

__all__ = ["site_client", "site_ssl_context"]


def site_ssl_context(files: MembershipFiles) -> ssl.SSLContext:
    """A TLS context trusting only the pinned CA and presenting the node's certificate."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(files.ca_bundle))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=str(files.certificate), keyfile=str(files.tls_key))
    return context


def site_client(files: MembershipFiles, *, timeout: float = 30) -> httpx.Client:
    """An :class:`httpx.Client` for the site API at the enrollment's coordinator URL."""
    membership = files.membership()
    return httpx.Client(
        base_url=membership.coordinator_url,
        verify=site_ssl_context(files),
        timeout=timeout,
    )
