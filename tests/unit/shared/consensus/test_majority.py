import numpy as np
import pytest

from shared.consensus import ConsensusInputError, majority_vote


def test_labels_majority_support_and_ties_to_lowest() -> None:
    votes = [[0, 1, 2, 3], [0, 1, 1, 2], [1, 2, 2, 1]]
    result = majority_vote(votes)
    assert result.consensus.tolist() == [0, 1, 2, 1]
    assert result.support.tolist() == pytest.approx([2 / 3, 2 / 3, 2 / 3, 1 / 3])
    assert result.tied.tolist() == [False, False, False, True]


def test_missing_votes_are_ignored() -> None:
    votes = [[-1, 2, -1], [-1, 2, 1], [-1, 0, -1]]
    result = majority_vote(votes)
    assert result.consensus.tolist() == [-1, 2, 1]
    assert result.support.tolist() == pytest.approx([0.0, 2 / 3, 1.0])
    assert result.tied.tolist() == [False, False, False]


def test_masks_need_strict_majority_ties_to_background() -> None:
    a = np.array([[1, 1], [0, 0]], bool)
    b = np.array([[1, 0], [1, 0]], bool)
    result = majority_vote([a, b])
    assert result.consensus.dtype == np.bool_
    assert result.consensus.tolist() == [[True, False], [False, False]]
    assert result.tied.tolist() == [[False, True], [True, False]]
    three = majority_vote([a, b, b])
    assert three.consensus.tolist() == [[True, False], [True, False]]


def test_label_maps_3d() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, (3, 5, 5))
    readers = [np.where(rng.random(truth.shape) < 0.9, truth, 0) for _ in range(5)]
    result = majority_vote(readers)
    assert result.consensus.shape == truth.shape
    assert (result.consensus == truth).mean() > 0.9


def test_validation() -> None:
    with pytest.raises(ConsensusInputError, match="same shape"):
        majority_vote([np.zeros(3, int), np.zeros(4, int)])
    with pytest.raises(ConsensusInputError, match="dtype"):
        majority_vote([[0.5, 1.0]])
    with pytest.raises(ConsensusInputError, match="-1"):
        majority_vote([[0, -2]])
    with pytest.raises(ConsensusInputError, match="empty"):
        majority_vote(np.zeros((2, 0), int))
    with pytest.raises(ConsensusInputError, match="outside"):
        majority_vote([[0, 3]], n_labels=2)
