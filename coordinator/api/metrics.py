"""The coordinator's observability wiring: its own metrics registry, ``/metrics``, ``/readyz``.

As on the node (:mod:`node.api.metrics`): one ``CollectorRegistry`` per app,
the :class:`~shared.observability.HttpObservability` middleware, the
store-read :class:`~coordinator.observability.CoordinatorStoreCollector`, and
the readiness probes (``serve --flower`` adds the SuperLink's). ``/metrics``
answers loopback callers, or any caller presenting ``metrics_token``; on the
site listener (mTLS) callers are remote, so only the token opens it there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import Engine

from coordinator.errors import AuthError, PermissionDeniedError
from coordinator.observability import CoordinatorStoreCollector, coordinator_readiness
from coordinator.rounds import RoundStore
from coordinator.settings import CoordinatorSettings
from shared.observability import (
    HttpMetrics,
    HttpObservability,
    MetricsAccess,
    Readiness,
    metrics_access,
)

__all__ = ["install_observability", "readiness_of"]

router = APIRouter()


def install_observability(app: FastAPI, settings: CoordinatorSettings) -> None:
    """Give ``app`` its registry, request middleware, ``/metrics`` and readiness probes."""
    registry = CollectorRegistry()
    app.state.metrics_registry = registry
    app.add_middleware(HttpObservability, metrics=HttpMetrics(registry, "harmonia_coordinator"))

    def engine() -> Engine | None:
        runtime = getattr(app.state, "runtime", None)
        return runtime.engine if runtime is not None else None

    def certificates() -> list[Path]:
        runtime = getattr(app.state, "runtime", None)
        if runtime is None:
            return []
        return [runtime.keys.ca_certificate_path, runtime.keys.server_certificate_path]

    registry.register(CoordinatorStoreCollector(engine, RoundStore(settings.data_dir)))
    app.state.readiness = coordinator_readiness(engine, certificates)
    app.include_router(router)


def readiness_of(app: FastAPI) -> Readiness:
    """The app's readiness probes (``serve --flower`` adds the SuperLink's)."""
    readiness: Readiness = app.state.readiness
    return readiness


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus metrics (loopback callers, or the metrics token)."""
    settings: CoordinatorSettings = request.app.state.settings
    access = metrics_access(
        request.client.host if request.client else None,
        request.headers.get("authorization"),
        settings.metrics_token,
    )
    if access is MetricsAccess.TOKEN_REQUIRED:
        raise AuthError("present the coordinator's metrics token as 'Authorization: Bearer TOKEN'")
    if access is MetricsAccess.LOOPBACK_ONLY:
        raise PermissionDeniedError(
            "metrics are served to this host only; set HARMONIA_COORDINATOR_METRICS_TOKEN to let "
            "a monitoring host scrape them with that bearer token",
            permission="metrics",
        )
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> JSONResponse:
    """200 when every readiness probe passes, else 503; each probe's result either way."""
    results = readiness_of(request.app).run()
    ready = all(result.ok for result in results)
    body: dict[str, Any] = {
        "status": "ready" if ready else "not ready",
        "checks": [result.to_json() for result in results],
    }
    return JSONResponse(body, status_code=200 if ready else 503)
