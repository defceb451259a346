"""The wire encoding of outbound payloads: canonical JSON with tagged arrays and bytes.

A payload is a JSON object whose values may also be numpy arrays, numpy
scalars and ``bytes``. Arrays become ``{"$array": {"dtype", "shape", "data"}}``
(``data``: base64 of the little-endian, C-order buffer) or, for the few string
arrays a kind allows (a guideline's category codes), ``{"$array": {"dtype":
"str", "shape", "values"}}``; bytes become ``{"$bytes": "<base64>"}``. Keys
starting with ``$`` are reserved for these tags. The result is canonical JSON
(:func:`shared.crypto.canonical_json`), so the ledger's SHA-256 is the hash of
exactly the bytes sent, and the coordinator decodes it with
:func:`decode_payload`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from node.errors import EgressRefusedError
from shared.crypto import CanonicalJsonError, canonical_json

__all__ = ["ARRAY_TAG", "BYTES_TAG", "decode_payload", "encode_payload", "to_json_value"]

ARRAY_TAG = "$array"
BYTES_TAG = "$bytes"

_NUMERIC_KINDS = "biuf"


def to_json_value(value: Any, path: str = "$") -> Any:
    """Turn arrays, numpy scalars and bytes into their tagged JSON form.

    Raises
    ------
    EgressRefusedError
        For a reserved ``$`` key, a non-string key, or an array of a dtype
        that has no wire form (objects, complex, datetimes, raw records).
    """
    if isinstance(value, np.ndarray):
        return _array(value, path)
    if isinstance(value, np.generic):
        return to_json_value(value.item(), path)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {BYTES_TAG: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or key.startswith("$"):
                raise EgressRefusedError(
                    f"{path} has a key that is not a plain string (keys starting with '$' "
                    "are reserved for the wire encoding).",
                    field=path,
                )
            out[key] = to_json_value(item, f"{path}.{key}")
        return out
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [to_json_value(item, f"{path}[{i}]") for i, item in enumerate(value)]
    return value


def _array(array: np.ndarray[Any, Any], path: str) -> dict[str, Any]:
    shape = list(array.shape)
    if array.dtype.kind == "U":
        return {ARRAY_TAG: {"dtype": "str", "shape": shape, "values": array.ravel().tolist()}}
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise EgressRefusedError(
            f"{path} is an array of dtype {array.dtype.str}; only boolean, integer and float "
            "arrays (and string arrays where a kind allows them) may leave the node.",
            field=path,
        )
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    data = np.ascontiguousarray(little).tobytes()
    return {
        ARRAY_TAG: {
            "dtype": little.dtype.str,
            "shape": shape,
            "data": base64.b64encode(data).decode("ascii"),
        }
    }


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """The canonical bytes of ``payload``.

    Raises
    ------
    EgressRefusedError
        If a part of the payload has no wire form (see :func:`to_json_value`),
        or a float is NaN or infinite.
    """
    try:
        return canonical_json(to_json_value(payload))
    except CanonicalJsonError as exc:
        raise EgressRefusedError(
            f"the payload cannot be encoded at {exc.path}: {exc}", field=exc.path
        ) from exc


def decode_payload(data: bytes) -> dict[str, Any]:
    """Parse bytes made by :func:`encode_payload` back into arrays and bytes."""
    return dict(_restore(json.loads(data.decode("utf-8"))))


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {ARRAY_TAG}:
            spec = value[ARRAY_TAG]
            if spec["dtype"] == "str":
                return np.asarray(spec["values"], dtype=str).reshape(spec["shape"])
            raw = base64.b64decode(spec["data"], validate=True)
            return np.frombuffer(raw, dtype=np.dtype(spec["dtype"])).reshape(spec["shape"])
        if set(value) == {BYTES_TAG}:
            return base64.b64decode(value[BYTES_TAG], validate=True)
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    return value
