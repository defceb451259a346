"""Dice, IoU, Hausdorff/HD95 and ASSD against MONAI's metrics, 2D and anisotropic 3D.

MONAI takes ``(batch, channel, *spatial)`` one-hot tensors. Each pair of masks is
given as two channels ``[background, foreground]`` with ``include_background=False``
(the way MONAI is used on label maps), and once more as a single foreground channel
with ``include_background=True``; both must give our figure.

Definitions compared (and where they differ):

* Dice/IoU: identical counts. MONAI's ``ignore_empty=True`` default gives ``nan`` when
  the reference mask is empty; with ``ignore_empty=False`` it gives 1.0 for two empty
  masks and 0.0 for one, which is our convention.
* Surfaces: both take ``mask ^ erode(mask)`` with the face-connected structuring element
  and zero outside the image (MONAI crops to the union's bounding box with a margin of 1
  and pads, which is the same thing), and both measure Euclidean mm with the spacing.
* HD95: both take the 95th percentile (linear interpolation) of *each* directed
  distance set and return the larger of the two; MONAI in float32.
* ASSD: ``SurfaceDistanceMetric(symmetric=True)`` averages the concatenated directed
  distances, ``(Σ d(A→B) + Σ d(B→A)) / (|S_A| + |S_B|)`` — our definition.
* Empty masks: one empty gives ``inf`` in both (MONAI warns). Two empty masks give
  MONAI's ``nan`` (with a warning) and our documented 0.0.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from monai.metrics import (
    DiceMetric,
    HausdorffDistanceMetric,
    MeanIoU,
    SurfaceDistanceMetric,
)
from scipy import ndimage

from shared.agreement import dice, hausdorff, iou, surface_distance

CASES = [
    ((64, 80), (0.5, 0.8)),
    ((96, 96), None),
    ((20, 48, 40), (2.5, 0.7, 0.7)),
    ((16, 40, 40), (5.0, 0.9, 1.1)),
]


def _blob(rng: np.random.Generator, shape: tuple[int, ...], level: float) -> np.ndarray:
    """An irregular mask: smoothed noise above ``level``, kept off the border half the time."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=3)
    return field > level * field.std()


def _pair(seed: int, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = _blob(rng, shape, 0.4)
    b = a ^ (_blob(rng, shape, 1.2) & (rng.random(shape) < 0.7))
    assert a.any() and b.any()
    return a, b


def _two_channel(mask: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.stack([~mask, mask])[None].astype(np.float32))


def _one_channel(mask: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(mask[None, None].astype(np.float32))


def _monai(metric: object, a: np.ndarray, b: np.ndarray, background: bool, **kw: object) -> float:
    make = _one_channel if background else _two_channel
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MONAI warns on empty masks; the value is compared
        value = metric(make(a), make(b), **kw)  # type: ignore[operator]
    return float(value.reshape(-1)[0])


@pytest.mark.parametrize("background", [False, True], ids=["two-channel", "fg-channel"])
@pytest.mark.parametrize(("shape", "spacing"), CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_dice_and_iou_match_monai(
    seed: int, shape: tuple[int, ...], spacing: tuple[float, ...] | None, background: bool
) -> None:
    a, b = _pair(seed, shape)
    ref_dice = _monai(DiceMetric(include_background=background, reduction="none"), a, b, background)
    ref_iou = _monai(MeanIoU(include_background=background, reduction="none"), a, b, background)
    assert dice(a, b) == pytest.approx(ref_dice, rel=1e-6)
    assert iou(a, b) == pytest.approx(ref_iou, rel=1e-6)


@pytest.mark.parametrize("background", [False, True], ids=["two-channel", "fg-channel"])
@pytest.mark.parametrize(("shape", "spacing"), CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_hausdorff_hd95_and_assd_match_monai(
    seed: int, shape: tuple[int, ...], spacing: tuple[float, ...] | None, background: bool
) -> None:
    a, b = _pair(seed, shape)
    kw = {} if spacing is None else {"spacing": list(spacing)}
    hd = HausdorffDistanceMetric(include_background=background, reduction="none")
    hd95 = HausdorffDistanceMetric(include_background=background, percentile=95, reduction="none")
    assd = SurfaceDistanceMetric(include_background=background, symmetric=True, reduction="none")
    assert hausdorff(a, b, spacing) == pytest.approx(_monai(hd, a, b, background, **kw), rel=1e-5)
    assert hausdorff(a, b, spacing, percentile=95) == pytest.approx(
        _monai(hd95, a, b, background, **kw), rel=1e-5
    )
    assert surface_distance(a, b, spacing) == pytest.approx(
        _monai(assd, a, b, background, **kw), rel=1e-5
    )


def test_masks_touching_the_image_edge_match_monai() -> None:
    a = np.zeros((30, 30), bool)
    b = np.zeros((30, 30), bool)
    a[:12, :20] = True
    b[3:, 10:] = True
    hd95 = HausdorffDistanceMetric(include_background=False, percentile=95, reduction="none")
    assd = SurfaceDistanceMetric(include_background=False, symmetric=True, reduction="none")
    spacing = (0.6, 1.4)
    assert hausdorff(a, b, spacing, 95) == pytest.approx(
        _monai(hd95, a, b, False, spacing=list(spacing)), rel=1e-5
    )
    assert surface_distance(a, b, spacing) == pytest.approx(
        _monai(assd, a, b, False, spacing=list(spacing)), rel=1e-5
    )


def test_empty_masks_conventions_against_monai() -> None:
    empty = np.zeros((24, 24), bool)
    full = np.zeros((24, 24), bool)
    full[5:15, 6:12] = True
    # One empty mask: Dice/IoU 0 in both; distances inf in both.
    assert dice(empty, full) == _monai(
        DiceMetric(include_background=False, ignore_empty=False), empty, full, False
    )
    assert iou(full, empty) == _monai(
        MeanIoU(include_background=False, ignore_empty=False), full, empty, False
    )
    hd = HausdorffDistanceMetric(include_background=False, reduction="none")
    assert hausdorff(full, empty) == math.inf == _monai(hd, full, empty, False)
    # Both empty: ours is 1.0 (Dice/IoU) and 0.0 mm; MONAI's ignore_empty=False agrees
    # on Dice/IoU, and its distances are nan — a documented difference.
    assert (
        dice(empty, empty)
        == 1.0
        == _monai(DiceMetric(include_background=False, ignore_empty=False), empty, empty, False)
    )
    assert (
        iou(empty, empty)
        == 1.0
        == _monai(MeanIoU(include_background=False, ignore_empty=False), empty, empty, False)
    )
    assert hausdorff(empty, empty) == 0.0
    assert math.isnan(_monai(hd, empty, empty, False))
