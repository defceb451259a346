"""Majority vote over readers, for item labels and for masks alike.

Rule
    Each item (or voxel) takes the label most readers chose. Missing votes (``-1``)
    are ignored; an item nobody voted on stays ``-1`` with support 0. A single
    reader is accepted: the consensus is that reader's votes, with support 1.

Ties — one documented rule
    A tie goes to the **lowest label index**. For masks (boolean, or label maps with
    0 as background) that means **ties go to background**: a voxel needs a strict
    majority of readers to be foreground. Ties are flagged in
    :attr:`MajorityResult.tied` so callers can route them to adjudication instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shared.consensus.votes import MISSING, as_votes, vote_counts

__all__ = ["MajorityResult", "majority_vote"]


@dataclass(frozen=True, eq=False)
class MajorityResult:
    """Majority-vote consensus.

    Attributes
    ----------
    consensus
        The winning label per item/voxel (boolean for boolean input, else int64 with
        ``-1`` where nobody voted).
    support
        Fraction of the voting readers who chose the winning label (0 where nobody voted).
    tied
        True where two or more labels shared the top count (resolved to the lowest).
    """

    consensus: NDArray[Any]
    support: NDArray[np.float64]
    tied: NDArray[np.bool_]


def majority_vote(
    votes: ArrayLike | Sequence[ArrayLike], *, n_labels: int | None = None
) -> MajorityResult:
    """Combine readers' labels or masks by majority, ties to the lowest label.

    Parameters
    ----------
    votes
        ``(readers, ...)``: boolean masks, integer label maps, or integer item labels
        (``-1`` = no vote). A sequence of equally shaped arrays is stacked.
    n_labels
        Number of labels; defaults to the largest label seen plus one.

    Returns
    -------
    MajorityResult
        Consensus, support and tie flags, shaped like one reader's votes.

    Raises
    ------
    ConsensusInputError
        On ragged, float, or negative (other than ``-1``) votes.

    Examples
    --------
    >>> majority_vote([[0, 1, 2], [0, 1, 1], [1, 2, 2]]).consensus.tolist()
    [0, 1, 2]
    """
    stacked = as_votes(votes)
    counts = vote_counts(stacked, n_labels)
    winner = np.argmax(counts, axis=0)  # first maximum → lowest label on ties
    top = np.take_along_axis(counts, winner[None], axis=0)[0]
    voters = counts.sum(axis=0)
    tied = (counts == top[None]).sum(axis=0) > 1
    tied &= voters > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        support = np.where(voters > 0, top / np.maximum(voters, 1), 0.0)
    if stacked.dtype == np.bool_:
        return MajorityResult(winner.astype(np.bool_), support, tied)
    consensus = np.where(voters > 0, winner, MISSING).astype(np.int64)
    return MajorityResult(consensus, support.astype(np.float64), tied)
