"""Limb encoding: exact round trips, linearity, and exactness through SecAgg+'s quantizer."""

from __future__ import annotations

import numpy as np
import pytest
from flwr.common.secure_aggregation.quantization import dequantize, quantize
from hypothesis import given, settings
from hypothesis import strategies as st

import shared.privacy as privacy
from shared.errors import InvalidInputError
from shared.privacy import (
    CLIPPING_RANGE,
    LIMBS,
    MAX_ABS_VALUE,
    MAX_PARTIES,
    MODULUS_RANGE,
    QUANTIZATION_RANGE,
    SecureSumError,
    SecureSumLayout,
    decode_limbs,
    encode_limbs,
)

VALUES = st.integers(min_value=-MAX_ABS_VALUE, max_value=MAX_ABS_VALUE - 1)


def test_exports() -> None:
    assert privacy.__all__ == sorted(privacy.__all__)
    assert set(privacy.__all__) == {
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
    }
    assert issubclass(SecureSumError, InvalidInputError)


@given(st.lists(VALUES, max_size=40))
def test_round_trip_including_negative_values(values: list[int]) -> None:
    digits = encode_limbs(np.asarray(values, dtype=np.int64))
    assert digits.size == len(values) * LIMBS
    assert np.all(np.abs(digits) <= CLIPPING_RANGE)
    assert decode_limbs(digits).tolist() == values


@settings(max_examples=50)
@given(
    st.lists(
        st.lists(VALUES.map(lambda v: v // 64), min_size=5, max_size=5), min_size=1, max_size=40
    )
)
def test_digit_sums_decode_to_the_exact_sum(sites: list[list[int]]) -> None:
    summed = sum(encode_limbs(np.asarray(v, dtype=np.int64)) for v in sites)
    assert decode_limbs(summed).tolist() == np.sum(np.asarray(sites, dtype=object), axis=0).tolist()


def test_limbs_go_through_secaggplus_quantization_exactly() -> None:
    """flwr's own quantize/dequantize with C = 2**16, Q = 2C: no rounding, mod-M sums fit."""
    rng = np.random.default_rng(0)
    sites = [rng.integers(-(2**40), 2**40, size=64) for _ in range(5)]
    quantized = [quantize([encode_limbs(v)], CLIPPING_RANGE, QUANTIZATION_RANGE)[0] for v in sites]
    for q, v in zip(quantized, sites, strict=True):
        assert np.array_equal(q, encode_limbs(v) + CLIPPING_RANGE)  # no stochastic rounding
    total = np.sum(quantized, axis=0).astype(np.int64) % MODULUS_RANGE
    recovered = dequantize([total], CLIPPING_RANGE, QUANTIZATION_RANGE)[0]
    recovered -= (len(sites) - 1) * CLIPPING_RANGE  # SecAgg+'s offset for n clients
    assert decode_limbs(recovered).tolist() == np.sum(sites, axis=0).tolist()


def test_limits() -> None:
    assert MAX_PARTIES * QUANTIZATION_RANGE < MODULUS_RANGE
    assert (MAX_PARTIES + 1) * QUANTIZATION_RANGE >= MODULUS_RANGE
    with pytest.raises(SecureSumError, match="outside"):
        encode_limbs([MAX_ABS_VALUE])
    with pytest.raises(SecureSumError, match="whole numbers"):
        encode_limbs([0.5])
    with pytest.raises(SecureSumError, match="multiple"):
        decode_limbs([1.0, 2.0])
    with pytest.raises(SecureSumError, match="whole numbers"):
        decode_limbs([0.5, 0.0, 0.0])


def test_layout_scales_and_shapes() -> None:
    layout = SecureSumLayout.of([("counts", (2, 2), 1), ("mean", (3,), 1024)])
    assert layout.length == 7 * LIMBS
    a = {"counts": np.array([[1, 2], [3, 4]]), "mean": np.array([0.5, -0.25, 1 / 3])}
    b = {"counts": np.array([[10, 0], [0, 1]]), "mean": np.array([0.5, 0.25, 0.0])}
    decoded = layout.decode(layout.encode(a) + layout.encode(b))
    assert decoded["counts"].tolist() == [[11, 2], [3, 5]]
    assert decoded["counts"].dtype == np.int64
    assert decoded["mean"] == pytest.approx([1.0, 0.0, 1 / 3], abs=1 / 2048)
    with pytest.raises(SecureSumError, match="shape"):
        layout.encode({"counts": np.zeros(4), "mean": np.zeros(3)})
    with pytest.raises(SecureSumError, match="lacks"):
        layout.encode({"counts": np.zeros((2, 2))})
    with pytest.raises(SecureSumError, match="entries"):
        layout.decode(np.zeros(3))
    with pytest.raises(SecureSumError, match="distinct"):
        SecureSumLayout.of([("x", (1,), 1), ("x", (1,), 1)])
