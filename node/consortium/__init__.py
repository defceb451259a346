"""The node's consortium membership: enrollment and signed guideline sync.

:func:`enroll` makes the node's keys locally and exchanges a one-time token and
a CSR for a certificate (through the egress gate); :class:`MembershipFiles`
holds what enrollment pinned under ``DATA_DIR/consortium``;
:func:`sync_guidelines` fetches releases over mutual TLS, verifies each
against the pinned signing key and loads only verified ones;
:class:`GuidelineSyncLoop` does it periodically inside ``serve`` and raises an
alert for a refused release; :class:`HealthReportLoop` sends the node's health
report (versions, uptime, store counters) through the egress gate on a
schedule. No FastAPI here.
"""

from node.consortium.enrollment import ENROLL_PATH, enroll, token_site
from node.consortium.errors import (
    AlreadyEnrolledError,
    CalibrationRefusedError,
    ConsortiumError,
    CoordinatorRefusedError,
    EnrollmentResponseError,
    GuidelineReleaseRefusedError,
    NotEnrolledError,
)
from node.consortium.guideline_sync import (
    GUIDELINES_PATH,
    RELEASE_KIND,
    GuidelineLoader,
    SyncReport,
    sync_guidelines,
    verify_release,
)
from node.consortium.health_report import (
    HEALTH_PATH,
    HealthReportLoop,
    health_payload,
    health_reporter_for,
    send_health_report,
)
from node.consortium.membership import Membership, MembershipFiles, consortium_dir
from node.consortium.site_client import site_client, site_ssl_context
from node.consortium.sync_loop import GuidelineSyncLoop, SyncOutcome, guideline_sync_for

__all__ = [
    "ENROLL_PATH",
    "GUIDELINES_PATH",
    "HEALTH_PATH",
    "RELEASE_KIND",
    "AlreadyEnrolledError",
    "CalibrationRefusedError",
    "ConsortiumError",
    "CoordinatorRefusedError",
    "EnrollmentResponseError",
    "GuidelineLoader",
    "GuidelineReleaseRefusedError",
    "GuidelineSyncLoop",
    "HealthReportLoop",
    "Membership",
    "MembershipFiles",
    "NotEnrolledError",
    "SyncOutcome",
    "SyncReport",
    "consortium_dir",
    "enroll",
    "guideline_sync_for",
    "health_payload",
    "health_reporter_for",
    "send_health_report",
    "site_client",
    "site_ssl_context",
    "sync_guidelines",
    "token_site",
    "verify_release",
]
