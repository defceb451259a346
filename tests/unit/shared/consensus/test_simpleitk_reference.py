"""Majority vote and multi-label STAPLE against SimpleITK's LabelVoting and MultiLabelSTAPLE.

Ties: SimpleITK gives tied voxels a "label for undecided pixels" (set here to 255);
our documented rule gives them the lowest tied label and flags them in ``tied``. So
the comparison is: equal labels wherever SimpleITK decided, ``tied`` exactly where it
did not, and there the lowest of the labels with the top count (counted here
independently).

Multi-label STAPLE: ITK starts EM from a majority vote, we start from 0.99999 on the
diagonal; both fix the prior at each label's share of all votes and reach the same
fixed point. ITK's confusion matrix is ``(labels + 1) × labels`` with rows the
reader's label (the extra row is "undecided") and columns the true label, i.e. our
``confusion[j].T`` plus a zero row.
"""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk  # noqa: N813 - the library's own convention

from shared.consensus import majority_vote, staple_multilabel

UNDECIDED = 255


def _images(maps: list[np.ndarray]) -> list[sitk.Image]:
    return [sitk.GetImageFromArray(m.astype(np.uint8)) for m in maps]


def _sitk_voting(maps: list[np.ndarray]) -> np.ndarray:
    voting = sitk.LabelVotingImageFilter()
    voting.SetLabelForUndecidedPixels(UNDECIDED)
    return sitk.GetArrayFromImage(voting.Execute(_images(maps)))


def _lowest_top_label(maps: list[np.ndarray]) -> np.ndarray:
    stacked = np.stack(maps).reshape(len(maps), -1)
    out = np.empty(stacked.shape[1], dtype=np.int64)
    for voxel in range(stacked.shape[1]):
        counts = np.bincount(stacked[:, voxel])
        out[voxel] = int(np.flatnonzero(counts == counts.max())[0])
    return out.reshape(maps[0].shape)


def _noisy_label_maps(
    seed: int, shape: tuple[int, ...], accuracies: list[float], n_labels: int
) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = np.zeros(shape, dtype=np.int64)
    for label in range(1, n_labels):
        lo = [rng.integers(0, s // 2) for s in shape]
        hi = [low + rng.integers(s // 4, s // 2) for low, s in zip(lo, shape, strict=True)]
        truth[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))] = label
    return [
        np.where(rng.random(shape) < acc, truth, rng.integers(0, n_labels, shape))
        for acc in accuracies
    ]


@pytest.mark.parametrize(
    ("readers", "shape", "n_labels"),
    [(3, (40, 40), 3), (4, (40, 40), 4), (5, (10, 20, 20), 3), (6, (8, 16, 16), 5)],
)
def test_label_maps_majority_vote_matches_label_voting(
    readers: int, shape: tuple[int, ...], n_labels: int
) -> None:
    rng = np.random.default_rng(readers)
    maps = [rng.integers(0, n_labels, shape) for _ in range(readers)]
    reference = _sitk_voting(maps)
    result = majority_vote(maps)
    decided = reference != UNDECIDED
    assert decided.any() and (~decided).any()
    np.testing.assert_array_equal(result.consensus[decided], reference[decided])
    np.testing.assert_array_equal(result.tied, ~decided)
    np.testing.assert_array_equal(result.consensus[~decided], _lowest_top_label(maps)[~decided])


@pytest.mark.parametrize("readers", [2, 3, 4, 5])
def test_mask_majority_vote_matches_label_voting(readers: int) -> None:
    rng = np.random.default_rng(10 + readers)
    masks = [rng.random((12, 24, 24)) < 0.4 for _ in range(readers)]
    reference = _sitk_voting(masks)
    result = majority_vote(masks)
    decided = reference != UNDECIDED
    assert result.consensus.dtype == np.bool_
    np.testing.assert_array_equal(result.consensus[decided], reference[decided].astype(bool))
    np.testing.assert_array_equal(result.tied, ~decided)
    # Our rule: a tie goes to background (a strict majority is needed for foreground).
    assert not result.consensus[~decided].any()
    if readers % 2:
        assert decided.all()


def _sitk_multilabel_staple(maps: list[np.ndarray], n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    filt = sitk.MultiLabelSTAPLEImageFilter()
    filt.SetLabelForUndecidedPixels(UNDECIDED)
    filt.SetTerminationUpdateThreshold(1e-8)
    filt.SetMaximumNumberOfIterations(1000)
    labels = sitk.GetArrayFromImage(filt.Execute(_images(maps)))
    confusion = np.stack(
        [
            np.asarray(filt.GetConfusionMatrix(j)).reshape(n_labels + 1, n_labels)
            for j in range(len(maps))
        ]
    )
    return labels, confusion


@pytest.mark.parametrize(
    ("seed", "shape", "accuracies", "n_labels"),
    [
        (0, (48, 48), [0.9, 0.8, 0.95], 3),
        (1, (48, 48), [0.9, 0.75, 0.95, 0.85], 4),
        (2, (12, 32, 32), [0.85, 0.9, 0.7, 0.95, 0.8], 3),
        (3, (10, 24, 24), [0.6, 0.9, 0.8], 5),
    ],
)
def test_multilabel_staple_matches_simpleitk(
    seed: int, shape: tuple[int, ...], accuracies: list[float], n_labels: int
) -> None:
    maps = _noisy_label_maps(seed, shape, accuracies, n_labels)
    labels, confusion = _sitk_multilabel_staple(maps, n_labels)
    result = staple_multilabel(maps, n_labels=n_labels, tol=1e-9)
    assert result.converged
    # ITK rows: the reader's label (+ an all-zero "undecided" row); columns: true label.
    np.testing.assert_allclose(confusion[:, n_labels, :], 0.0)
    np.testing.assert_allclose(
        np.transpose(result.confusion, (0, 2, 1)), confusion[:, :n_labels, :], atol=1e-5
    )
    decided = labels != UNDECIDED
    assert decided.mean() > 0.99
    np.testing.assert_array_equal(result.consensus[decided], labels[decided])
    # ITK leaves a voxel undecided only on an exact tie of posteriors.
    top = np.sort(result.probabilities, axis=0)
    assert np.allclose(top[-1][~decided], top[-2][~decided])
