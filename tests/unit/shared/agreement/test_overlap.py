import numpy as np
import pytest

from shared.agreement import (
    AgreementInputError,
    OverlapStats,
    ShapeMismatchError,
    SpacingError,
    dice,
    iou,
    volume_difference,
)


def test_dice_and_iou_known_values() -> None:
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2, :2] = True  # 4 voxels
    b[:2, :3] = True  # 6 voxels, overlap 4
    assert dice(a, b) == pytest.approx(8 / 10)
    assert iou(a, b) == pytest.approx(4 / 6)


def test_dice_iou_relation(two_balls: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = two_balls
    d, j = dice(a, b), iou(a, b)
    assert d == pytest.approx(2 * j / (1 + j))


def test_empty_mask_conventions() -> None:
    empty = np.zeros((3, 3), bool)
    full = np.ones((3, 3), bool)
    assert dice(empty, empty) == 1.0 and iou(empty, empty) == 1.0
    assert dice(empty, full) == 0.0 and iou(full, empty) == 0.0
    assert volume_difference(empty, empty, relative=True) == 0.0


def test_integer_zero_one_masks_accepted_label_maps_refused() -> None:
    a = np.array([[0, 1], [1, 1]], dtype=np.uint8)
    assert dice(a, a) == 1.0
    with pytest.raises(AgreementInputError, match="other than 0 and 1"):
        dice(a * 2, a)
    with pytest.raises(AgreementInputError, match="boolean mask"):
        dice(a.astype(float), a)
    with pytest.raises(ShapeMismatchError, match="same grid"):
        dice(np.zeros((2, 2), bool), np.zeros((2, 3), bool))


def test_volume_difference_in_mm3() -> None:
    a = np.zeros((2, 4, 4), bool)
    b = np.zeros((2, 4, 4), bool)
    a[0, :2, :2] = True  # 4 voxels
    b[:, :2, :2] = True  # 8 voxels
    assert volume_difference(a, b, (2.0, 0.5, 0.5)) == pytest.approx(4 * 0.5)
    assert volume_difference(a, b, relative=True) == pytest.approx(4 / 6)
    with pytest.raises(SpacingError, match="positive"):
        volume_difference(a, b, (1.0, -1.0, 1.0))
    with pytest.raises(SpacingError, match="one value per array axis"):
        volume_difference(a, b, (1.0, 1.0))


def test_overlap_stats_per_label_and_pooled() -> None:
    a = np.array([[0, 1, 1], [2, 2, 0]])
    b = np.array([[0, 1, 2], [2, 2, 0]])
    stats = OverlapStats.from_label_maps(a, b, [1, 2, 3])
    assert stats.pooled_dice() == {1: pytest.approx(2 / 3), 2: pytest.approx(0.8), 3: 1.0}
    assert stats.both_empty.tolist() == [0, 0, 1]
    second = OverlapStats.from_label_maps(b, b, [1, 2, 3])
    pooled = stats + second
    assert pooled.n_cases == 2
    # pooled Dice is voxel-weighted: 2·(1+1)/((2+1)+(1+1)) for label 1
    assert pooled.pooled_dice()[1] == pytest.approx(4 / 5)
    assert pooled.mean_dice()[1] == pytest.approx((2 / 3 + 1) / 2)
    assert pooled.pooled_iou()[2] == pytest.approx((2 + 3) / (3 + 3))
    assert pooled.dice_histogram.sum() == 6
    assert pooled.dice_bin_edges()[-1] == 1.0


def test_overlap_stats_rejects_float_maps() -> None:
    with pytest.raises(AgreementInputError, match="integer label map"):
        OverlapStats.from_label_maps(np.zeros((2, 2)), np.zeros((2, 2)), [1])
