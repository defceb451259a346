"""Exact integer sums through Flower's SecAgg+ quantizer: fixed-point values split into limbs.

SecAgg+ in ``flwr==1.41`` sums *quantized floats*: a client maps each value
``x`` to ``(clip(x, -C, C) + C) * Q / (2C)`` with stochastic rounding, adds
its masks modulo ``M``, and the server maps the sum back. With ``Q = 2C``
the map is ``x + C``, so an **integer** ``x`` in ``[-C, C]`` is quantized
exactly (the stochastic rounding has nothing to round), and the server's
dequantization returns the exact integer sum (it divides by the number of
clients at the end to give a mean; multiplying back by that number and
rounding restores the sum, see ``coordinator.serverapp.secure_aggregation``).

Any statistic is brought into that range losslessly:

1. **fixed point**: each field has a public integer ``scale``; the value
   sent is ``round(x * scale)`` (counts use scale 1 and stay exact;
   coincidence sums use :data:`COINCIDENCE_SCALE` so multiples of
   ``1/(m-1)`` stay exact for up to 12 readers per task);
2. **limbs**: the integer ``z`` (``|z| < 2**47``) is written in base
   ``2**16`` as :data:`LIMBS` digits: the lower digits in ``[0, 2**16)``,
   the top digit signed in ``[-2**15, 2**15)``. Every digit lies in
   ``[-C, C]`` with ``C = 2**16``;
3. the digits of all sites are summed digit by digit under SecAgg+ (each
   digit sum stays below the modulus ``M = 2**32`` as long as fewer than
   :data:`MAX_PARTIES` sites take part: ``n * 2**17 < 2**32``), and
   ``Σ_k digit_sum_k * 2**(16 k)`` is the exact integer sum, because the
   encoding is linear.

:class:`SecureSumLayout` lays out named arrays (with their shapes and
scales) as one flat vector and back. Nothing here imports Flower.

Errors: :class:`SecureSumError` (an :class:`~shared.errors.InvalidInputError`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shared.errors import InvalidInputError

__all__ = [
    "CLIPPING_RANGE",
    "COINCIDENCE_SCALE",
    "LIMBS",
    "LIMB_BITS",
    "MAX_ABS_VALUE",
    "MAX_PARTIES",
    "MODULUS_RANGE",
    "QUANTIZATION_RANGE",
    "SecureField",
    "SecureSumError",
    "SecureSumLayout",
    "decode_limbs",
    "encode_limbs",
]

LIMB_BITS = 16
"""Bits per limb (digit base ``2**16``)."""
LIMBS = 3
"""Limbs per value: values up to ``2**47`` in magnitude."""
CLIPPING_RANGE = float(2**LIMB_BITS)
"""SecAgg+ ``clipping_range`` ``C``: every limb lies in ``[-C, C]``."""
QUANTIZATION_RANGE = 2 ** (LIMB_BITS + 1)
"""SecAgg+ ``quantization_range`` ``Q = 2C``: integers quantize exactly."""
MODULUS_RANGE = 2**32
"""SecAgg+ ``modulus_range`` ``M``."""
MAX_PARTIES = MODULUS_RANGE // QUANTIZATION_RANGE - 1
"""The most sites whose limb sums stay below the modulus (``2**15 - 1``)."""
MAX_ABS_VALUE = 2 ** (LIMB_BITS * LIMBS - 1)
"""Encodable integers ``z`` satisfy ``-MAX_ABS_VALUE <= z < MAX_ABS_VALUE``."""
COINCIDENCE_SCALE = 27720
"""``lcm(1..11)``: coincidence sums (multiples of ``1/(m-1)``, m ≤ 12 readers) stay exact."""

_BASE = 2**LIMB_BITS


class SecureSumError(InvalidInputError):
    """A value cannot be encoded for a secure sum, or a vector does not fit its layout."""


def encode_limbs(values: ArrayLike) -> NDArray[np.float64]:
    """Integers → their :data:`LIMBS` base-``2**16`` digits, value-major, as floats.

    Raises
    ------
    SecureSumError
        For a value that is not an integer or lies outside ``±MAX_ABS_VALUE``.
    """
    array = np.asarray(values)
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.array_equal(array, np.rint(array)):
            raise SecureSumError("only whole numbers can be encoded; round them first.")
    elif array.dtype.kind not in "iub":
        raise SecureSumError(f"cannot encode an array of dtype {array.dtype}.")
    if array.size and (array.min() < -MAX_ABS_VALUE or array.max() >= MAX_ABS_VALUE):
        raise SecureSumError(
            f"a value lies outside ±2**{LIMB_BITS * LIMBS - 1}; lower its fixed-point scale."
        )
    flat = array.astype(np.int64).ravel()
    digits = np.empty((flat.size, LIMBS), dtype=np.int64)
    rest = flat
    for limb in range(LIMBS - 1):
        digits[:, limb] = np.mod(rest, _BASE)
        rest = np.floor_divide(rest, _BASE)
    digits[:, LIMBS - 1] = rest  # signed, in [-2**15, 2**15)
    return digits.ravel().astype(np.float64)


def decode_limbs(sums: ArrayLike) -> NDArray[np.int64]:
    """Digit-wise sums (as :func:`encode_limbs` laid them out) → the integer sums.

    Raises
    ------
    SecureSumError
        If the length is not a multiple of :data:`LIMBS` or a digit sum is not whole.
    """
    array = np.asarray(sums, dtype=np.float64).ravel()
    if array.size % LIMBS:
        raise SecureSumError(f"a limb vector has a multiple of {LIMBS} entries.")
    rounded = np.rint(array)
    if not np.all(np.abs(array - rounded) < 1e-3):
        raise SecureSumError("digit sums must be whole numbers: the vector was not an exact sum.")
    digits = rounded.astype(np.int64).reshape(-1, LIMBS)
    weights = np.asarray([_BASE**k for k in range(LIMBS)], dtype=np.int64)
    return np.asarray(digits @ weights, dtype=np.int64)


@dataclass(frozen=True)
class SecureField:
    """One named array of a secure sum: its shape and its fixed-point scale."""

    name: str
    shape: tuple[int, ...]
    scale: int = 1

    def __post_init__(self) -> None:
        if self.scale < 1:
            raise SecureSumError(f"{self.name}: a fixed-point scale is a positive integer.")
        if any(d < 0 for d in self.shape):
            raise SecureSumError(f"{self.name}: a shape has no negative dimension.")

    @property
    def size(self) -> int:
        """Number of values."""
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass(frozen=True)
class SecureSumLayout:
    """Named arrays ↔ one flat limb vector (the same layout on every site)."""

    fields: tuple[SecureField, ...]

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise SecureSumError("field names of a secure-sum layout must be distinct.")

    @classmethod
    def of(cls, fields: Sequence[tuple[str, Sequence[int], int]]) -> SecureSumLayout:
        """From ``(name, shape, scale)`` triples."""
        return cls(tuple(SecureField(n, tuple(int(d) for d in s), int(k)) for n, s, k in fields))

    @property
    def length(self) -> int:
        """Entries of the limb vector."""
        return sum(f.size for f in self.fields) * LIMBS

    def encode(self, arrays: Mapping[str, ArrayLike]) -> NDArray[np.float64]:
        """The limb vector of ``arrays`` (each rounded at its field's scale).

        Raises
        ------
        SecureSumError
            A field missing, of the wrong shape, not finite, or out of range.
        """
        parts = []
        for spec in self.fields:
            if spec.name not in arrays:
                raise SecureSumError(f"the secure sum lacks the field {spec.name}.")
            value = np.asarray(arrays[spec.name], dtype=np.float64)
            if value.shape != spec.shape:
                raise SecureSumError(
                    f"{spec.name} has shape {value.shape}; the layout says {spec.shape}."
                )
            if not np.all(np.isfinite(value)):
                raise SecureSumError(f"{spec.name} holds NaN or infinite values.")
            parts.append(encode_limbs(np.rint(value * spec.scale)))
        if not parts:
            return np.zeros(0, dtype=np.float64)
        return np.concatenate(parts)

    def decode(self, sums: ArrayLike) -> dict[str, NDArray[Any]]:
        """The summed arrays: integers for scale 1, else ``sum / scale`` as floats.

        Raises
        ------
        SecureSumError
            If ``sums`` is not of :attr:`length`.
        """
        vector = np.asarray(sums, dtype=np.float64).ravel()
        if vector.size != self.length:
            raise SecureSumError(
                f"the summed vector has {vector.size} entries; the layout needs {self.length}."
            )
        integers = decode_limbs(vector)
        out: dict[str, NDArray[Any]] = {}
        start = 0
        for spec in self.fields:
            chunk = integers[start : start + spec.size].reshape(spec.shape)
            start += spec.size
            out[spec.name] = chunk if spec.scale == 1 else chunk / float(spec.scale)
        return out
