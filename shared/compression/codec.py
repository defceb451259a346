"""Lossy encodings of model-update arrays: fp16 and 8-bit, pure NumPy.

=========  =====================================  =========================================
method     encoded list                           error bound (per element)
=========  =====================================  =========================================
``none``   the float32 arrays                     0
``fp16``   one float16 array per array            ``|x| · 2**-11`` (round to nearest even),
                                                  values above 65504 in magnitude refused
``int8``   per array: int8 values ``q`` (same     ``scale / 2`` with ``scale = max|x| / 127``
           shape), then float32 ``[scale]``       (symmetric, per array, round to nearest);
                                                  with ``rng``: stochastic rounding, unbiased,
                                                  error below ``scale``; ``scale`` is
                                                  at least float32's smallest normal
=========  =====================================  =========================================

:func:`encode_arrays` and :func:`decode_arrays` are inverses up to that
bound; :func:`error_bound` gives the bound of each array before encoding.
Decoded arrays are float32.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from shared.compression.errors import CompressionError
from shared.schemas.training import Compression

__all__ = ["decode_arrays", "encode_arrays", "encoded_bytes", "error_bound"]

_FP16_MAX = float(np.finfo(np.float16).max)
_FP16_EPS = 2.0**-11  # half an ulp at 1.0, relative
_FP16_TINY = float(np.finfo(np.float16).smallest_subnormal)
# An int8 scale below float32's smallest normal would not survive its float32 transport.
_INT8_MIN_SCALE = float(np.finfo(np.float32).tiny)


def _method(method: Compression | str) -> Compression:
    try:
        return Compression(method)
    except ValueError:
        known = ", ".join(c.value for c in Compression)
        raise CompressionError(f"unknown compression {method!r}; use one of {known}") from None


def _int8_scale(value: npt.NDArray[np.float32]) -> float:
    """The scale :func:`encode_arrays` quantizes ``value`` with, exact in float32."""
    peak = float(np.max(np.abs(value))) if value.size else 0.0
    return float(np.float32(max(peak / 127.0, _INT8_MIN_SCALE)))


def _finite(arrays: Sequence[npt.ArrayLike]) -> list[npt.NDArray[np.float32]]:
    out = []
    for index, array in enumerate(arrays):
        value = np.asarray(array, dtype=np.float32)
        if not np.all(np.isfinite(value)):
            raise CompressionError(f"array {index} holds NaN or infinite values; nothing encoded")
        out.append(value)
    return out


def encode_arrays(
    arrays: Sequence[npt.ArrayLike],
    method: Compression | str,
    *,
    rng: np.random.Generator | None = None,
) -> list[npt.NDArray[np.generic]]:
    """Encode ``arrays`` with ``method`` (see the module table).

    Parameters
    ----------
    arrays
        Float arrays (an update or weights).
    method
        ``none``, ``fp16`` or ``int8``.
    rng
        For ``int8``: round stochastically with this generator (unbiased);
        ``None`` rounds to nearest.

    Raises
    ------
    CompressionError
        Unknown method, non-finite values, or fp16 overflow.
    """
    chosen = _method(method)
    values = _finite(arrays)
    if chosen is Compression.NONE:
        return [v.copy() for v in values]
    if chosen is Compression.FP16:
        for index, value in enumerate(values):
            if value.size and float(np.max(np.abs(value))) > _FP16_MAX:
                raise CompressionError(
                    f"array {index} has values beyond float16's range (±{_FP16_MAX:g}); use "
                    "int8 or no compression, or clip the update first"
                )
        return [v.astype(np.float16) for v in values]
    encoded: list[npt.NDArray[np.generic]] = []
    for value in values:
        scale = _int8_scale(value)
        scaled = value.astype(np.float64) / scale
        if rng is None:
            rounded = np.rint(scaled)
        else:
            floor = np.floor(scaled)
            rounded = floor + (rng.random(scaled.shape) < (scaled - floor))
        encoded.append(np.clip(rounded, -127, 127).astype(np.int8))
        encoded.append(np.array([scale], dtype=np.float32))
    return encoded


def decode_arrays(
    encoded: Sequence[npt.ArrayLike], method: Compression | str
) -> list[npt.NDArray[np.float32]]:
    """Undo :func:`encode_arrays`: float32 arrays.

    Raises
    ------
    CompressionError
        When ``encoded`` does not have the layout ``method`` produces.
    """
    chosen = _method(method)
    if chosen is not Compression.INT8:
        out = []
        for index, array in enumerate(encoded):
            value = np.asarray(array)
            wanted = np.float16 if chosen is Compression.FP16 else np.float32
            if value.dtype != wanted:
                raise CompressionError(
                    f"array {index} is {value.dtype}, {chosen.value} arrays are "
                    f"{np.dtype(wanted).name}"
                )
            out.append(value.astype(np.float32))
        return out
    if len(encoded) % 2:
        raise CompressionError("int8 updates come as pairs (values, [scale]); got an odd count")
    decoded = []
    for index in range(0, len(encoded), 2):
        values = np.asarray(encoded[index])
        scale = np.asarray(encoded[index + 1])
        if values.dtype != np.int8 or scale.shape != (1,) or scale.dtype.kind != "f":
            raise CompressionError(
                f"int8 pair {index // 2} must be int8 values and a float [scale]; got "
                f"{values.dtype} and {scale.dtype}{scale.shape}"
            )
        factor = float(scale[0])
        if not (np.isfinite(factor) and factor > 0):
            raise CompressionError(f"int8 pair {index // 2} has an invalid scale")
        decoded.append((values.astype(np.float64) * factor).astype(np.float32))
    return decoded


def error_bound(
    arrays: Sequence[npt.ArrayLike], method: Compression | str, *, stochastic: bool = False
) -> list[npt.NDArray[np.float32]]:
    """Per-element bound on ``|decode(encode(x)) - x|`` for each array."""
    chosen = _method(method)
    values = _finite(arrays)
    if chosen is Compression.NONE:
        return [np.zeros_like(v) for v in values]
    if chosen is Compression.FP16:
        return [(np.abs(v) * _FP16_EPS + _FP16_TINY).astype(np.float32) for v in values]
    bounds = []
    for value in values:
        peak = float(np.max(np.abs(value))) if value.size else 0.0
        scale = _int8_scale(value) if peak > 0 else 0.0
        # float32 decoding adds at most one float32 ulp of the value
        slack = np.abs(value) * np.float32(2.0**-23)
        bounds.append(np.full_like(value, scale if stochastic else scale / 2.0) + slack)
    return bounds


def encoded_bytes(encoded: Sequence[npt.ArrayLike]) -> int:
    """Total bytes of the encoded arrays' data."""
    return int(sum(np.asarray(a).nbytes for a in encoded))
