"""The Harmonia consortium coordinator: sites, enrollment, signed guidelines (rounds later).

Entry points: :func:`open_coordinator` (the services of a data directory),
``coordinator.api.create_app`` (the HTTP service) and ``harmonia-coordinator``
(:mod:`coordinator.cli`). The domain packages (``consortium``, ``guidelines``,
``auth``, ``store``) never import FastAPI.
"""

from coordinator.runtime import CoordinatorRuntime, open_coordinator
from coordinator.settings import CoordinatorSettings, DeploymentProfile

__all__ = ["CoordinatorRuntime", "CoordinatorSettings", "DeploymentProfile", "open_coordinator"]
