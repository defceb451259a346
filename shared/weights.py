r"""The weights file: named numpy arrays in one deterministic, pickle-free byte string.

A model's weights travel and rest in this form: the coordinator's registry
stores each version content-addressed by the SHA-256 of these bytes, nodes
pull them over mTLS and verify the hash, the ServerApp reads the initial model
from them. It imports numpy only (no torch), so Flower's processes stay light.

Layout::

    b"HWTS1\n"  | 8-byte little-endian header length | header | data

``header`` is canonical JSON: ``{"arrays": [{"name", "dtype", "shape",
"offset", "nbytes"}...], "metadata": {...}}`` with arrays in the caller's
order and ``data`` their C-order little-endian buffers one after another. The
same arrays and metadata always give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import struct
from collections.abc import Mapping
from typing import Any

import numpy as np

from shared.errors import InvalidInputError

__all__ = ["MAGIC", "WeightsFormatError", "decode_weights", "encode_weights", "weights_sha256"]

MAGIC = b"HWTS1\n"
"""The first bytes of every weights file."""

_HEADER_LENGTH = struct.Struct("<Q")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")
_DTYPES = frozenset({"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8"})
_MAX_HEADER = 16 * 2**20


class WeightsFormatError(InvalidInputError):
    """Bytes that are not a weights file, or arrays that cannot be written as one."""


def encode_weights(
    arrays: Mapping[str, np.ndarray[Any, Any]], metadata: Mapping[str, Any] = {}
) -> bytes:
    """The weights file of ``arrays`` (name → array, in order) with JSON ``metadata``.

    Raises
    ------
    WeightsFormatError
        A name outside ``[A-Za-z0-9_.-]`` or an unsupported dtype.
    """
    entries = []
    buffers = []
    offset = 0
    for name, value in arrays.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise WeightsFormatError(f"array name {name!r} must match {_NAME.pattern}")
        array = np.asarray(value)
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        if dtype.name not in _DTYPES:
            raise WeightsFormatError(
                f"array {name!r} has dtype {array.dtype}; use one of {sorted(_DTYPES)}"
            )
        data = array.astype(dtype.newbyteorder("<"), copy=False).tobytes(order="C")
        entries.append(
            {
                "name": name,
                "dtype": dtype.name,
                "shape": list(array.shape),
                "offset": offset,
                "nbytes": len(data),
            }
        )
        buffers.append(data)
        offset += len(data)
    header = json.dumps(
        {"arrays": entries, "metadata": dict(metadata)},
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    ).encode("utf-8")
    return b"".join([MAGIC, _HEADER_LENGTH.pack(len(header)), header, *buffers])


def decode_weights(data: bytes) -> tuple[dict[str, np.ndarray[Any, Any]], dict[str, Any]]:
    """The arrays (in file order) and metadata of a weights file.

    Raises
    ------
    WeightsFormatError
        Not a weights file, or a truncated or inconsistent one.
    """
    view = memoryview(data)
    start = len(MAGIC) + _HEADER_LENGTH.size
    if len(data) < start or bytes(view[: len(MAGIC)]) != MAGIC:
        raise WeightsFormatError("not a Harmonia weights file (bad magic)")
    (length,) = _HEADER_LENGTH.unpack(view[len(MAGIC) : start])
    if length > _MAX_HEADER or start + length > len(data):
        raise WeightsFormatError("the weights file's header is truncated or too large")
    try:
        header = json.loads(bytes(view[start : start + length]))
        entries = header["arrays"]
        metadata = dict(header.get("metadata", {}))
    except (ValueError, KeyError, TypeError) as exc:
        raise WeightsFormatError(f"the weights file's header is not valid: {exc}") from None
    body = view[start + length :]
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    expected = 0
    for entry in entries:
        try:
            name, dtype, shape = str(entry["name"]), str(entry["dtype"]), entry["shape"]
            offset, nbytes = int(entry["offset"]), int(entry["nbytes"])
        except (KeyError, TypeError, ValueError):
            raise WeightsFormatError("an array entry of the header is incomplete") from None
        if dtype not in _DTYPES or not _NAME.fullmatch(name) or offset != expected:
            raise WeightsFormatError(f"array entry {name!r} is not valid")
        count = int(np.prod(shape)) if shape else 1
        if count * np.dtype(dtype).itemsize != nbytes or offset + nbytes > len(body):
            raise WeightsFormatError(f"array {name!r} does not fit the file")
        raw = np.frombuffer(body[offset : offset + nbytes], dtype=np.dtype(dtype).newbyteorder("<"))
        arrays[name] = raw.astype(np.dtype(dtype), copy=True).reshape(shape)
        expected = offset + nbytes
    if expected != len(body):
        raise WeightsFormatError("the weights file has trailing bytes")
    return arrays, metadata


def weights_sha256(data: bytes) -> str:
    """The SHA-256 (hex) that names a weights file."""
    return hashlib.sha256(data).hexdigest()
