"""The node's observability: metrics from ingest and from the store, and readiness probes.

Nothing here imports FastAPI: :mod:`node.api.metrics` serves what these
modules collect, and ``/readyz`` runs :func:`node_readiness`'s probes plus
the ones ``serve`` adds for the C-STORE SCP and the SuperNode. See
``docs/observability.md``.
"""

from node.observability.ingest_metrics import INGEST_PATHS, IngestMetrics, ingest_path
from node.observability.readiness import (
    NODE_MIGRATIONS,
    listening_probe,
    node_readiness,
    process_probe,
)
from node.observability.store_metrics import NodeStoreCollector

__all__ = [
    "INGEST_PATHS",
    "NODE_MIGRATIONS",
    "IngestMetrics",
    "NodeStoreCollector",
    "ingest_path",
    "listening_probe",
    "node_readiness",
    "process_probe",
]
