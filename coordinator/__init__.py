"""The Harmonia consortium coordinator: sites, enrollment, signed guidelines (rounds later).

Entry points: :func:`open_coordinator` (the services of a data directory),
``coordinator.api.create_app`` (the HTTP service) and ``harmonia-coordinator``
(:mod:`coordinator.cli`). The domain packages (``consortium``, ``guidelines``,
``auth``, ``store``) never import FastAPI.

The exports are imported on first use: :mod:`coordinator.runtime` pulls in the
whole service stack, which a light submodule (``coordinator.exit_codes``, the
command line's parser) must not pay for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from coordinator.runtime import CoordinatorRuntime, open_coordinator
    from coordinator.settings import CoordinatorSettings, DeploymentProfile

__all__ = ["CoordinatorRuntime", "CoordinatorSettings", "DeploymentProfile", "open_coordinator"]

_MODULE_OF = {
    "CoordinatorRuntime": "coordinator.runtime",
    "CoordinatorSettings": "coordinator.settings",
    "DeploymentProfile": "coordinator.settings",
    "open_coordinator": "coordinator.runtime",
}


__getattr__ = lazy_exports(__name__, _MODULE_OF, globals())
