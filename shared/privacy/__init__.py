"""Privacy building blocks both sides use: exact secure sums of fixed-point statistics.

:mod:`shared.privacy.secure_sum` encodes integers (and fixed-point values) as
base-``2**16`` limbs that Flower's SecAgg+ quantizer carries exactly, so a
securely aggregated sum of counts is the exact sum. :class:`StatisticsLayout`
is the public layout of a statistics round's secure sum (a function of the
guideline version and the fixed diversity bins). Nothing here imports Flower.

Errors: :class:`SecureSumError` (an :class:`~shared.errors.InvalidInputError`).
"""

from shared.privacy.secure_sum import (
    CLIPPING_RANGE,
    COINCIDENCE_SCALE,
    LIMB_BITS,
    LIMBS,
    MAX_ABS_VALUE,
    MAX_PARTIES,
    MODULUS_RANGE,
    QUANTIZATION_RANGE,
    SecureField,
    SecureSumError,
    SecureSumLayout,
    decode_limbs,
    encode_limbs,
)
from shared.privacy.statistics_layout import (
    FLOAT_SCALE,
    HISTOGRAM_FIELDS,
    SUMMED_FIELDS,
    StatisticsLayout,
)

__all__ = [
    "CLIPPING_RANGE",
    "COINCIDENCE_SCALE",
    "FLOAT_SCALE",
    "HISTOGRAM_FIELDS",
    "LIMBS",
    "LIMB_BITS",
    "MAX_ABS_VALUE",
    "MAX_PARTIES",
    "MODULUS_RANGE",
    "QUANTIZATION_RANGE",
    "SUMMED_FIELDS",
    "SecureField",
    "SecureSumError",
    "SecureSumLayout",
    "StatisticsLayout",
    "decode_limbs",
    "encode_limbs",
]
