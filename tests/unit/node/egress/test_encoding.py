from __future__ import annotations

import json

import numpy as np
import pytest

from node.egress import decode_payload, encode_payload
from node.errors import EgressRefusedError


def test_round_trip_arrays_bytes_and_scalars() -> None:
    payload = {
        "b": np.arange(6, dtype=">i4").reshape(2, 3),  # big-endian in, little-endian out
        "a": np.linspace(0, 1, 5, dtype=np.float32),
        "codes": np.asarray(["1", "4A"]),
        "blob": b"\x00\x01",
        "n": np.int64(3),
        "x": np.float64(0.25),
        "nested": [{"flag": np.bool_(True)}, (1, 2)],
    }
    data = encode_payload(payload)
    assert data == encode_payload(dict(reversed(list(payload.items()))))
    back = decode_payload(data)
    np.testing.assert_array_equal(back["b"], payload["b"])
    assert back["b"].dtype == np.dtype("<i4")
    np.testing.assert_array_equal(back["a"], payload["a"])
    assert back["codes"].tolist() == ["1", "4A"]
    assert back["blob"] == b"\x00\x01"
    assert back["n"] == 3 and back["x"] == 0.25
    assert back["nested"] == [{"flag": True}, [1, 2]]
    assert json.loads(data)["a"]["$array"]["dtype"] == "<f4"


def test_non_contiguous_arrays() -> None:
    array = np.arange(12, dtype=np.float64).reshape(3, 4).T
    np.testing.assert_array_equal(decode_payload(encode_payload({"a": array}))["a"], array)


@pytest.mark.parametrize(
    "payload",
    [
        {"$array": 1},
        {"a": {"$bytes": "x"}},
        {1: "int key"},
        {"a": np.asarray([object()], dtype=object)},
        {"a": np.asarray([1 + 2j])},
        {"a": float("nan")},
        {"a": {1, 2}},
    ],
)
def test_refused(payload: dict[object, object]) -> None:
    with pytest.raises(EgressRefusedError):
        encode_payload(payload)  # type: ignore[arg-type]
