import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import shared.compression as compression
from shared.compression import (
    CompressionError,
    decode_arrays,
    encode_arrays,
    encoded_bytes,
    error_bound,
)

FLOATS = arrays(
    np.float32,
    st.tuples(st.integers(1, 5), st.integers(1, 7)),
    elements=st.floats(-1e4, 1e4, width=32),
)


def test_exports() -> None:
    assert compression.__all__ == [
        "CompressionError",
        "decode_arrays",
        "encode_arrays",
        "encoded_bytes",
        "error_bound",
    ]


@settings(max_examples=60, deadline=None)
@given(st.lists(FLOATS, min_size=1, max_size=4), st.sampled_from(["none", "fp16", "int8"]))
@example([np.array([[9.7e-44]], dtype=np.float32)], "int8")  # a subnormal peak
def test_round_trip_within_the_stated_bound(values: list[np.ndarray], method: str) -> None:
    decoded = decode_arrays(encode_arrays(values, method), method)
    for original, back, bound in zip(values, decoded, error_bound(values, method), strict=True):
        assert back.dtype == np.float32 and back.shape == original.shape
        assert np.all(np.abs(back - original) <= bound)


@settings(max_examples=40, deadline=None)
@given(FLOATS, st.integers(0, 2**32 - 1))
def test_stochastic_int8_within_its_bound(value: np.ndarray, seed: int) -> None:
    rng = np.random.default_rng(seed)
    decoded = decode_arrays(encode_arrays([value], "int8", rng=rng), "int8")[0]
    assert np.all(np.abs(decoded - value) <= error_bound([value], "int8", stochastic=True)[0])


def test_stochastic_rounding_is_unbiased() -> None:
    value = np.linspace(-1.0, 1.0, 51, dtype=np.float32)
    rng = np.random.default_rng(0)
    mean = np.mean(
        [decode_arrays(encode_arrays([value], "int8", rng=rng), "int8")[0] for _ in range(2000)],
        axis=0,
    )
    scale = 1.0 / 127
    assert np.max(np.abs(mean - value)) < 0.1 * scale


def test_sizes_shrink() -> None:
    values = [np.random.default_rng(1).standard_normal((64, 64)).astype(np.float32)]
    raw = encoded_bytes(encode_arrays(values, "none"))
    assert encoded_bytes(encode_arrays(values, "fp16")) == raw // 2
    assert encoded_bytes(encode_arrays(values, "int8")) == raw // 4 + 4


def test_zeros_and_layout() -> None:
    encoded = encode_arrays([np.zeros(3, np.float32)], "int8")
    assert encoded[0].dtype == np.int8 and encoded[1].shape == (1,)
    assert np.array_equal(decode_arrays(encoded, "int8")[0], np.zeros(3))


def test_refusals() -> None:
    with pytest.raises(CompressionError, match="unknown compression"):
        encode_arrays([np.zeros(1)], "zip")
    with pytest.raises(CompressionError, match="NaN or infinite"):
        encode_arrays([np.array([np.nan])], "fp16")
    with pytest.raises(CompressionError, match="float16's range"):
        encode_arrays([np.array([1e6])], "fp16")
    with pytest.raises(CompressionError, match="odd count"):
        decode_arrays([np.zeros(1, np.int8)], "int8")
    with pytest.raises(CompressionError, match="int8 values and a float"):
        decode_arrays([np.zeros(1, np.float32), np.ones(1, np.float32)], "int8")
    with pytest.raises(CompressionError, match="invalid scale"):
        decode_arrays([np.zeros(1, np.int8), np.zeros(1, np.float32)], "int8")
    with pytest.raises(CompressionError, match="float16"):
        decode_arrays([np.zeros(1, np.float32)], "fp16")
