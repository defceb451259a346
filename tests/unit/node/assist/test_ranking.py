"""The ranking's formulas: bounds, closed forms, and a simulation of two readers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from node.assist import (
    LabelFigures,
    RankingWeights,
    class_disagreement,
    class_uncertainty,
    mask_disagreement,
    mask_uncertainty,
    priority_of,
    score_task,
)
from node.assist.ranking import REGION_FLOOR, binary_entropy
from shared.agreement.overlap import dice


def test_binary_entropy_is_one_bit_at_a_half_and_zero_at_the_ends() -> None:
    h = binary_entropy([0.0, 0.5, 1.0, 0.25])
    assert h[0] == 0.0 and h[2] == 0.0
    assert h[1] == pytest.approx(1.0)
    assert h[3] == pytest.approx(-(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75)))


def test_mask_uncertainty_averages_entropy_over_the_region_only() -> None:
    p = np.zeros((4, 8, 8), dtype=np.float32)
    assert mask_uncertainty(p) == 0.0  # sure there is nothing
    p[1, 2:4, 2:4] = 0.5
    p[2, 0, 0] = REGION_FLOOR / 2  # below the floor: ignored
    assert mask_uncertainty(p) == pytest.approx(1.0)
    p[1, 2:4, 4:6] = 1.0  # confident voxels dilute it
    assert mask_uncertainty(p) == pytest.approx(0.5)


def test_mc_dropout_gives_mutual_information() -> None:
    passes = np.array([[0.9, 0.2], [0.1, 0.2]])  # two passes over two voxels
    mean = passes.mean(axis=0)
    mean_entropy = binary_entropy(passes).mean(axis=0)
    expected = (binary_entropy(mean) - mean_entropy).mean()
    assert mask_uncertainty(mean, mean_entropy) == pytest.approx(expected)
    # the second voxel's passes agree: no epistemic uncertainty there
    assert mask_uncertainty(mean[1:], mean_entropy[1:]) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="shape"):
        mask_uncertainty(mean, mean_entropy[:1])


def test_mask_disagreement_closed_forms() -> None:
    certain = np.zeros((2, 10, 10))
    certain[0, :5, :5] = 1.0
    assert mask_disagreement(certain) == 0.0
    assert mask_disagreement(np.zeros((2, 10, 10))) == 0.0  # nobody marks anything
    assert mask_disagreement(np.full((2, 10, 10), 0.5)) == pytest.approx(0.5)


def test_mask_disagreement_predicts_the_dice_of_two_simulated_readers() -> None:
    rng = np.random.default_rng(7)
    p = np.zeros((3, 40, 40))
    yy, xx = np.mgrid[:40, :40]
    r = np.hypot(yy - 20, xx - 20)
    p[1] = np.clip((12 - r) / 6, 0, 1)  # a lesion with a 6-pixel uncertain rim
    p[0] = p[2] = np.clip((8 - r) / 6, 0, 1)
    dices = [dice(rng.random(p.shape) < p, rng.random(p.shape) < p) for _ in range(200)]
    assert 1 - float(np.mean(dices)) == pytest.approx(mask_disagreement(p), abs=0.01)


def test_class_figures() -> None:
    assert class_uncertainty([0.25] * 4) == pytest.approx(1.0)
    assert class_disagreement([0.25] * 4) == pytest.approx(1.0)
    assert class_uncertainty([1.0, 0.0, 0.0]) == pytest.approx(0.0)
    assert class_disagreement([1.0, 0.0, 0.0]) == pytest.approx(0.0)
    # two classes at 0.8/0.2: readers disagree with chance 2*0.8*0.2 = 0.32, scaled by 1/(1-1/2)
    assert class_disagreement([0.8, 0.2]) == pytest.approx(0.64)
    assert class_uncertainty([2.0, 2.0]) == pytest.approx(1.0)  # normalised
    assert class_uncertainty([0.5, 0.5], mean_entropy=1.0) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="two classes"):
        class_uncertainty([1.0])
    with pytest.raises(ValueError, match="positive sum"):
        class_disagreement([0.0, 0.0])


def test_score_and_priority() -> None:
    figures = [
        LabelFigures("a", "mask", 0.2, 0.6, "entropy"),
        LabelFigures("b", "classification", 0.4, 0.0, "entropy"),
    ]
    score = score_task(5, figures)
    assert (score.uncertainty, score.disagreement) == pytest.approx((0.3, 0.3))
    assert score.score == pytest.approx(0.3) and score.priority == 300
    assert score.detail["labels"][0]["label"] == "a"
    only_u = score_task(5, figures, RankingWeights(uncertainty=1.0, disagreement=0.0))
    assert only_u.score == pytest.approx(0.3) and only_u.priority == 300
    assert score_task(6, []).priority == 0
    assert priority_of(1.5) == 1000 and priority_of(-1) == 0 and priority_of(0.1234) == 123
    with pytest.raises(ValueError, match="non-negative"):
        RankingWeights(uncertainty=0.0, disagreement=0.0)
    with pytest.raises(ValueError, match="non-negative"):
        RankingWeights(uncertainty=-1.0)
