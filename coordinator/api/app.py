"""``create_app(settings)``: the coordinator's HTTP service.

One app, served on two listeners by ``harmonia-coordinator serve``: the admin
listener (plain HTTP, 127.0.0.1 by default) and the site listener (HTTPS,
client certificate required; see :mod:`coordinator.api.tls`). Site routes
need the TLS extension only the site listener sets. The dashboard is served
at ``/ui/`` (:mod:`coordinator.api.routes.ui`). Training runs started through
the API run in the background of the app (:class:`TrainingService`); the
app's shutdown (its lifespan) records a run in progress ``interrupted``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from coordinator.api.errors import install_error_handlers
from coordinator.api.metrics import install_observability
from coordinator.api.routes import (
    auth,
    dashboard,
    enroll,
    guideline_drafts,
    guidelines,
    harmonization,
    health,
    models,
    site,
    site_calibration,
    site_health,
    site_models,
    sites,
    training,
    ui,
)
from coordinator.runtime import CoordinatorRuntime, open_coordinator
from coordinator.settings import CoordinatorSettings
from coordinator.training.service import TrainingService

__all__ = ["create_app"]


def create_app(
    settings: CoordinatorSettings, *, runtime: CoordinatorRuntime | None = None
) -> FastAPI:
    """Build the coordinator's FastAPI app.

    Parameters
    ----------
    settings
        The coordinator's settings.
    runtime
        An already open runtime to serve (the caller closes it); when omitted,
        the app opens one from ``settings`` at startup and closes it at shutdown.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        if owned:
            app.state.runtime = open_coordinator(settings)
            app.state.training = TrainingService(settings, app.state.runtime.models)
        try:
            yield
        finally:
            await run_in_threadpool(app.state.training.close)  # a run in progress: interrupted
            if owned:
                app.state.runtime.close()

    app = FastAPI(
        title="Harmonia coordinator",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    if runtime is not None:
        app.state.runtime = runtime
        app.state.training = TrainingService(settings, runtime.models)  # starts nothing yet
    install_error_handlers(app)
    install_observability(app, settings)
    app.include_router(health.router)
    app.include_router(sites.router)
    app.include_router(auth.router)
    app.include_router(dashboard.router)
    app.include_router(harmonization.router)  # before guidelines: /guidelines/{name}/diff
    app.include_router(guideline_drafts.router)
    app.include_router(guidelines.router)
    app.include_router(enroll.router)
    app.include_router(site.router)
    app.include_router(site_calibration.router)
    app.include_router(site_models.router)
    app.include_router(models.router)
    app.include_router(training.router)
    app.include_router(site_health.router)
    ui.install_ui(app)
    return app
