"""Errors of calibration sets: a malformed set, or an image that may carry patient data."""

from __future__ import annotations

from shared.errors import InvalidInputError

__all__ = ["CalibrationDataError", "CalibrationError", "CalibrationSpecError"]


class CalibrationError(InvalidInputError):
    """Root of the calibration errors.

    ::

        CalibrationError
        ├── CalibrationSpecError   a calibration set document that breaks the schema
        └── CalibrationDataError   an image that is neither a phantom nor cleanly de-identified
    """


class CalibrationSpecError(CalibrationError):
    """A calibration set document that cannot be used; the message names the field."""


class CalibrationDataError(CalibrationError):
    """An image refused as a calibration case: it might carry patient data."""
