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

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    """Import an export from its module on first use (PEP 562)."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'coordinator' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
