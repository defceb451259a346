"""The path to the coordinator: DNS, TCP, the TLS chain both ways, the clock, the Fleet API.

Each check returns a :class:`~node.doctor.result.CheckResult` with a remedy.
The TLS checks use ``httpx`` with the environment's proxy settings, exactly
like the node's site client and Flower's SuperNode, so a proxy that breaks
the real connection breaks the check too.
"""

from __future__ import annotations

import email.utils
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx

from node.consortium import MembershipFiles, site_ssl_context
from node.doctor.result import CheckResult, Problem, failed, ok, warned

__all__ = [
    "CLOCK_FAIL",
    "CLOCK_WARN",
    "Endpoint",
    "clock_check",
    "dns_check",
    "fleet_check",
    "site_api_check",
    "tcp_check",
]

CLOCK_WARN = timedelta(seconds=30)
CLOCK_FAIL = timedelta(minutes=5)
_FIREWALL = (
    "allow outbound TCP from this host to {target} in the hospital firewall (the node only "
    "connects out), and check that the coordinator is running"
)


@dataclass(frozen=True)
class Endpoint:
    """A host and port the node connects to, and what it is for."""

    what: str
    host: str
    port: int

    @classmethod
    def from_url(cls, what: str, url: str) -> Endpoint:
        """From an ``https://host[:port]`` URL."""
        parts = urlsplit(url)
        default = 443 if parts.scheme == "https" else 80
        return cls(what, parts.hostname or "", parts.port or default)

    @classmethod
    def from_address(cls, what: str, address: str) -> Endpoint:
        """From a ``host:port`` address (``[v6]:port`` too)."""
        host, _, port = address.rpartition(":")
        return cls(what, host.strip("[]"), int(port))

    @property
    def target(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"


def dns_check(endpoint: Endpoint) -> CheckResult:
    """The host name resolves."""
    name = f"dns {endpoint.what}"
    try:
        infos = socket.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        return failed(
            name,
            Problem.COORDINATOR_UNREACHABLE,
            f"{endpoint.host} does not resolve: {exc}",
            "check the DNS servers of this host (resolvectl status) and the host name in "
            "DATA_DIR/consortium/enrollment.json; a split-horizon DNS may need an entry for it",
        )
    addresses = sorted({str(info[4][0]) for info in infos})
    return ok(name, f"{endpoint.host} resolves to {', '.join(addresses)}")


def tcp_check(endpoint: Endpoint, proxy: str | None, timeout: float) -> CheckResult:
    """A TCP connection opens to the endpoint (or to the proxy that carries it)."""
    name = f"tcp {endpoint.what}"
    target = Endpoint.from_url("proxy", proxy) if proxy else endpoint
    try:
        with socket.create_connection((target.host, target.port), timeout=timeout):
            pass
    except OSError as exc:
        reason = "timed out (a firewall drops it?)" if isinstance(exc, TimeoutError) else exc
        via = f" (the proxy for {endpoint.target})" if proxy else ""
        return failed(
            name,
            Problem.COORDINATOR_UNREACHABLE,
            f"cannot connect to {target.target}{via}: {reason}",
            _FIREWALL.format(target=target.target),
        )
    via = f" through the proxy {target.target}" if proxy else ""
    return ok(name, f"{endpoint.target} accepts connections{via}")


def _classify_tls(exc: BaseException) -> tuple[str, ssl.SSLError | None]:
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        return "dropped", None  # the handshake passed our side, then the server hung up
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return "server_untrusted", seen
        if isinstance(seen, ssl.SSLError):
            return "refused_us" if "ALERT" in str(seen).upper() else "tls", seen
        seen = seen.__cause__ or seen.__context__
    return "network", None


def site_api_check(
    files: MembershipFiles, site_api_url: str, timeout: float
) -> tuple[CheckResult, datetime | None]:
    """Mutual TLS with the site API: it trusts our certificate, we trust its.

    Returns the result and the coordinator's clock (its ``Date`` header), if it answered.
    """
    name = "tls site api"
    url = f"{site_api_url}/api/v1/site/guidelines"
    try:
        context = site_ssl_context(files)
    except (OSError, ssl.SSLError) as exc:
        return failed(
            name,
            Problem.CERTIFICATE_INVALID,
            f"cannot load the node's certificate and key: {exc}",
            "restore DATA_DIR/consortium from backup, or enroll again with --force",
        ), None
    try:
        with httpx.Client(verify=context, timeout=timeout) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        kind, tls_error = _classify_tls(exc)
        detail = getattr(tls_error, "verify_message", None) or str(tls_error or exc)
        if kind == "server_untrusted":
            return failed(
                name,
                Problem.TLS_UNTRUSTED,
                f"the server at {site_api_url} presented a certificate the pinned consortium CA "
                f"did not issue ({detail})",
                "a TLS-inspecting proxy or firewall sits in the path, or the URL points at "
                "another server: exempt the coordinator from TLS inspection (or add it to "
                "NO_PROXY), and check DATA_DIR/consortium/ca.pem against the consortium's CA",
            ), None
        if kind in ("refused_us", "dropped"):
            how = (
                f"during the TLS handshake ({detail})"
                if kind == "refused_us"
                else "(it closed the connection right after the TLS handshake without answering, "
                "as a server requiring client certificates does with one it does not accept)"
            )
            return failed(
                name,
                Problem.CERTIFICATE_INVALID,
                f"the coordinator refused the node's certificate {how}",
                "the certificate expired, was issued by another CA or was revoked: ask the "
                "consortium coordinator for a new enrollment token and run 'harmonia-node "
                "enroll --force'",
            ), None
        return failed(
            name,
            Problem.COORDINATOR_UNREACHABLE,
            f"no answer from {site_api_url}: {detail}",
            _FIREWALL.format(target=Endpoint.from_url("", site_api_url).target),
        ), None
    clock = _date_of(response)
    if response.status_code == 403:
        detail = _detail(response)
        return failed(
            name,
            Problem.CERTIFICATE_INVALID,
            f"the coordinator refused this site: {detail}",
            "the site was revoked or its certificate is no longer accepted: ask the consortium "
            "coordinator, then enroll again with a new token ('harmonia-node enroll --force')",
        ), clock
    if response.status_code >= 400:
        return failed(
            name,
            Problem.COORDINATOR_UNREACHABLE,
            f"the site API answered {response.status_code}: {_detail(response)}",
            "a proxy or load balancer in front of the coordinator may not pass the site API "
            "through; tell the consortium's operator",
        ), clock
    return ok(name, f"mutual TLS with {site_api_url}: both certificates accepted"), clock


def _date_of(response: httpx.Response) -> datetime | None:
    header = response.headers.get("date")
    if not header:
        return None
    try:
        return email.utils.parsedate_to_datetime(header).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _detail(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    return str(data.get("detail", data)) if isinstance(data, dict) else str(data)[:200]


def clock_check(coordinator_time: datetime | None, now: Callable[[], datetime]) -> CheckResult:
    """The host's clock agrees with the coordinator's (its HTTP ``Date``)."""
    name = "clock"
    if coordinator_time is None:
        return warned(
            name,
            "could not read the coordinator's clock (no answer, or no Date header)",
            "make sure NTP runs on this host (timedatectl status)",
        )
    skew = now() - coordinator_time
    size = abs(skew.total_seconds())
    where = "ahead of" if skew.total_seconds() > 0 else "behind"
    text = f"this host's clock is {size:.0f} s {where} the coordinator's"
    if abs(skew) > CLOCK_FAIL:
        return failed(
            name,
            Problem.CLOCK_SKEW,
            text,
            "certificates and signed requests fail with this skew: enable NTP "
            "(timedatectl set-ntp true) or point the host at the hospital's time server",
        )
    if abs(skew) > CLOCK_WARN:
        return warned(name, text, "enable NTP (timedatectl set-ntp true)")
    return ok(name, f"{text} (within {CLOCK_WARN.seconds} s; the Date header has 1 s resolution)")


def fleet_check(files: MembershipFiles, fleet: Endpoint, timeout: float) -> CheckResult:
    """The Fleet API answers over TLS with the consortium's certificate."""
    name = "fleet api"
    url = f"https://{fleet.target}/v1/fleet/get-run"
    context = ssl.create_default_context(cafile=str(files.ca_bundle))
    try:
        with httpx.Client(verify=context, timeout=timeout) as client:
            response = client.post(url, content=b"")
    except httpx.HTTPError as exc:
        kind, tls_error = _classify_tls(exc)
        if kind == "server_untrusted":
            return failed(
                name,
                Problem.TLS_UNTRUSTED,
                f"the Fleet API at {fleet.target} presented a certificate the pinned CA did not "
                "issue",
                "exempt the Fleet address from TLS inspection (or add it to NO_PROXY)",
            )
        return failed(
            name,
            Problem.COORDINATOR_UNREACHABLE,
            f"the Fleet API at {fleet.target} does not answer: {tls_error or exc}",
            _FIREWALL.format(target=fleet.target),
        )
    if response.status_code == 503:
        return failed(
            name,
            Problem.COORDINATOR_UNREACHABLE,
            f"the Fleet proxy at {fleet.target} answers but its SuperLink is down",
            "tell the consortium's operator: the coordinator's Flower SuperLink is not running",
        )
    if response.status_code == 404:
        return failed(
            name,
            Problem.COORDINATOR_UNREACHABLE,
            f"{fleet.target} answers but serves no Fleet API (404 for /v1/fleet/)",
            "the Fleet address in DATA_DIR/consortium/enrollment.json points at another "
            "service, or a reverse proxy does not route /v1/fleet/: tell the consortium",
        )
    return ok(name, f"the Fleet API at {fleet.target} answers over TLS")
