import numpy as np
import pytest

from shared.weights import MAGIC, WeightsFormatError, decode_weights, encode_weights, weights_sha256


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "enc.0.weight": rng.normal(size=(4, 1, 3, 3)).astype(np.float32),
        "enc.0.bias": np.zeros(4, dtype=np.float32),
        "scale": np.float64(2.5) * np.ones((), dtype=np.float64),
        "q": np.arange(-3, 3, dtype=np.int8),
    }


def test_round_trip_keeps_names_order_dtypes_shapes_and_values() -> None:
    arrays = _arrays()
    data = encode_weights(arrays, {"model": "unet", "round": 2})
    assert data.startswith(MAGIC)
    decoded, metadata = decode_weights(data)
    assert list(decoded) == list(arrays)
    for name, array in arrays.items():
        assert decoded[name].dtype == array.dtype
        assert decoded[name].shape == array.shape
        np.testing.assert_array_equal(decoded[name], array)
    assert metadata == {"model": "unet", "round": 2}


def test_the_same_weights_always_give_the_same_bytes() -> None:
    first = encode_weights(_arrays(), {"b": 1, "a": 2})
    second = encode_weights(dict(_arrays()), {"a": 2, "b": 1})
    assert first == second
    assert weights_sha256(first) == weights_sha256(second)
    changed = _arrays()
    changed["enc.0.bias"][0] = 1.0
    assert weights_sha256(encode_weights(changed, {"a": 2, "b": 1})) != weights_sha256(first)


def test_big_endian_input_is_stored_little_endian() -> None:
    big = np.arange(4, dtype=">f4")
    decoded, _ = decode_weights(encode_weights({"w": big}))
    np.testing.assert_array_equal(decoded["w"], np.arange(4, dtype=np.float32))
    assert decoded["w"].dtype == np.float32


@pytest.mark.parametrize(
    "arrays",
    [{"bad name": np.zeros(1)}, {"w": np.array(["a"])}, {"w": np.zeros(2, dtype=complex)}],
)
def test_unwritable_arrays_are_refused(arrays: dict[str, np.ndarray]) -> None:
    with pytest.raises(WeightsFormatError):
        encode_weights(arrays)


def test_truncated_or_foreign_bytes_are_refused() -> None:
    data = encode_weights(_arrays())
    for broken in (b"", b"PK\x03\x04" + data[4:], data[:-1], data + b"\x00", data[:20]):
        with pytest.raises(WeightsFormatError):
            decode_weights(broken)
