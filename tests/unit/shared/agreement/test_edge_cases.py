"""Every public metric and consensus method × the issue's edge cases, and the documented outcome.

Edge cases: all readers agree; nothing marked (no positives, empty masks, no items);
a single reader; missing ratings; only one category used. Each row states what the
docstring promises — a value, an ``Estimate`` that is undefined with its reason in
``note``, or a typed error — and the table test checks it. A guard also checks that
no row returns a NaN without a reason: floats are never NaN, estimates that are NaN
carry a note, and result arrays hold no NaN (the one documented exception, unread
items in ``label_disagreement``, is asserted explicitly).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from shared.agreement import (
    AgreementError,
    AgreementInputError,
    DetectionStats,
    DistanceHistogramStats,
    EmptyInputError,
    Estimate,
    OverlapStats,
    ShapeMismatchError,
    bland_altman,
    cohen_kappa,
    dice,
    fleiss_kappa,
    hausdorff,
    icc,
    iou,
    krippendorff_alpha,
    match_boxes,
    match_keypoints,
    percent_agreement,
    surface_distance,
    volume_difference,
)
from shared.consensus import (
    ConsensusInputError,
    label_disagreement,
    majority_vote,
    mask_disagreement,
    staple,
    staple_multilabel,
)

NAN = math.nan
LABELS = [0, 1, 2, 0, 1, 2]
ONE_CATEGORY = [1, 1, 1, 1]

EMPTY = np.zeros((12, 12), bool)
BLOB = np.zeros((12, 12), bool)
BLOB[3:8, 4:9] = True
FULL = np.ones((12, 12), bool)
NAN_MASK = np.where(BLOB, 1.0, NAN)


@dataclass(frozen=True)
class Row:
    """One function × edge case: what to call and the documented outcome."""

    call: Callable[[], Any]
    check: Callable[[Any], bool] | None = None  # a documented value
    undefined: str | None = None  # an undefined Estimate whose note contains this
    raises: type[Exception] | None = None  # a typed error
    match: str | None = None  # what the message must say


def value(expected: float) -> Callable[[Any], bool]:
    def check(result: Any) -> bool:
        got = result.value if isinstance(result, Estimate) else result
        return bool(got == pytest.approx(expected))

    return check


def finite(result: Any) -> bool:
    return bool(np.isfinite(result.value if isinstance(result, Estimate) else result))


ROWS: dict[str, Row] = {
    # Cohen's kappa (two readers): one category used → undefined, p_e = 1.
    "cohen/agree": Row(lambda: cohen_kappa(LABELS, LABELS), value(1.0)),
    "cohen/empty": Row(lambda: cohen_kappa([], []), raises=EmptyInputError, match="empty"),
    "cohen/single": Row(lambda: cohen_kappa(LABELS, []), raises=EmptyInputError, match="empty"),
    "cohen/missing": Row(
        lambda: cohen_kappa([0, NAN, 1], [0, 1, 1]), raises=AgreementInputError, match="NaN"
    ),
    "cohen/one-category": Row(
        lambda: cohen_kappa(ONE_CATEGORY, ONE_CATEGORY), undefined="expected agreement is 1"
    ),
    "cohen-quadratic/agree": Row(lambda: cohen_kappa(LABELS, LABELS, "quadratic"), value(1.0)),
    "cohen-quadratic/one-category": Row(
        lambda: cohen_kappa(ONE_CATEGORY, ONE_CATEGORY, "quadratic"),
        undefined="expected agreement is 1",
    ),
    # Fleiss' kappa (items × categories counts).
    "fleiss/agree": Row(lambda: fleiss_kappa([[3, 0], [0, 3], [3, 0]]), value(1.0)),
    "fleiss/empty": Row(lambda: fleiss_kappa(np.zeros((0, 2))), raises=EmptyInputError),
    "fleiss/single": Row(
        lambda: fleiss_kappa([[1, 0], [0, 1]]), raises=AgreementInputError, match="at least 2"
    ),
    "fleiss/missing": Row(
        lambda: fleiss_kappa([[3, 0], [1, 1]]), raises=AgreementInputError, match="krippendorff"
    ),
    "fleiss/one-category": Row(
        lambda: fleiss_kappa([[3, 0], [3, 0]]), undefined="every rating is in one category"
    ),
    # Krippendorff's alpha (readers × items, NaN = missing).
    "alpha/agree": Row(lambda: krippendorff_alpha([LABELS, LABELS], n_boot=50), value(1.0)),
    "alpha/empty": Row(lambda: krippendorff_alpha(np.empty((2, 0))), raises=EmptyInputError),
    "alpha/all-missing": Row(
        lambda: krippendorff_alpha([[NAN, NAN], [NAN, NAN]]), raises=EmptyInputError
    ),
    "alpha/single": Row(
        lambda: krippendorff_alpha([LABELS]), raises=EmptyInputError, match="two or more ratings"
    ),
    "alpha/missing": Row(
        lambda: krippendorff_alpha([[1, 2, NAN, 3], [1, 2, 3, NAN], [NAN, 2, 3, 3]], n_boot=50),
        finite,
    ),
    "alpha/one-category": Row(
        lambda: krippendorff_alpha([ONE_CATEGORY, ONE_CATEGORY]),
        undefined="expected disagreement is 0",
    ),
    "alpha-interval/one-category": Row(
        lambda: krippendorff_alpha([ONE_CATEGORY, ONE_CATEGORY], "interval"),
        undefined="expected disagreement is 0",
    ),
    # Percent agreement.
    "percent/agree": Row(lambda: percent_agreement([LABELS, LABELS, LABELS]), value(1.0)),
    "percent/empty": Row(lambda: percent_agreement(np.empty((2, 0))), raises=EmptyInputError),
    "percent/single": Row(lambda: percent_agreement([LABELS]), raises=EmptyInputError),
    "percent/missing": Row(lambda: percent_agreement([[1, 2, NAN], [1, 3, 2]]), value(0.5)),
    "percent/one-category": Row(
        lambda: percent_agreement([ONE_CATEGORY, ONE_CATEGORY]), value(1.0)
    ),
    # Dice, IoU, volume difference (masks: "one category" = every voxel marked).
    "dice/agree": Row(lambda: dice(BLOB, BLOB), value(1.0)),
    "dice/empty": Row(lambda: dice(EMPTY, EMPTY), value(1.0)),
    "dice/one-empty": Row(lambda: dice(BLOB, EMPTY), value(0.0)),
    "dice/single": Row(lambda: dice(BLOB, None), raises=AgreementInputError, match="mask"),
    "dice/missing": Row(lambda: dice(BLOB, NAN_MASK), raises=AgreementInputError),
    "dice/one-category": Row(lambda: dice(FULL, FULL), value(1.0)),
    "iou/agree": Row(lambda: iou(BLOB, BLOB), value(1.0)),
    "iou/empty": Row(lambda: iou(EMPTY, EMPTY), value(1.0)),
    "iou/one-empty": Row(lambda: iou(EMPTY, BLOB), value(0.0)),
    "iou/single": Row(lambda: iou(BLOB, None), raises=AgreementInputError),
    "iou/missing": Row(lambda: iou(NAN_MASK, BLOB), raises=AgreementInputError),
    "iou/one-category": Row(lambda: iou(FULL, FULL), value(1.0)),
    "volume/agree": Row(lambda: volume_difference(BLOB, BLOB, relative=True), value(0.0)),
    "volume/empty": Row(lambda: volume_difference(EMPTY, EMPTY, relative=True), value(0.0)),
    "volume/one-empty": Row(lambda: volume_difference(BLOB, EMPTY, relative=True), value(-2.0)),
    "volume/single": Row(lambda: volume_difference(BLOB, None), raises=AgreementInputError),
    "volume/missing": Row(lambda: volume_difference(BLOB, NAN_MASK), raises=AgreementInputError),
    "volume/one-category": Row(lambda: volume_difference(FULL, FULL), value(0.0)),
    # Surface distances: both empty 0.0, exactly one empty inf (documented, not NaN).
    "hausdorff/agree": Row(lambda: hausdorff(BLOB, BLOB, (0.5, 0.7), 95), value(0.0)),
    "hausdorff/empty": Row(lambda: hausdorff(EMPTY, EMPTY), value(0.0)),
    "hausdorff/one-empty": Row(lambda: hausdorff(BLOB, EMPTY), value(math.inf)),
    "hausdorff/single": Row(lambda: hausdorff(BLOB, None), raises=AgreementInputError),
    "hausdorff/missing": Row(lambda: hausdorff(BLOB, NAN_MASK), raises=AgreementInputError),
    "hausdorff/one-category": Row(lambda: hausdorff(FULL, FULL), value(0.0)),
    "assd/agree": Row(lambda: surface_distance(BLOB, BLOB), value(0.0)),
    "assd/empty": Row(lambda: surface_distance(EMPTY, EMPTY), value(0.0)),
    "assd/one-empty": Row(lambda: surface_distance(EMPTY, BLOB), value(math.inf)),
    "assd/single": Row(lambda: surface_distance(BLOB, None), raises=AgreementInputError),
    "assd/missing": Row(lambda: surface_distance(NAN_MASK, BLOB), raises=AgreementInputError),
    "assd/one-category": Row(lambda: surface_distance(FULL, FULL), value(0.0)),
    # Summable statistics' summaries.
    "overlap-stats/agree": Row(
        lambda: OverlapStats.from_masks(BLOB, BLOB).mean_dice()[1], value(1.0)
    ),
    "overlap-stats/empty": Row(
        lambda: OverlapStats.from_masks(EMPTY, EMPTY).pooled_dice()[1], value(1.0)
    ),
    "overlap-stats/no-case": Row(
        lambda: OverlapStats([1], 0, [0], [0], [0], [0.0], [0], [[0, 0]]).mean_dice(),
        raises=EmptyInputError,
        match="no case",
    ),
    "distance-stats/agree": Row(
        lambda: DistanceHistogramStats.from_masks(BLOB, BLOB).pooled_assd()[1], value(0.0)
    ),
    "distance-stats/empty": Row(
        lambda: DistanceHistogramStats.from_masks(EMPTY, EMPTY).mean_case("hd95")[1],
        value(0.0),
    ),
    "distance-stats/one-empty": Row(
        lambda: DistanceHistogramStats.from_masks(EMPTY, BLOB).pooled_percentile(95)[1],
        value(math.inf),
    ),
    "distance-stats/no-case": Row(
        lambda: DistanceHistogramStats.from_arrays(
            {
                **DistanceHistogramStats.from_masks(EMPTY, EMPTY).to_arrays(),
                "n_cases": np.asarray(0),
                "both_empty": np.asarray([0]),
            }
        ).max_hausdorff(),
        raises=EmptyInputError,
        match="no case",
    ),
    # Detection: F1 is 1.0 when neither reader marked anything, 0.0 when one did not.
    "boxes/agree": Row(lambda: match_boxes([[0, 0, 4, 4]], [[0, 0, 4, 4]]).f1, value(1.0)),
    "boxes/empty": Row(lambda: match_boxes(np.empty((0, 4)), np.empty((0, 4))).f1, value(1.0)),
    "boxes/single": Row(lambda: match_boxes([[0, 0, 4, 4]], np.empty((0, 4))).f1, value(0.0)),
    "boxes/missing": Row(
        lambda: match_boxes([[0, 0, NAN, 4]], [[0, 0, 4, 4]]),
        raises=AgreementInputError,
        match="NaN",
    ),
    "keypoints/empty": Row(lambda: match_keypoints([], [], None, 2.0).f1, value(1.0)),
    "keypoints/missing": Row(
        lambda: match_keypoints([[NAN, 1]], [[1, 1]], None, 2.0), raises=AgreementInputError
    ),
    "detection-stats/empty": Row(
        lambda: DetectionStats.from_match(match_boxes(np.empty((0, 4)), np.empty((0, 4)))).f1(),
        value(1.0),
    ),
    "detection-stats/no-match": Row(
        lambda: DetectionStats.from_match(
            match_boxes([[0, 0, 4, 4]], np.empty((0, 4)))
        ).mean_matched_score(),
        raises=EmptyInputError,
        match="f1",
    ),
    # ICC and Bland–Altman (items × readers measurements).
    "icc/agree": Row(lambda: icc([[1.0, 1.0], [2.0, 2.0], [4.0, 4.0]]), value(1.0)),
    "icc/empty": Row(lambda: icc(np.empty((0, 2))), raises=EmptyInputError),
    "icc/single": Row(lambda: icc([[1.0], [2.0], [3.0]]), raises=AgreementInputError),
    "icc/missing": Row(lambda: icc([[1.0, NAN], [2.0, 3.0]]), raises=AgreementInputError),
    "icc/one-category": Row(lambda: icc([[2.0, 2.0], [2.0, 2.0]]), undefined="undefined"),
    "bland-altman/agree": Row(
        lambda: bland_altman([1.0, 2.0, 4.0], [1.0, 2.0, 4.0]).upper, value(0.0)
    ),
    "bland-altman/empty": Row(lambda: bland_altman([], []), raises=EmptyInputError),
    "bland-altman/single": Row(lambda: bland_altman([1.0, 2.0], []), raises=ShapeMismatchError),
    "bland-altman/missing": Row(
        lambda: bland_altman([1.0, NAN], [1.0, 2.0]), raises=AgreementInputError
    ),
    "bland-altman/one-category": Row(
        lambda: bland_altman([2.0, 2.0, 2.0], [2.0, 2.0, 2.0]).bias, value(0.0)
    ),
    # Consensus.
    "majority/agree": Row(
        lambda: majority_vote([LABELS, LABELS]),
        lambda r: r.consensus.tolist() == LABELS and r.support.min() == 1 and not r.tied.any(),
    ),
    "majority/empty": Row(
        lambda: majority_vote([EMPTY, EMPTY, EMPTY]),
        lambda r: not r.consensus.any() and r.support.min() == 1.0,
    ),
    "majority/single": Row(
        lambda: majority_vote([LABELS]),
        lambda r: r.consensus.tolist() == LABELS and r.support.min() == 1.0,
    ),
    "majority/missing": Row(
        lambda: majority_vote([[-1, 1], [-1, 2], [-1, 2]]),
        lambda r: r.consensus.tolist() == [-1, 2] and r.support.tolist()[0] == 0.0,
    ),
    "majority/one-category": Row(
        lambda: majority_vote([ONE_CATEGORY, ONE_CATEGORY]),
        lambda r: r.consensus.tolist() == ONE_CATEGORY,
    ),
    "staple/agree": Row(
        lambda: staple([BLOB, BLOB, BLOB]),
        lambda r: (
            (r.consensus() == BLOB).all()
            and np.allclose(r.sensitivity, 1.0, atol=1e-4)
            and np.allclose(r.specificity, 1.0, atol=1e-4)
            and r.note == ""
        ),
    ),
    "staple/empty": Row(
        lambda: staple([EMPTY, EMPTY]),
        lambda r: not r.consensus().any() and np.isnan(r.sensitivity).all() and "nan" in r.note,
    ),
    "staple/single": Row(lambda: staple([BLOB]), raises=ConsensusInputError, match="at least 2"),
    "staple/missing": Row(
        lambda: staple(np.where(BLOB, 1, -1)[None].repeat(2, axis=0)),
        raises=ConsensusInputError,
        match="boolean",
    ),
    "staple/one-category": Row(
        lambda: staple([FULL, FULL]),
        lambda r: r.consensus().all() and np.isnan(r.specificity).all() and "nan" in r.note,
    ),
    "staple-multilabel/agree": Row(
        lambda: staple_multilabel([np.array(LABELS)] * 3),
        lambda r: r.consensus.tolist() == LABELS and r.note == "",
    ),
    "staple-multilabel/empty": Row(
        lambda: staple_multilabel([EMPTY.astype(int)] * 2),
        raises=ConsensusInputError,
        match="n_labels",
    ),
    "staple-multilabel/empty-with-labels": Row(
        lambda: staple_multilabel([EMPTY.astype(int)] * 2, n_labels=2),
        lambda r: not r.consensus.any() and "[1]" in r.note,
    ),
    "staple-multilabel/single": Row(
        lambda: staple_multilabel([np.array(LABELS)]), raises=ConsensusInputError
    ),
    "staple-multilabel/missing": Row(
        lambda: staple_multilabel([[0, -1], [0, 1]]), raises=ConsensusInputError, match="-1"
    ),
    "disagreement/agree": Row(
        lambda: label_disagreement([LABELS, LABELS], n_labels=3),
        lambda r: r.tolist() == [0.0] * len(LABELS),
    ),
    "disagreement/single": Row(
        lambda: label_disagreement([LABELS], n_labels=3),
        lambda r: r.tolist() == [0.0] * len(LABELS),
    ),
    "disagreement/one-category": Row(
        lambda: label_disagreement([ONE_CATEGORY, ONE_CATEGORY]),
        lambda r: r.tolist() == [0.0] * len(ONE_CATEGORY),
    ),
    "mask-disagreement/agree": Row(lambda: mask_disagreement([BLOB, BLOB]), value(0.0)),
    "mask-disagreement/empty": Row(lambda: mask_disagreement([EMPTY, EMPTY]), value(0.0)),
    "mask-disagreement/single": Row(
        lambda: mask_disagreement([BLOB]), raises=ConsensusInputError, match="at least 2"
    ),
    "mask-disagreement/missing": Row(
        lambda: mask_disagreement([BLOB, NAN_MASK]), raises=ConsensusInputError, match="dtype"
    ),
    "mask-disagreement/one-category": Row(lambda: mask_disagreement([FULL, FULL]), value(0.0)),
}


def _no_silent_nan(result: Any) -> None:
    if isinstance(result, Estimate):
        assert result.defined or result.note, "an undefined estimate must say why"
        return
    if isinstance(result, float):
        assert not math.isnan(result)
        return
    for name in ("consensus", "support", "probability", "probabilities"):
        array = getattr(result, name, None)
        if array is not None and not callable(array):
            assert not np.isnan(np.asarray(array, dtype=float)).any(), name
    if isinstance(result, np.ndarray):
        assert not np.isnan(result).any()


@pytest.mark.parametrize("case", list(ROWS), ids=list(ROWS))
def test_edge_case_has_its_documented_outcome(case: str) -> None:
    row = ROWS[case]
    if row.raises is not None:
        with pytest.raises(row.raises, match=row.match):
            row.call()
        return
    result = row.call()
    _no_silent_nan(result)
    if row.undefined is not None:
        assert isinstance(result, Estimate)
        assert not result.defined and row.undefined in result.note
        assert math.isnan(result.ci_low) and math.isnan(result.ci_high)
    else:
        assert row.check is not None and row.check(result), result


def test_label_disagreement_unread_items_are_the_one_documented_nan() -> None:
    scores = label_disagreement([[0, -1, 1], [0, -1, 0]], n_labels=2)
    assert scores[0] == 0.0 and scores[2] == 1.0
    assert math.isnan(scores[1])  # nobody read item 1: missing in, missing out


def test_estimate_refuses_a_nan_without_a_reason() -> None:
    with pytest.raises(AgreementError, match="note"):
        Estimate(NAN, NAN, NAN, "analytic")
    assert not Estimate.undefined("why", method="m").defined
