"""Per-case disagreement scores that drive adjudication and active learning.

Labels — normalised vote entropy
    For an item with vote shares ``π_c`` over ``K`` possible labels,
    ``H = −Σ π_c log π_c / log K`` in [0, 1]: 0 when all voting readers agree,
    1 when votes are spread evenly over all ``K`` labels. ``K`` is ``n_labels``
    (the guideline's label count), not just the labels that happened to be used, so
    scores are comparable across items. With ``K = 1`` every score is 0, and a
    single reader scores 0 wherever they voted.

    Items nobody voted on score ``nan`` — the one place a NaN is returned, on
    purpose: it is the "missing" of the input (every reader gave ``-1``) carried
    through, so an unread item is neither ranked as agreed (0) nor as disputed (1).
    Use ``numpy.isnan`` to route such items to a first reading.

Masks — one minus mean pairwise Dice
    ``1 − mean_{r<s} Dice(M_r, M_s)`` over all reader pairs, in [0, 1]; a pair of
    empty masks has Dice 1 (the readers agree nothing is there), as in
    :func:`shared.agreement.dice`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shared.consensus.errors import ConsensusInputError
from shared.consensus.votes import as_votes, vote_counts

__all__ = ["label_disagreement", "mask_disagreement"]


def label_disagreement(
    votes: ArrayLike | Sequence[ArrayLike], *, n_labels: int | None = None
) -> NDArray[np.float64]:
    """Normalised entropy of the readers' votes, per item.

    Parameters
    ----------
    votes
        ``(readers, items)`` integer labels (``-1`` = no vote).
    n_labels
        Number of labels the guideline allows; default largest label + 1.

    Returns
    -------
    numpy.ndarray
        ``(items,)`` scores in [0, 1] (``nan`` where nobody voted).

    Raises
    ------
    ConsensusInputError
        On malformed votes.

    Examples
    --------
    >>> label_disagreement([[0, 0], [0, 1]], n_labels=2).tolist()
    [0.0, 1.0]
    """
    stacked = as_votes(votes)
    counts = vote_counts(stacked, n_labels).astype(np.float64)
    k = counts.shape[0]
    voters = counts.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = counts / voters
        terms = np.where(share > 0, -share * np.log(np.where(share > 0, share, 1.0)), 0.0)
    entropy = terms.sum(axis=0)
    score = entropy / np.log(k) if k > 1 else np.zeros_like(entropy)
    return np.asarray(np.where(voters > 0, score, np.nan), dtype=np.float64)


def mask_disagreement(masks: ArrayLike | Sequence[ArrayLike]) -> float:
    """One minus the mean pairwise Dice of several readers' masks of one case.

    Parameters
    ----------
    masks
        ``(readers, ...)`` boolean masks, at least two readers.

    Returns
    -------
    float
        Score in [0, 1]; 0 when all masks are identical.

    Raises
    ------
    ConsensusInputError
        On non-boolean masks or fewer than two readers.
    """
    stacked = as_votes(masks, min_readers=2)
    if stacked.dtype != np.bool_ and (stacked.min() < 0 or stacked.max() > 1):
        raise ConsensusInputError(
            "mask_disagreement needs boolean masks; pass (label_map == k) per label."
        )
    flat = stacked.reshape(stacked.shape[0], -1).astype(np.float64)
    sizes = flat.sum(axis=1)
    inter = flat @ flat.T
    total = sizes[:, None] + sizes[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        pair_dice = np.where(total > 0, 2.0 * inter / total, 1.0)
    upper = np.triu_indices(stacked.shape[0], k=1)
    return float(1.0 - pair_dice[upper].mean())
