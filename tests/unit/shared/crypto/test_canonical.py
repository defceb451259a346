from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.crypto import CanonicalJsonError, canonical_json, canonical_sha256

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(exclude_categories=("Cs",))),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=25,
)


def test_sorted_keys_no_whitespace_utf8() -> None:
    assert (
        canonical_json({"b": 1, "a": [True, None, "é"]}) == '{"a":[true,null,"é"],"b":1}'.encode()
    )


def test_nested_keys_are_sorted() -> None:
    assert canonical_json({"z": {"y": 1, "x": 2}}) == b'{"z":{"x":2,"y":1}}'


@given(json_values)
def test_deterministic_and_round_trips(value: Any) -> None:
    encoded = canonical_json(value)
    assert canonical_json(json.loads(encoded)) == encoded
    assert canonical_sha256(value) == hashlib.sha256(encoded).hexdigest()


@given(st.dictionaries(st.text(max_size=6), st.integers(), max_size=8))
def test_insertion_order_does_not_matter(value: dict[str, int]) -> None:
    reordered = dict(reversed(list(value.items())))
    assert canonical_json(value) == canonical_json(reordered)


@given(json_values)
def test_tuples_encode_as_lists(value: Any) -> None:
    assert canonical_json((value, value)) == canonical_json([value, value])


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_refuses_nan_and_infinity(bad: float) -> None:
    with pytest.raises(CanonicalJsonError) as caught:
        canonical_json({"a": [1, {"b": bad}]})
    assert caught.value.path == "$.a[1].b"


@pytest.mark.parametrize("bad", [b"bytes", {1, 2}, object(), {1: "int key"}, bytearray(b"x"), 1j])
def test_refuses_values_outside_json(bad: Any) -> None:
    with pytest.raises(CanonicalJsonError):
        canonical_json({"value": bad})


def test_refuses_lone_surrogate() -> None:
    with pytest.raises(CanonicalJsonError):
        canonical_json("\ud800")


def test_refuses_numpy_arrays() -> None:
    np = pytest.importorskip("numpy")
    with pytest.raises(CanonicalJsonError, match="ndarray"):
        canonical_json({"a": np.zeros(2)})
