"""The consortium: sites, one-time enrollment tokens, the CA and issued certificates.

:class:`SiteService` registers, lists and revokes sites;
:class:`EnrollmentService` turns a token and a CSR into a certificate in one
transaction; :func:`load_or_create_keys` opens (creating on first start) the
CA, the guideline-signing key and the site API's server certificate.
"""

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
from coordinator.consortium.pki import SERVER_SITE_NAME, ConsortiumKeys, load_or_create_keys
from coordinator.consortium.sites import (
    IssuedEnrollmentToken,
    SiteInfo,
    SiteService,
    SiteStatus,
)

__all__ = [
    "SERVER_SITE_NAME",
    "TOKEN_PATTERN",
    "ConsortiumKeys",
    "EnrollmentRequest",
    "EnrollmentResult",
    "EnrollmentService",
    "IssuedEnrollmentToken",
    "SiteInfo",
    "SiteService",
    "SiteStatus",
    "load_or_create_keys",
    "new_token",
    "token_digest",
    "token_site",
]
