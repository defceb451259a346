"""The root of every error Harmonia raises on purpose.

Each role package hangs its own tree below :class:`HarmoniaError`, so a caller
can catch one specific failure, a whole family, or anything Harmonia meant to
raise, and nothing else::

    HarmoniaError
    ├── ConfigurationError          settings that cannot work, or are unsafe
    ├── InvalidInputError           data that breaks a documented rule
    │   └── PhantomSpecError        a phantom request that cannot be built
    ├── node.errors.NodeError       everything the hospital node raises
    ├── shared.agreement.errors.AgreementError   agreement metrics and their statistics
    ├── shared.consensus.errors.ConsensusError   majority vote, STAPLE, disagreement
    ├── shared.crypto.errors.CryptoError         keys, canonical JSON, signatures, certificates
    ├── shared.formats.errors.FormatError        RLE, polygons, DICOM SEG/SR, NIfTI, COCO
    └── coordinator.errors.CoordinatorError      sites, enrollment, admin auth, guideline releases

Every error carries the context a user needs and a message that says what to
do next.
"""

from __future__ import annotations

__all__ = ["ConfigurationError", "HarmoniaError", "InvalidInputError", "PhantomSpecError"]


class HarmoniaError(Exception):
    """Base class of every error Harmonia raises deliberately."""


class ConfigurationError(HarmoniaError):
    """A setting is missing, contradictory or unsafe for the chosen profile."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class InvalidInputError(HarmoniaError, ValueError):
    """Input data breaks a documented rule; the message names the rule."""


class PhantomSpecError(InvalidInputError):
    """A synthetic phantom was requested with parameters it cannot honour."""
