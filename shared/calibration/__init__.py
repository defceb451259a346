"""Calibration sets: phantom cases every site annotates, so sites compare on identical images.

The coordinator publishes a :class:`CalibrationSet` (a guideline version and
phantom recipes, :class:`CalibrationCase`) as a signed ``calibration-set``
release (:data:`RELEASE_KIND`). A node verifies it, generates each case with
:func:`generate_case` (identical bytes everywhere; no patient data by
construction), and checks every image with :func:`check_calibration_dataset`,
which refuses anything that is neither such a phantom nor cleanly
de-identified. Annotations of calibration cases are the only per-case
annotations that may leave a node.
"""

from shared.calibration.deid import CalibrationSource, check_calibration_dataset
from shared.calibration.errors import (
    CalibrationDataError,
    CalibrationError,
    CalibrationSpecError,
)
from shared.calibration.spec import (
    CALIBRATION_SITE,
    RELEASE_KIND,
    CalibrationCase,
    CalibrationSet,
    generate_case,
)

__all__ = [
    "CALIBRATION_SITE",
    "RELEASE_KIND",
    "CalibrationCase",
    "CalibrationDataError",
    "CalibrationError",
    "CalibrationSet",
    "CalibrationSource",
    "CalibrationSpecError",
    "check_calibration_dataset",
    "generate_case",
]
