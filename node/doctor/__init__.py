"""``harmonia-node doctor``: find what stands between this node and working, and say the fix.

Certificates and connectivity are the top pain point hospitals report, so the
doctor walks the path to the coordinator step by step (DNS, TCP, proxy, the
TLS chain both ways, certificate validity and expiry, clock skew, the Fleet
API) and then the node's own state (disk space, database integrity and
schema, the egress ledger's and the audit log's hash chains, the privacy
budget left), whether its learning service answers (and if not, the error
its log names) and the PACS peers it is given. Each check is read-only and
returns a :class:`CheckResult` with a remedy; :func:`run_doctor` collects
them into a :class:`DoctorReport`, whose first failure's :class:`Problem`
becomes the command's exit code.

Nothing here imports FastAPI; the command is :mod:`node.commands.doctor`.
"""

from node.doctor.certificate import EXPIRY_WARNING, certificate_check
from node.doctor.learning import last_error, learning_check
from node.doctor.network import (
    CLOCK_FAIL,
    CLOCK_WARN,
    Endpoint,
    clock_check,
    dns_check,
    fleet_check,
    site_api_check,
    tcp_check,
)
from node.doctor.pacs import dicomweb_check, dimse_echo_check, parse_dimse_peer
from node.doctor.proxy import proxy_check, proxy_for
from node.doctor.result import CheckResult, DoctorReport, Problem, Status
from node.doctor.runner import DoctorOptions, run_doctor
from node.doctor.storage import (
    MIN_FREE_BYTES,
    audit_check,
    budget_check,
    database_check,
    disk_check,
    ledger_check,
)

__all__ = [
    "CLOCK_FAIL",
    "CLOCK_WARN",
    "EXPIRY_WARNING",
    "MIN_FREE_BYTES",
    "CheckResult",
    "DoctorOptions",
    "DoctorReport",
    "Endpoint",
    "Problem",
    "Status",
    "audit_check",
    "budget_check",
    "certificate_check",
    "clock_check",
    "database_check",
    "dicomweb_check",
    "dimse_echo_check",
    "disk_check",
    "dns_check",
    "fleet_check",
    "last_error",
    "learning_check",
    "ledger_check",
    "parse_dimse_peer",
    "proxy_check",
    "proxy_for",
    "run_doctor",
    "site_api_check",
    "tcp_check",
]
