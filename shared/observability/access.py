"""Who may read ``/metrics``: loopback callers, or anyone presenting the metrics token.

Metrics carry no patient data, but they tell an outsider how busy a hospital's
node is and which routes it serves, so neither service publishes them to the
network by default:

* with no metrics token configured, only loopback callers (a Prometheus or
  node-exporter sidecar on the same host) get them;
* with ``metrics_token`` set, every caller must present it as
  ``Authorization: Bearer <token>`` (Prometheus: ``authorization: {credentials: ...}``),
  loopback included, so a monitoring host can scrape over the network.
"""

from __future__ import annotations

import enum
import hmac
import ipaddress

__all__ = ["MetricsAccess", "metrics_access"]


class MetricsAccess(enum.StrEnum):
    """The answer to a ``/metrics`` request."""

    ALLOWED = "allowed"
    TOKEN_REQUIRED = "token_required"  # 401: no token, or the wrong one
    LOOPBACK_ONLY = "loopback_only"  # 403: a remote caller and no token is configured


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def metrics_access(
    client_host: str | None, authorization: str | None, token: str | None
) -> MetricsAccess:
    """Decide a ``/metrics`` request from its peer address and Authorization header."""
    if token:
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            presented.strip().encode(), token.encode()
        ):
            return MetricsAccess.ALLOWED
        return MetricsAccess.TOKEN_REQUIRED
    return MetricsAccess.ALLOWED if _is_loopback(client_host) else MetricsAccess.LOOPBACK_ONLY
