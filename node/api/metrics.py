"""The node's observability wiring: its own metrics registry, ``/metrics`` and ``/readyz``.

:func:`install_observability` gives each app its own
``prometheus_client.CollectorRegistry`` (tests build many apps in one
process; nothing uses the global default registry), the
:class:`~shared.observability.HttpObservability` middleware (request ids,
request counts and latencies by route template, the access log), the ingest
counters (:class:`~node.observability.IngestMetrics`, attached to the
runtime's ingest service while the app runs), the store-read metrics
(:class:`~node.observability.NodeStoreCollector`) and the readiness probes.

Who may read ``/metrics``: loopback callers, or any caller presenting
``metrics_token`` (:func:`shared.observability.metrics_access`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import Engine

from node.errors import AuthError, InsufficientScopeError
from node.observability import IngestMetrics, NodeStoreCollector, node_readiness
from node.runtime import NodeRuntime
from node.settings import NodeSettings
from shared.observability import (
    HttpMetrics,
    HttpObservability,
    MetricsAccess,
    Readiness,
    metrics_access,
)

__all__ = ["attach_runtime", "install_observability", "readiness_of"]

router = APIRouter(tags=["health"])


def install_observability(app: FastAPI, settings: NodeSettings) -> None:
    """Give ``app`` its registry, request middleware, ``/metrics`` and readiness probes."""
    registry = CollectorRegistry()
    app.state.metrics_registry = registry
    app.state.ingest_metrics = IngestMetrics(registry)
    app.add_middleware(HttpObservability, metrics=HttpMetrics(registry, "harmonia_node"))

    def engine() -> Engine | None:
        runtime = getattr(app.state, "runtime", None)
        return runtime.engine if runtime is not None else None

    registry.register(NodeStoreCollector(engine))
    app.state.readiness = node_readiness(engine, settings.blob_dir)
    app.include_router(router)


def attach_runtime(app: FastAPI, runtime: NodeRuntime) -> Callable[[], None]:
    """Count the runtime's ingest in this app's metrics; returns the detach function."""
    metrics: IngestMetrics = app.state.ingest_metrics
    return runtime.ingest.add_observer(metrics.observe)


def readiness_of(app: FastAPI) -> Readiness:
    """The app's readiness probes (``serve`` adds the SCP's and the SuperNode's)."""
    readiness: Readiness = app.state.readiness
    return readiness


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus metrics (loopback callers, or the metrics token)."""
    settings: NodeSettings = request.app.state.settings
    access = metrics_access(
        request.client.host if request.client else None,
        request.headers.get("authorization"),
        settings.metrics_token,
    )
    if access is MetricsAccess.TOKEN_REQUIRED:
        raise AuthError("present the node's metrics token as 'Authorization: Bearer TOKEN'")
    if access is MetricsAccess.LOOPBACK_ONLY:
        raise InsufficientScopeError(
            "metrics are served to this host only; set HARMONIA_NODE_METRICS_TOKEN to let a "
            "monitoring host scrape them with that bearer token",
            required_scope="metrics",
        )
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """200 when every readiness probe passes, else 503; each probe's result either way."""
    results = readiness_of(request.app).run()
    ready = all(result.ok for result in results)
    body: dict[str, Any] = {
        "status": "ready" if ready else "not ready",
        "checks": [result.to_json() for result in results],
    }
    return JSONResponse(body, status_code=200 if ready else 503)
