"""Checks and counting shared by the consensus methods: stacked reader votes.

Votes are stacked reader-first: ``votes[r, ...]`` is reader ``r``'s boolean mask,
integer label map, or vector of item labels. For integer votes, ``-1`` means the
reader did not vote on that item/voxel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shared.consensus.errors import ConsensusInputError

__all__ = ["MISSING", "as_votes", "vote_counts"]

MISSING = -1
"""Integer vote meaning "this reader did not vote here"."""


def as_votes(votes: ArrayLike | Sequence[ArrayLike], *, min_readers: int = 1) -> NDArray[Any]:
    """Stack and check reader votes.

    Parameters
    ----------
    votes
        An array shaped ``(readers, ...)`` or a sequence of equally shaped arrays.
    min_readers
        Fewest readers accepted.

    Returns
    -------
    numpy.ndarray
        Boolean or int64 array shaped ``(readers, ...)``.

    Raises
    ------
    ConsensusInputError
        On ragged shapes, float or negative (other than ``-1``) votes, too few readers.
    """
    if isinstance(votes, list | tuple):
        shapes = {np.shape(v) for v in votes}
        if len(shapes) > 1:
            raise ConsensusInputError(
                f"every reader's votes must have the same shape; got {sorted(shapes)}."
            )
    array = np.asarray(votes)
    if array.ndim < 1 or array.shape[0] < min_readers:
        raise ConsensusInputError(
            f"need votes from at least {min_readers} reader(s), stacked reader-first; "
            f"got shape {array.shape}."
        )
    if array.size == 0:
        raise ConsensusInputError(f"votes are empty (shape {array.shape}): nothing to combine.")
    if array.dtype == np.bool_:
        return array
    if array.dtype.kind not in "iu":
        raise ConsensusInputError(
            f"votes must be boolean masks or integer labels (-1 = no vote); got dtype "
            f"{array.dtype}. Threshold probabilities or map label names to integers first."
        )
    array = array.astype(np.int64)
    if array.min() < MISSING:
        raise ConsensusInputError(
            f"labels must be non-negative integers, with -1 for a missing vote; got "
            f"{int(array.min())}."
        )
    return array


def vote_counts(votes: NDArray[Any], n_labels: int | None = None) -> NDArray[np.int64]:
    """Count votes per label: ``counts[l, ...]`` readers who voted ``l`` there.

    Parameters
    ----------
    votes
        Output of :func:`as_votes`.
    n_labels
        Number of labels ``0 … n_labels − 1``; default ``max label + 1`` (2 for masks).

    Returns
    -------
    numpy.ndarray
        ``(n_labels, ...)`` counts.

    Raises
    ------
    ConsensusInputError
        If a vote is ``>= n_labels``.
    """
    labels = votes.astype(np.int64)
    top = int(labels.max()) if labels.size else -1
    n = max(top + 1, 2 if votes.dtype == np.bool_ else 1) if n_labels is None else n_labels
    if top >= n:
        raise ConsensusInputError(f"vote {top} is outside 0..{n - 1}; raise n_labels.")
    return np.stack([(labels == lab).sum(axis=0) for lab in range(n)]).astype(np.int64)
