"""HTTP observability for both services: request ids, request metrics, the access log.

:class:`HttpObservability` is a plain ASGI middleware (no web framework
imported here). For each HTTP request it

* takes the caller's ``X-Request-ID`` when it is a short token, or makes one,
  sets :data:`~shared.observability.logs.request_id` for the request's log
  records and returns it in the ``X-Request-ID`` response header;
* counts the request and times it in :class:`HttpMetrics`, labelled by the
  **route template** (``/dicom-web/studies/{study}``), never the concrete
  path, so labels stay few and no identifier becomes a label;
* writes one access-log record (logger ``harmonia.access``): method, route
  template, status, duration. Query strings and headers are never logged:
  QIDO-RS queries may carry patient attributes, headers carry tokens.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from shared.observability.logs import request_id

__all__ = ["UNMATCHED_ROUTE", "HttpMetrics", "HttpObservability", "route_template"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNMATCHED_ROUTE = "unmatched"
"""The route label of requests no route matched (404s of unknown paths)."""

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_access = logging.getLogger("harmonia.access")


class HttpMetrics:
    """Request counts and latencies by method, route template and status.

    Parameters
    ----------
    registry
        The app's own registry (never the process-global default one).
    namespace
        Metric name prefix: ``harmonia_node`` or ``harmonia_coordinator``.
    """

    def __init__(self, registry: CollectorRegistry, namespace: str) -> None:
        self.requests = Counter(
            f"{namespace}_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            f"{namespace}_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Record one answered request."""
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(method, route).observe(seconds)


def route_template(scope: Scope) -> str:
    """The template of the route that served ``scope`` (after the app has run)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    if scope.get("endpoint") is not None:  # a mounted app (static files)
        return f"{scope.get('root_path', '')}/{{path}}"
    return UNMATCHED_ROUTE


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _REQUEST_ID.fullmatch(text) else None
    return None


class HttpObservability:
    """ASGI middleware: request id, :class:`HttpMetrics` and the access log.

    Parameters
    ----------
    app
        The wrapped ASGI app.
    metrics
        Where requests are counted and timed.
    """

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_request_id(scope) or uuid.uuid4().hex
        context = request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [*message.get("headers", []), (b"x-request-id", rid.encode("ascii"))]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            method = str(scope.get("method", ""))
            self.metrics.observe(method, route, status, elapsed)
            _access.info(
                "%s %s %d %.1f ms",
                method,
                route,
                status,
                elapsed * 1000,
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )
            request_id.reset(context)
