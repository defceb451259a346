"""The coordinator's observability: store-read metrics and readiness probes.

Nothing here imports FastAPI: :mod:`coordinator.api.metrics` serves them.
See ``docs/observability.md``.
"""

from coordinator.observability.readiness import (
    COORDINATOR_MIGRATIONS,
    certificates_probe,
    coordinator_readiness,
)
from coordinator.observability.store_metrics import CoordinatorStoreCollector

__all__ = [
    "COORDINATOR_MIGRATIONS",
    "CoordinatorStoreCollector",
    "certificates_probe",
    "coordinator_readiness",
]
