"""Canonical JSON: the one byte encoding of everything Harmonia signs or hashes.

Sorted keys, no whitespace, UTF-8 (non-ASCII kept, not escaped), and only the
JSON data model: objects with string keys, arrays, strings, integers, finite
floats, booleans and null. NaN and infinities are refused (JSON has no such
values and ``json.dumps`` would write invalid JSON); so are bytes, sets,
non-string keys and any other Python type, so that two parties encoding the
same value always produce the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from shared.crypto.errors import CanonicalJsonError

__all__ = ["canonical_json", "canonical_sha256"]


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` as canonical JSON.

    Parameters
    ----------
    value
        A JSON value: mappings with ``str`` keys, lists or tuples, ``str``,
        ``int``, finite ``float``, ``bool`` or ``None``.

    Returns
    -------
    bytes
        UTF-8 bytes with sorted keys and no whitespace.

    Raises
    ------
    CanonicalJsonError
        If ``value`` holds anything outside the JSON data model; the error's
        ``path`` says where.
    """
    _check(value, "$")
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate in a string
        raise CanonicalJsonError(
            f"a string holds a character that is not valid UTF-8 ({exc.reason}).",
        ) from exc


def canonical_sha256(value: Any) -> str:
    """The SHA-256 (hex) of :func:`canonical_json` of ``value``."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


def _check(value: Any, path: str) -> None:
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CanonicalJsonError(
                f"{path} is {value!r}; canonical JSON has no NaN or infinity. "
                "Replace it with null or a finite number.",
                path=path,
            )
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalJsonError(
                    f"{path} has a key of type {type(key).__name__}; keys must be strings.",
                    path=path,
                )
            _check(item, f"{path}.{key}")
        return
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray, memoryview)):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]")
        return
    raise CanonicalJsonError(
        f"{path} is a {type(value).__name__}, which has no canonical JSON form; "
        "convert it to a string, number, list or object first.",
        path=path,
    )
