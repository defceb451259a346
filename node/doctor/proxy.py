"""Which proxy, if any, the node's connections to a host use.

The node's HTTP clients and Flower's SuperNode (flwr 1.41 speaks protobuf over
HTTPS through ``httpx``) read the same environment: ``HTTPS_PROXY`` /
``https_proxy`` / ``ALL_PROXY`` and ``NO_PROXY``. So one answer holds for the
site API and for the Fleet API.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from node.doctor.result import CheckResult, ok, warned

__all__ = ["proxy_check", "proxy_for"]


def proxy_for(host: str, environ: Mapping[str, str]) -> str | None:
    """The proxy URL an HTTPS connection to ``host`` goes through (None: direct)."""
    names = {k.lower(): v for k, v in environ.items() if v}
    proxy = names.get("https_proxy") or names.get("all_proxy")
    if not proxy:
        return None
    bypass = names.get("no_proxy", "")
    if bypass == "*":
        return None
    for entry in (e.strip().lower() for e in bypass.split(",")):
        entry = entry.lstrip(".").split(":")[0]
        if entry and (host.lower() == entry or host.lower().endswith("." + entry)):
            return None
    return proxy


def proxy_check(hosts: list[str], environ: Mapping[str, str]) -> CheckResult:
    """Report the proxy each coordinator host is reached through."""
    routes = {host: proxy_for(host, environ) for host in hosts}
    proxied = {host: proxy for host, proxy in routes.items() if proxy}
    if not proxied:
        return ok("proxy", f"direct connections to {', '.join(hosts)} (no proxy applies)")
    where = "; ".join(f"{h} via {_redact(p)}" for h, p in proxied.items())
    return warned(
        "proxy",
        f"connections go through a proxy: {where}",
        "the proxy must allow CONNECT to these host:ports and must not inspect TLS (the node "
        "authenticates with its own certificate, which TLS inspection breaks); otherwise add "
        "the hosts to NO_PROXY in the node's environment file",
    )


def _redact(proxy: str) -> str:
    parts = urlsplit(proxy)
    if parts.username or parts.password:
        return proxy.replace(parts.netloc, parts.netloc.rsplit("@", 1)[-1])
    return proxy
