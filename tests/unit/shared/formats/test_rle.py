from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from shared.formats import MaskShapeError, RLEError, rle_area, rle_decode, rle_encode

masks = st.tuples(st.integers(1, 12), st.integers(1, 12)).flatmap(
    lambda shape: arrays(np.bool_, shape)
)


@given(masks)
def test_round_trip_row_major(mask: np.ndarray) -> None:
    rle = rle_encode(mask)
    assert rle["size"] == list(mask.shape)
    assert sum(rle["counts"]) == mask.size
    assert all(n > 0 for n in rle["counts"][1:])
    np.testing.assert_array_equal(rle_decode(rle), mask)
    assert rle_area(rle) == int(mask.sum())


@given(masks)
def test_round_trip_column_major(mask: np.ndarray) -> None:
    np.testing.assert_array_equal(rle_decode(rle_encode(mask, order="F"), order="F"), mask)


def test_first_count_is_zeros_and_order_is_row_major() -> None:
    mask = np.array([[1, 1, 0], [0, 0, 1]], dtype=bool)
    assert rle_encode(mask) == {"size": [2, 3], "counts": [0, 2, 3, 1]}
    assert rle_encode(mask, order="F") == {"size": [2, 3], "counts": [0, 1, 1, 1, 2, 1]}
    assert rle_encode(np.zeros((2, 2), bool)) == {"size": [2, 2], "counts": [4]}


def test_contract_example_decodes() -> None:
    mask = rle_decode({"size": [2, 3], "counts": [1, 2, 3]})
    np.testing.assert_array_equal(mask, [[False, True, True], [False, False, False]])


@pytest.mark.parametrize(
    ("rle", "message"),
    [
        ({"size": [2, 2], "counts": [1, 2]}, "add up to 3"),
        ({"size": [2], "counts": [2]}, "size"),
        ({"size": [2, 2], "counts": [2, -1, 3]}, "non-negative"),
        ({"size": [2, 2], "counts": [True, 3]}, "non-negative"),
        ({"size": [2, 2], "counts": "abc"}, "uncompressed"),
        ({"counts": [4]}, "size"),
        ({"size": [2, 2], "counts": [1.5, 2.5]}, "non-negative"),
    ],
)
def test_malformed_rle_is_refused(rle: dict[str, object], message: str) -> None:
    with pytest.raises(RLEError, match=message):
        rle_decode(rle)


def test_encode_needs_2d() -> None:
    with pytest.raises(MaskShapeError):
        rle_encode(np.zeros((2, 2, 2), bool))
