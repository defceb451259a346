"""Uncompressed run-length encoding of one 2D binary mask (the annotation payload's RLE).

An RLE is ``{"size": [rows, cols], "counts": [n0, n1, ...]}``: the mask is read in
row-major (C) order and the counts alternate runs of zeros and ones, starting with
zeros (so ``n0`` may be 0). The counts add up to ``rows * cols``.

COCO uses the same shape of object in column-major (Fortran) order; pass
``order="F"`` to produce or read that variant.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, TypedDict

import numpy as np
import numpy.typing as npt

from shared.formats.errors import MaskShapeError, RLEError

__all__ = ["RLE", "rle_area", "rle_decode", "rle_encode", "validate_rle"]

Order = Literal["C", "F"]


class RLE(TypedDict):
    """A run-length encoded mask: ``size`` is ``[rows, cols]``, ``counts`` alternate 0/1 runs."""

    size: list[int]
    counts: list[int]


def rle_encode(mask: npt.ArrayLike, *, order: Order = "C") -> RLE:
    """Encode a 2D binary mask.

    Parameters
    ----------
    mask
        A 2D array; non-zero values are foreground.
    order
        ``"C"`` (row-major, the annotation payload) or ``"F"`` (column-major, COCO).

    Returns
    -------
    RLE
        ``{"size": [rows, cols], "counts": [...]}``, first count = zeros.

    Raises
    ------
    MaskShapeError
        When ``mask`` is not two-dimensional.
    """
    array = np.asarray(mask)
    if array.ndim != 2:
        raise MaskShapeError(
            f"an RLE encodes one 2D slice; got an array of shape {array.shape}: "
            "encode each slice of a volume separately",
            actual=tuple(array.shape),
        )
    rows, cols = (int(n) for n in array.shape)
    flat = np.ravel(array != 0, order=order).astype(np.int8)
    if flat.size == 0:
        return {"size": [rows, cols], "counts": []}
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    counts = np.diff(bounds).tolist()
    if flat[0] == 1:
        counts.insert(0, 0)
    return {"size": [rows, cols], "counts": [int(n) for n in counts]}


def validate_rle(rle: Mapping[str, object]) -> tuple[tuple[int, int], list[int]]:
    """Check an RLE and return its shape and counts.

    Parameters
    ----------
    rle
        The object to check, typically parsed from JSON.

    Returns
    -------
    tuple
        ``((rows, cols), counts)``.

    Raises
    ------
    RLEError
        When ``size`` is not two non-negative integers, a count is not a
        non-negative integer, or the counts do not add up to ``rows * cols``.
    """
    size = rle.get("size")
    counts = rle.get("counts")
    if not isinstance(size, list | tuple) or len(size) != 2 or not all(_is_count(n) for n in size):
        raise RLEError(
            f"RLE 'size' must be [rows, cols] as two non-negative integers; got {size!r}"
        )
    if not isinstance(counts, list | tuple):
        raise RLEError(
            "RLE 'counts' must be a list of run lengths (uncompressed RLE); "
            f"got {type(counts).__name__}"
        )
    bad = next((n for n in counts if not _is_count(n)), None)
    if bad is not None:
        raise RLEError(f"RLE counts must be non-negative integers; found {bad!r}")
    rows, cols = int(size[0]), int(size[1])
    total = sum(int(n) for n in counts)
    if total != rows * cols:
        raise RLEError(
            f"RLE counts add up to {total} but size {rows}x{cols} needs {rows * cols}; "
            "re-encode the mask (counts alternate zeros and ones, starting with zeros)"
        )
    return (rows, cols), [int(n) for n in counts]


def rle_decode(rle: Mapping[str, object], *, order: Order = "C") -> npt.NDArray[np.bool_]:
    """Decode an RLE into a boolean mask of shape ``(rows, cols)``.

    Parameters
    ----------
    rle
        ``{"size": [rows, cols], "counts": [...]}``.
    order
        The order the counts were written in: ``"C"`` (payload) or ``"F"`` (COCO).

    Returns
    -------
    numpy.ndarray
        Boolean mask.

    Raises
    ------
    RLEError
        When the RLE is malformed (see :func:`validate_rle`).
    """
    (rows, cols), counts = validate_rle(rle)
    values = np.zeros(len(counts), dtype=np.bool_)
    values[1::2] = True
    flat = np.repeat(values, counts)
    return flat.reshape((rows, cols), order=order)


def rle_area(rle: Mapping[str, object]) -> int:
    """Return the number of foreground pixels of an RLE without decoding it."""
    _, counts = validate_rle(rle)
    return sum(counts[1::2])


def _is_count(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        return False
    return int(value) >= 0
