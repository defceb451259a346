"""The consortium: sites, one-time enrollment tokens, the CA and issued certificates.

:class:`SiteService` registers, lists and revokes sites; :class:`SiteActivity`
records when each site last called and the versions it reported, and
:func:`site_overview` joins both with the privacy charges of stored rounds;
:class:`EnrollmentService` turns a token and a CSR into a certificate in one
transaction; :func:`load_or_create_keys` opens (creating on first start) the
CA, the guideline-signing key and the site API's server certificate.
"""

from coordinator.consortium.activity import (
    HEALTH_COUNTERS,
    HealthReport,
    SiteActivity,
    SiteActivityInfo,
)
from coordinator.consortium.enrollment import (
    EnrollmentRequest,
    EnrollmentResult,
    EnrollmentService,
)
from coordinator.consortium.enrollment_tokens import (
    TOKEN_PATTERN,
    new_token,
    token_digest,
    token_site,
)
from coordinator.consortium.overview import site_overview
from coordinator.consortium.pki import SERVER_SITE_NAME, ConsortiumKeys, load_or_create_keys
from coordinator.consortium.sites import (
    IssuedEnrollmentToken,
    SiteInfo,
    SiteService,
    SiteStatus,
)

__all__ = [
    "HEALTH_COUNTERS",
    "SERVER_SITE_NAME",
    "TOKEN_PATTERN",
    "ConsortiumKeys",
    "EnrollmentRequest",
    "EnrollmentResult",
    "EnrollmentService",
    "HealthReport",
    "IssuedEnrollmentToken",
    "SiteActivity",
    "SiteActivityInfo",
    "SiteInfo",
    "SiteService",
    "SiteStatus",
    "load_or_create_keys",
    "new_token",
    "site_overview",
    "token_digest",
    "token_site",
]
