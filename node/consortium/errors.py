"""Errors of the node's consortium membership (enrollment, guideline sync).

::

    NodeError
    ├── ConsortiumError                 enrollment state or a consortium exchange went wrong
    │   ├── AlreadyEnrolledError        an enrollment exists; pass --force to replace it
    │   ├── NotEnrolledError            no (or an incomplete) enrollment in the data directory
    │   ├── EnrollmentResponseError     the coordinator's answer does not fit our keys or pin
    │   ├── GuidelineReleaseRefusedError  a release failed verification: nothing of it was loaded
    │   └── CalibrationRefusedError     a calibration set or its images failed a check
    └── RemoteSourceError
        └── CoordinatorRefusedError     the coordinator was unreachable or answered 4xx/5xx
"""

from __future__ import annotations

from node.errors import NodeError, RemoteSourceError

__all__ = [
    "AlreadyEnrolledError",
    "CalibrationRefusedError",
    "ConsortiumError",
    "CoordinatorRefusedError",
    "EnrollmentResponseError",
    "GuidelineReleaseRefusedError",
    "NotEnrolledError",
]


class ConsortiumError(NodeError):
    """Root of the node's consortium errors."""


class AlreadyEnrolledError(ConsortiumError):
    """The data directory already holds an enrollment."""


class NotEnrolledError(ConsortiumError):
    """The data directory holds no complete enrollment."""


class EnrollmentResponseError(ConsortiumError):
    """The coordinator's enrollment answer cannot be trusted or used."""


class CalibrationRefusedError(ConsortiumError):
    """A calibration set that failed verification, or an image refused as calibration data."""


class GuidelineReleaseRefusedError(ConsortiumError):
    """A guideline release that failed verification.

    Parameters
    ----------
    message
        What failed and what to do.
    name, version
        The release.
    """

    def __init__(self, message: str, *, name: str, version: str) -> None:
        super().__init__(message)
        self.name = name
        self.version = version


class CoordinatorRefusedError(RemoteSourceError):
    """The coordinator could not be reached, or refused the request."""
