"""``create_app(settings)``: the node's HTTP service (DICOMweb, admin, health)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from node.api.errors import install_error_handlers
from node.api.metrics import attach_runtime, install_observability
from node.api.routes import (
    admin,
    guidelines,
    health,
    projects,
    qido,
    quality,
    rendered,
    review,
    stow,
    tasks,
    wado,
)
from node.api.routes import alerts as alert_routes
from node.api.routes import assist as assist_routes
from node.api.routes import audit as audit_routes
from node.api.routes import auth as auth_routes
from node.api.routes import egress as egress_routes
from node.api.routes import export as export_routes
from node.api.routes import upgrade as upgrade_routes
from node.api.routes import users as user_routes
from node.api.routes.ui import install_ui
from node.runtime import NodeRuntime, open_node
from node.settings import NodeSettings

__all__ = ["create_app"]


def create_app(settings: NodeSettings, *, runtime: NodeRuntime | None = None) -> FastAPI:
    """Build the node's FastAPI app.

    Parameters
    ----------
    settings
        The node's settings.
    runtime
        An already open runtime to serve (the caller closes it); when omitted,
        the app opens one from ``settings`` at startup and closes it at shutdown.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        app.state.runtime = runtime if runtime is not None else open_node(settings)
        detach = attach_runtime(app, app.state.runtime)
        try:
            yield
        finally:
            detach()
            if owned:
                app.state.runtime.close()

    app = FastAPI(
        title="Harmonia node",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    if runtime is not None:
        app.state.runtime = runtime
    install_error_handlers(app)
    install_observability(app, settings)
    app.include_router(health.router)
    app.include_router(stow.router)
    app.include_router(qido.router)
    app.include_router(wado.router)
    app.include_router(rendered.router)
    app.include_router(admin.router)
    app.include_router(auth_routes.router)
    app.include_router(user_routes.router)
    app.include_router(audit_routes.router)
    app.include_router(egress_routes.router)
    app.include_router(alert_routes.router)
    app.include_router(guidelines.router)
    app.include_router(projects.router)
    app.include_router(tasks.router)
    app.include_router(review.router)
    app.include_router(upgrade_routes.router)
    app.include_router(export_routes.router)
    app.include_router(quality.router)
    app.include_router(assist_routes.router)
    install_ui(app)
    return app
