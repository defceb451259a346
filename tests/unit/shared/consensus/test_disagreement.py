import math

import numpy as np
import pytest

from shared.agreement import dice
from shared.consensus import ConsensusInputError, label_disagreement, mask_disagreement


def test_label_disagreement_normalised_entropy() -> None:
    votes = [[0, 0, 0, -1], [0, 1, 1, -1], [0, 2, 1, -1]]
    scores = label_disagreement(votes, n_labels=3)
    assert scores[0] == 0.0
    assert scores[1] == pytest.approx(1.0)  # one vote each for 3 labels
    expected = -(1 / 3 * math.log(1 / 3) + 2 / 3 * math.log(2 / 3)) / math.log(3)
    assert scores[2] == pytest.approx(expected)
    assert math.isnan(scores[3])


def test_single_label_scores_zero() -> None:
    assert label_disagreement([[0, 0], [0, 0]], n_labels=1).tolist() == [0.0, 0.0]


def test_mask_disagreement_is_one_minus_mean_pairwise_dice() -> None:
    rng = np.random.default_rng(0)
    masks = [rng.random((6, 6)) < 0.5 for _ in range(3)]
    pairs = [dice(masks[i], masks[j]) for i in range(3) for j in range(i + 1, 3)]
    assert mask_disagreement(masks) == pytest.approx(1 - np.mean(pairs))
    assert mask_disagreement([masks[0], masks[0]]) == 0.0
    empty = np.zeros((3, 3), bool)
    assert mask_disagreement([empty, empty]) == 0.0
    assert mask_disagreement([empty, np.ones((3, 3), bool)]) == 1.0


def test_validation() -> None:
    with pytest.raises(ConsensusInputError, match="at least 2"):
        mask_disagreement([np.zeros((2, 2), bool)])
    with pytest.raises(ConsensusInputError, match="boolean"):
        mask_disagreement([np.full((2, 2), 3), np.zeros((2, 2), int)])
