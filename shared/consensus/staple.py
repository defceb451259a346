"""STAPLE: consensus and reader performance by expectation-maximization (Warfield et al. 2004).

Binary model
    Each voxel's hidden truth ``T`` is foreground with prior ``g``; reader ``j`` marks a
    foreground voxel with probability ``p_j`` (sensitivity) and leaves a background
    voxel unmarked with probability ``q_j`` (specificity). EM alternates:

    * E-step: ``W = g Π p_j^{D_j}(1−p_j)^{1−D_j} / (that + (1−g) Π q_j^{1−D_j}(1−q_j)^{D_j})``;
    * M-step: ``p_j = Σ W D_j / Σ W``, ``q_j = Σ (1−W)(1−D_j) / Σ (1−W)``.

    As in ITK's ``STAPLEImageFilter`` (the reference the tests compare with), ``p`` and
    ``q`` start at 0.99999 and the prior ``g`` is fixed at the mean fraction of voxels
    the readers marked (unless given). Iteration stops when no ``p_j`` or ``q_j``
    moves by more than ``tol``, or after ``max_iter`` rounds (``converged`` says which).

Multi-label model (Warfield 2004, §II.C)
    Reader ``j`` has a confusion matrix ``θ_j[s, l] = P(reader says l | truth s)``
    (rows sum to 1). The prior ``f_s`` is fixed at each label's share of all votes;
    ``θ_j`` starts with 0.99999 on the diagonal, spread evenly elsewhere. With two
    labels it reduces to the binary model (``θ[1,1] = p``, ``θ[0,0] = q``).

Voxels with identical vote patterns are grouped, so the cost grows with the number
of distinct patterns, not voxels. All voxels given take part (crop to a region of
interest first if the background should not dominate the specificities).

Degenerate input
    If no reader marked any voxel (or every reader marked every voxel), the
    consensus probability is 0 (or 1) everywhere and the sensitivities (or
    specificities) are ``nan``: there is nothing to estimate them from.
    :attr:`StapleResult.note` says so. In the multi-label model a label no reader
    used keeps its starting confusion rows, named in
    :attr:`MultiLabelStapleResult.note`. All readers agreeing is not degenerate:
    the consensus is their common mask with probability ~1/~0, and every
    sensitivity and specificity converges to 1. One reader is refused (STAPLE
    needs at least two to compare).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from shared.consensus.errors import ConsensusInputError
from shared.consensus.patterns import VotePatterns
from shared.consensus.votes import as_votes

__all__ = ["MultiLabelStapleResult", "StapleResult", "staple", "staple_multilabel"]

_INIT = 0.99999
_EPS = 1e-12


@dataclass(frozen=True, eq=False)
class StapleResult:
    """Binary STAPLE output.

    Attributes
    ----------
    probability
        Posterior probability that each voxel is foreground (shape of one mask),
        float32: a probability needs no more digits, and it keeps the result near the
        size of the input masks.
    sensitivity, specificity
        Per-reader estimates, shape ``(readers,)``.
    prior
        The foreground prior ``g`` used.
    iterations
        EM rounds run.
    converged
        Whether the tolerance was met before ``max_iter``.
    note
        Why some figures are ``nan`` (degenerate input, see the module docstring);
        empty otherwise. A ``nan`` never appears without it.
    """

    probability: NDArray[np.float32]
    sensitivity: NDArray[np.float64]
    specificity: NDArray[np.float64]
    prior: float
    iterations: int
    converged: bool
    note: str = ""

    def consensus(self, threshold: float = 0.5) -> NDArray[np.bool_]:
        """Consensus mask: voxels whose probability is at least ``threshold``.

        Parameters
        ----------
        threshold
            Probability cut-off.

        Returns
        -------
        numpy.ndarray
            Boolean mask.
        """
        return np.asarray(self.probability >= threshold, dtype=np.bool_)


@dataclass(frozen=True, eq=False)
class MultiLabelStapleResult:
    """Multi-label STAPLE output.

    Attributes
    ----------
    probabilities
        ``(labels, ...)`` posterior probability of each true label per voxel (float32).
    confusion
        ``(readers, labels, labels)``; ``confusion[j, s, l]`` estimates
        P(reader ``j`` says ``l`` | truth ``s``).
    prior
        ``(labels,)`` label prior used.
    iterations, converged
        As in :class:`StapleResult`.
    note
        Which labels no reader ever used: their rows of ``confusion`` keep the
        starting values (nothing to estimate them from); empty otherwise.
    """

    probabilities: NDArray[np.float32]
    confusion: NDArray[np.float64]
    prior: NDArray[np.float64]
    iterations: int
    converged: bool
    note: str = ""

    @property
    def consensus(self) -> NDArray[np.int64]:
        """Most probable label per voxel (ties to the lowest label)."""
        return np.asarray(np.argmax(self.probabilities, axis=0), dtype=np.int64)


def _check_iter(max_iter: int, tol: float) -> None:
    if max_iter < 1 or not (tol > 0):
        raise ConsensusInputError(
            f"max_iter must be ≥ 1 and tol > 0; got max_iter={max_iter}, tol={tol}."
        )


def staple(
    masks: ArrayLike | Sequence[ArrayLike],
    *,
    prior: float | None = None,
    max_iter: int = 1000,
    tol: float = 1e-7,
) -> StapleResult:
    """Binary STAPLE consensus of several readers' masks.

    Parameters
    ----------
    masks
        ``(readers, ...)`` boolean masks (or a sequence of equally shaped masks), at
        least two readers.
    prior
        Foreground prior ``g`` in (0, 1); default: mean fraction of marked voxels.
    max_iter
        Most EM rounds.
    tol
        Stop when no sensitivity or specificity changes by more than this.

    Returns
    -------
    StapleResult
        Consensus probability and per-reader sensitivity and specificity.

    Raises
    ------
    ConsensusInputError
        On non-boolean masks, fewer than two readers, or a prior outside (0, 1).
    """
    _check_iter(max_iter, tol)
    votes = as_votes(masks, min_readers=2)
    if votes.dtype != np.bool_ and (votes.min() < 0 or votes.max() > 1):
        raise ConsensusInputError(
            "staple needs boolean masks; for label maps use staple_multilabel, or pass "
            "(label_map == k) per label."
        )
    readers, shape = votes.shape[0], votes.shape[1:]
    decisions = votes if votes.dtype == np.bool_ else votes.astype(np.bool_)
    g = np.count_nonzero(decisions) / decisions.size if prior is None else float(prior)
    if prior is not None and not (0.0 < g < 1.0):
        raise ConsensusInputError(f"prior must lie strictly between 0 and 1; got {prior}.")
    if g in (0.0, 1.0):
        nan = np.full(readers, np.nan)
        one = np.ones(readers)
        sens, spec = (nan, one) if g == 0.0 else (one, nan)
        note = (
            "no reader marked any voxel: the consensus is empty and the sensitivities are "
            "nan (there is no foreground to estimate them from)"
            if g == 0.0
            else "every reader marked every voxel: the consensus is full and the "
            "specificities are nan (there is no background to estimate them from)"
        )
        return StapleResult(np.full(shape, g, dtype=np.float32), sens, spec, g, 0, True, note)
    groups = VotePatterns.of(decisions)
    d, counts = groups.patterns.astype(np.float64), groups.counts
    p = np.full(readers, _INIT)
    q = np.full(readers, _INIT)
    w = np.zeros(len(counts))
    converged, iteration = False, 0
    for _ in range(max_iter):
        iteration += 1
        lp, l1p = np.log(np.clip(p, _EPS, 1.0)), np.log(np.clip(1.0 - p, _EPS, 1.0))
        lq, l1q = np.log(np.clip(q, _EPS, 1.0)), np.log(np.clip(1.0 - q, _EPS, 1.0))
        log_a = np.log(g) + d @ lp + (1.0 - d) @ l1p
        log_b = np.log(1.0 - g) + (1.0 - d) @ lq + d @ l1q
        w = 1.0 / (1.0 + np.exp(np.clip(log_b - log_a, -700.0, 700.0)))
        cw, cnw = counts * w, counts * (1.0 - w)
        new_p = (cw @ d) / max(cw.sum(), _EPS)
        new_q = (cnw @ (1.0 - d)) / max(cnw.sum(), _EPS)
        change = max(np.abs(new_p - p).max(), np.abs(new_q - q).max())
        p, q = new_p, new_q
        if change < tol:
            converged = True
            break
    probability = groups.expand(w).reshape(shape)
    return StapleResult(probability, p, q, g, iteration, converged)


def staple_multilabel(
    label_maps: ArrayLike | Sequence[ArrayLike],
    *,
    n_labels: int | None = None,
    max_iter: int = 1000,
    tol: float = 1e-7,
) -> MultiLabelStapleResult:
    """Multi-label STAPLE: consensus label probabilities and per-reader confusion matrices.

    Parameters
    ----------
    label_maps
        ``(readers, ...)`` integer label maps (labels ``0 … n_labels − 1``), ≥ 2 readers.
    n_labels
        Number of labels; default largest label + 1.
    max_iter
        Most EM rounds.
    tol
        Stop when no confusion-matrix entry changes by more than this.

    Returns
    -------
    MultiLabelStapleResult
        Label probabilities, consensus and confusion matrices.

    Raises
    ------
    ConsensusInputError
        On missing (``-1``) or out-of-range labels, or fewer than two readers.
    """
    _check_iter(max_iter, tol)
    votes = as_votes(label_maps, min_readers=2).astype(np.int64)
    if votes.min() < 0:
        raise ConsensusInputError("staple_multilabel needs a label from every reader (no -1).")
    n = int(votes.max()) + 1 if n_labels is None else int(n_labels)
    if n < 2:
        raise ConsensusInputError(
            "staple_multilabel needs at least 2 labels, but every vote is label 0 (nothing "
            "was marked); pass n_labels= (the guideline's label count) to run it anyway."
        )
    if votes.max() >= n:
        raise ConsensusInputError(f"labels must lie in 0..{n - 1}; raise n_labels.")
    readers, shape = votes.shape[0], votes.shape[1:]
    prior = np.bincount(votes.ravel(), minlength=n) / votes.size
    groups = VotePatterns.of(votes)
    pats, counts = groups.patterns, groups.counts
    theta = np.full((readers, n, n), (1.0 - _INIT) / (n - 1))
    theta[:, np.arange(n), np.arange(n)] = _INIT
    log_prior = np.log(np.clip(prior, _EPS, 1.0))
    log_prior[prior == 0] = -np.inf
    reader_idx = np.arange(readers)
    one_hot = pats[:, :, None] == np.arange(n)[None, None, :]  # (U, R, L)
    w = np.zeros((len(pats), n))
    converged, iteration = False, 0
    for _ in range(max_iter):
        iteration += 1
        log_theta = np.log(np.clip(theta, _EPS, 1.0))  # (R, S, L)
        # log P(votes of pattern u | truth s) = Σ_j log θ_j[s, pats[u, j]]
        log_like = log_theta[reader_idx[None, :], :, pats].sum(axis=1)  # (U, S)
        log_post = log_prior[None, :] + log_like
        log_post -= log_post.max(axis=1, keepdims=True)
        w = np.exp(log_post)
        w /= w.sum(axis=1, keepdims=True)
        cw = counts[:, None] * w  # (U, S)
        mass = cw.sum(axis=0)  # (S,)
        new_theta = np.einsum("us,url->rsl", cw, one_hot.astype(np.float64))
        with np.errstate(divide="ignore", invalid="ignore"):
            new_theta = np.where(mass[None, :, None] > 0, new_theta / mass[None, :, None], theta)
        change = float(np.abs(new_theta - theta).max())
        theta = new_theta
        if change < tol:
            converged = True
            break
    probabilities = np.stack([groups.expand(w[:, s]) for s in range(n)]).reshape((n, *shape))
    unused = np.flatnonzero(prior == 0).tolist()
    note = (
        f"labels {unused} were never voted: their rows of confusion keep the starting "
        "values, as there is nothing to estimate them from"
        if unused
        else ""
    )
    return MultiLabelStapleResult(probabilities, theta, prior, iteration, converged, note)
