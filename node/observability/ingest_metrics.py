"""Ingest counters and latencies, fed by :meth:`IngestService.add_observer`.

Each instance the serving process receives (STOW-RS, C-STORE, and any import
or pull it runs) is counted by ingest path and outcome, and its time from
bytes to stored row is observed in a histogram. Imports and pulls run by the
command line in their own process are not seen here; the store-read
:class:`~node.observability.store_metrics.NodeStoreCollector` counts what they
stored.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from node.dicom.ingest import IngestOutcome, IngestStatus

__all__ = ["INGEST_PATHS", "IngestMetrics", "ingest_path"]

INGEST_PATHS: dict[str, str] = {
    "stow": "stow",
    "dimse": "cstore",
    "import": "import",
    "pull": "pull",
    "calibration": "calibration",
}
"""Source prefix (``stow:...``, ``dimse:AE``...) → the ``path`` label."""


def ingest_path(source: str) -> str:
    """The ``path`` label of an instance's source (never the rest of the source)."""
    return INGEST_PATHS.get(source.partition(":")[0], "other")


class IngestMetrics:
    """``harmonia_node_ingest_instances_total`` and ``harmonia_node_ingest_duration_seconds``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.instances = Counter(
            "harmonia_node_ingest_instances",
            "Instances received by this process, by ingest path (stow, cstore, import, pull, "
            "calibration) and outcome (stored, quarantined, duplicate, rejected).",
            ["path", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            "harmonia_node_ingest_duration_seconds",
            "Time from received bytes to stored instance (parse, de-identify, store), by path.",
            ["path"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        for path in INGEST_PATHS.values():
            for outcome in ("stored", "quarantined", "duplicate", "rejected"):
                self.instances.labels(path, outcome)

    def observe(self, source: str, outcome: IngestOutcome, seconds: float) -> None:
        """An :data:`~node.dicom.ingest.IngestObserver`."""
        path = ingest_path(source)
        if outcome.status is IngestStatus.STORED and outcome.quarantined:
            label = "quarantined"
        else:
            label = str(outcome.status)
        self.instances.labels(path, label).inc()
        self.duration.labels(path).observe(seconds)
