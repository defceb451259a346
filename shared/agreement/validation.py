"""Input checks shared by the metrics: labels, masks, spacing, shapes.

Each check raises a specific :mod:`shared.agreement.errors` error whose message
names the argument, the rule and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shared.agreement.errors import (
    AgreementInputError,
    EmptyInputError,
    ShapeMismatchError,
    SpacingError,
)

__all__ = [
    "as_label_vector",
    "as_mask",
    "check_same_shape",
    "check_spacing",
    "resolve_categories",
]


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(isinstance(value, float | np.floating) and math.isnan(value))
    except TypeError:  # pragma: no cover - defensive
        return False


def as_label_vector(labels: ArrayLike | Sequence[Hashable], name: str) -> NDArray[Any]:
    """Return ``labels`` as a non-empty 1-D array without missing values.

    Parameters
    ----------
    labels
        Category labels, one per item (integers, strings...).
    name
        The argument's name, used in messages.

    Returns
    -------
    numpy.ndarray
        A 1-D array.

    Raises
    ------
    EmptyInputError
        If there are no labels.
    AgreementInputError
        If the labels are not 1-D or contain ``None``/``nan``.
    """
    array = np.asarray(labels)
    if array.ndim != 1:
        raise AgreementInputError(
            f"{name} must be a 1-D sequence of labels, one per item; got shape {array.shape}."
        )
    if array.size == 0:
        raise EmptyInputError(f"{name} is empty: give at least one labelled item.")
    if array.dtype.kind == "f" and np.isnan(array).any():
        raise AgreementInputError(
            f"{name} contains NaN; categorical labels here must be complete. Drop the items "
            "a reader skipped, or use krippendorff_alpha, which allows missing ratings."
        )
    if array.dtype.kind == "O" and any(_is_missing(v) for v in array.tolist()):
        raise AgreementInputError(
            f"{name} contains None/NaN; drop the items a reader skipped, or use "
            "krippendorff_alpha, which allows missing ratings."
        )
    return array


def resolve_categories(
    categories: Sequence[Hashable] | None, *label_arrays: NDArray[Any]
) -> tuple[Hashable, ...]:
    """Return the category list: the one given, or the sorted union of the labels seen.

    Parameters
    ----------
    categories
        Categories in their meaningful order, or ``None`` to infer them.
    *label_arrays
        The labels that must all belong to the categories.

    Returns
    -------
    tuple
        The categories as plain Python scalars.

    Raises
    ------
    AgreementInputError
        If ``categories`` repeats a value or a label is not one of them.
    """
    if categories is None:
        seen = np.unique(np.concatenate([np.asarray(a) for a in label_arrays]))
        return tuple(seen.tolist())
    result = tuple(np.asarray(categories).tolist())
    if len(result) == 0:
        raise EmptyInputError("categories is empty: list every category a reader may choose.")
    if len(set(result)) != len(result):
        raise AgreementInputError(f"categories must not repeat a value; got {list(result)}.")
    known = set(result)
    for array in label_arrays:
        unknown = sorted({v for v in array.tolist() if v not in known}, key=str)
        if unknown:
            raise AgreementInputError(
                f"labels {unknown[:5]} are not among categories {list(result)}; add them "
                "to categories or fix the labels."
            )
    return result


def as_mask(mask: ArrayLike, name: str) -> NDArray[np.bool_]:
    """Return ``mask`` as a boolean array, refusing anything that is not a binary mask.

    Parameters
    ----------
    mask
        A boolean array, or an integer array holding only 0 and 1.
    name
        The argument's name, used in messages.

    Returns
    -------
    numpy.ndarray
        The mask as ``bool``.

    Raises
    ------
    AgreementInputError
        If the mask is a float array, a label map (values other than 0/1) or 0-D.
    """
    array = np.asarray(mask)
    if array.ndim == 0:
        raise AgreementInputError(f"{name} must be a 2-D or 3-D mask array; got a scalar.")
    if array.dtype == np.bool_:
        return array
    if array.dtype.kind in "iu":
        if array.size and (array.min() < 0 or array.max() > 1):
            raise AgreementInputError(
                f"{name} is not a boolean mask: it holds values other than 0 and 1 "
                f"(dtype {array.dtype}). Pass (label_map == k) for one label, or use "
                "OverlapStats.from_label_maps for label maps."
            )
        return array.astype(np.bool_)
    raise AgreementInputError(
        f"{name} must be a boolean mask; got dtype {array.dtype}. Threshold it first "
        "(e.g. probabilities >= 0.5)."
    )


def check_same_shape(a: NDArray[Any], b: NDArray[Any], names: tuple[str, str]) -> None:
    """Raise unless ``a`` and ``b`` have the same shape.

    Parameters
    ----------
    a, b
        Arrays to compare.
    names
        Their argument names, for the message.

    Raises
    ------
    ShapeMismatchError
        If the shapes differ.
    """
    if a.shape != b.shape:
        raise ShapeMismatchError(
            f"{names[0]} has shape {a.shape} but {names[1]} has shape {b.shape}; both must "
            "cover the same grid (resample one onto the other first).",
            expected=a.shape,
            actual=b.shape,
        )


def check_spacing(spacing: Sequence[float] | ArrayLike | None, ndim: int) -> NDArray[np.float64]:
    """Return the voxel spacing as a float array of length ``ndim``, checked.

    Parameters
    ----------
    spacing
        Millimetres between voxel centres along each array axis, in array-axis order
        (for a ``(slices, rows, columns)`` volume: slice spacing, then row and column
        pixel spacing). ``None`` means 1 mm on every axis.
    ndim
        Number of array axes.

    Returns
    -------
    numpy.ndarray
        The spacing, float64, shape ``(ndim,)``.

    Raises
    ------
    SpacingError
        If the length is wrong or a value is not positive and finite.
    """
    if spacing is None:
        return np.ones(ndim, dtype=np.float64)
    array = np.atleast_1d(np.asarray(spacing, dtype=np.float64))
    if array.ndim != 1 or array.shape[0] != ndim:
        raise SpacingError(
            f"spacing must give one value per array axis ({ndim}); got {array.tolist()}. "
            "For a (slices, rows, columns) volume pass (slice_mm, row_mm, column_mm)."
        )
    if not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise SpacingError(
            f"spacing values must be positive and finite millimetres; got {array.tolist()}."
        )
    return array
