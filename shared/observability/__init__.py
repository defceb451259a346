"""Observability both services share: JSON logs, HTTP metrics, readiness, metrics access.

* :mod:`~shared.observability.logs` — one JSON object per log line with the
  request id; tokens redacted.
* :mod:`~shared.observability.http` — the ASGI middleware that sets the
  request id, counts and times requests by route template, and writes the
  access log.
* :mod:`~shared.observability.readiness` — named readiness probes and the
  probes both services use (database, schema, writable directory).
* :mod:`~shared.observability.access` — who may read ``/metrics``.

Nothing here imports a web framework; each app makes its own
``prometheus_client.CollectorRegistry`` (never the global default one), so a
process may build many apps.
"""

from shared.observability.access import MetricsAccess, metrics_access
from shared.observability.http import (
    UNMATCHED_ROUTE,
    HttpMetrics,
    HttpObservability,
    route_template,
)
from shared.observability.logs import (
    JsonFormatter,
    LogFormat,
    configure_logging,
    redact,
    request_id,
)
from shared.observability.readiness import (
    Probe,
    ProbeResult,
    Readiness,
    database_probe,
    schema_probe,
    schema_revisions,
    writable_probe,
)

__all__ = [
    "UNMATCHED_ROUTE",
    "HttpMetrics",
    "HttpObservability",
    "JsonFormatter",
    "LogFormat",
    "MetricsAccess",
    "Probe",
    "ProbeResult",
    "Readiness",
    "configure_logging",
    "database_probe",
    "metrics_access",
    "redact",
    "request_id",
    "route_template",
    "schema_probe",
    "schema_revisions",
    "writable_probe",
]
