"""Errors raised by the consortium coordinator.

One root, :class:`CoordinatorError`, under :class:`shared.errors.HarmoniaError`::

    CoordinatorError
    ├── NotFoundError                   no such site, guideline release or token (404)
    ├── AuthError                       no, unknown, revoked or expired admin token (401)
    │   ├── PermissionDeniedError       a valid token whose role lacks the permission (403)
    │   └── CsrfError                   a dashboard session's change without its CSRF token (403)
    ├── SiteExistsError                 a site name already taken (409)
    ├── EnrollmentError                 an enrollment the coordinator refuses
    │   ├── TokenUnknownError           no such enrollment token (401)
    │   ├── TokenUsedError              the token was already used: it is one-time (409)
    │   ├── TokenExpiredError           the token's validity ran out (410)
    │   ├── TokenSiteMismatchError      the token was issued for another site (403)
    │   └── SiteRevokedError            the site was revoked (403)
    ├── ClientCertificateError          a site-facing call without a valid client certificate
    │   ├── CertificateRequiredError    none presented (401)
    │   └── CertificateRejectedError    presented but untrusted, expired or revoked (403)
    ├── InvalidGuidelineError           a guideline document that breaks the schema (422)
    ├── GuidelineVersionError           a version that does not increase, or is not numeric (409)
    ├── CalibrationSetError             a calibration set that breaks the schema (422)
    │   └── CalibrationSetExistsError   a set id already published: sets are immutable (409)
    ├── CalibrationUploadError          calibration annotations that do not fit their set (422)
    ├── RoundResultExistsError          a statistics round's result stored twice (409)
    └── TrainingRunError                a training run that cannot start (also a ConfigurationError)
        ├── TrainingRequestError        bad rounds, a robust rule with SecAgg+, no clip norm (422)
        ├── SuperLinkUnavailableError   no SuperLink: the coordinator serves without --flower (409)
        └── TrainingRunActiveError      another training run is in progress (409)

Every message says what to do next.
"""

from __future__ import annotations

from shared.errors import ConfigurationError, HarmoniaError

__all__ = [
    "AuthError",
    "CalibrationSetError",
    "CalibrationSetExistsError",
    "CalibrationUploadError",
    "CertificateRejectedError",
    "CertificateRequiredError",
    "ClientCertificateError",
    "CoordinatorError",
    "CsrfError",
    "EnrollmentError",
    "GuidelineVersionError",
    "InvalidGuidelineError",
    "NotFoundError",
    "PermissionDeniedError",
    "RoundResultExistsError",
    "SiteExistsError",
    "SiteRevokedError",
    "SuperLinkUnavailableError",
    "TokenExpiredError",
    "TokenSiteMismatchError",
    "TokenUnknownError",
    "TokenUsedError",
    "TrainingRequestError",
    "TrainingRunActiveError",
    "TrainingRunError",
]


class CoordinatorError(HarmoniaError):
    """Root of every error the coordinator raises deliberately."""


class NotFoundError(CoordinatorError):
    """No such site, guideline release or token."""


class AuthError(CoordinatorError):
    """Admin credentials missing, unknown, revoked or expired."""


class PermissionDeniedError(AuthError):
    """A valid admin token whose role does not grant the permission.

    Parameters
    ----------
    message
        What was refused and who can do it.
    permission
        The permission that was needed.
    """

    def __init__(self, message: str, *, permission: str) -> None:
        super().__init__(message)
        self.permission = permission


class CsrfError(AuthError):
    """A dashboard-session request that changes state without the session's CSRF token."""


class SiteExistsError(CoordinatorError):
    """A site name that is already registered."""


class EnrollmentError(CoordinatorError):
    """An enrollment request the coordinator refuses."""


class TokenUnknownError(EnrollmentError):
    """No enrollment token matches."""


class TokenUsedError(EnrollmentError):
    """The one-time enrollment token was already used."""


class TokenExpiredError(EnrollmentError):
    """The enrollment token expired."""


class TokenSiteMismatchError(EnrollmentError):
    """The enrollment token belongs to another site."""


class SiteRevokedError(EnrollmentError):
    """The site was revoked and can neither enroll nor call the site API."""


class ClientCertificateError(CoordinatorError):
    """A site-facing request without an acceptable client certificate."""


class CertificateRequiredError(ClientCertificateError):
    """No client certificate was presented."""


class CertificateRejectedError(ClientCertificateError):
    """A client certificate that is untrusted, expired, unknown or revoked."""


class InvalidGuidelineError(CoordinatorError):
    """A guideline document that is not valid JSON/YAML or breaks the schema."""


class GuidelineVersionError(CoordinatorError):
    """A release whose version is not numeric or does not increase."""


class CalibrationSetError(CoordinatorError):
    """A calibration set document that breaks the schema or names no published guideline."""


class CalibrationSetExistsError(CalibrationSetError):
    """A calibration set id that is already published (sets are immutable)."""


class CalibrationUploadError(CoordinatorError):
    """Uploaded calibration annotations that do not fit their set or guideline."""


class RoundResultExistsError(CoordinatorError):
    """A statistics round whose result is already stored (results never change)."""


class TrainingRunError(CoordinatorError, ConfigurationError):
    """A training run that cannot start.

    Also a :class:`~shared.errors.ConfigurationError`: ``round train`` reports
    it as the configuration error it always was (exit code 2); the admin API
    answers its subclass's 4xx.
    """


class TrainingRequestError(TrainingRunError):
    """Run options that cannot work: rounds below 1, a robust rule with SecAgg+, no clip norm."""


class SuperLinkUnavailableError(TrainingRunError):
    """No SuperLink to run on: the coordinator was not started with ``serve --flower``."""


class TrainingRunActiveError(TrainingRunError):
    """Another training run is in progress (one at a time).

    Parameters
    ----------
    message
        Which run and what to do.
    run_id
        The run in progress.
    """

    def __init__(self, message: str, *, run_id: str) -> None:
        super().__init__(message, setting="training")
        self.run_id = run_id
