"""Proposals from probabilities, in the annotation payload's forms; the edit's size."""

from __future__ import annotations

import numpy as np
import pytest

from node.annotate.records import TaskSlice
from node.annotate.validation import check_annotation, parse_payload
from node.assist import ModelOutput, ProposalOptions, edit_overlap, proposals_from
from shared.formats.rle import rle_decode, rle_encode
from shared.schemas import load_guideline
from tests.unit.node.annotate.conftest import EXAMPLE

GUIDELINE = load_guideline(EXAMPLE)


def _slices(n: int, rows: int = 32, columns: int = 32) -> tuple[TaskSlice, ...]:
    return tuple(
        TaskSlice(i, f"1.2.{i}", rows, columns, (1.0, 1.0), 1.0, (0.0, 0.0, float(i)))
        for i in range(n)
    )


def _two_blobs() -> np.ndarray:
    p = np.zeros((4, 32, 32), dtype=np.float32)
    p[1:3, 4:10, 5:12] = 0.9  # 2 x 6 x 7 = 84 voxels
    p[2, 20:23, 20:23] = 0.7  # 9 voxels
    p[3, 30, 30] = 0.95  # one voxel: noise
    return p


def test_each_component_becomes_a_mask_proposal_with_an_optional_box() -> None:
    output = ModelOutput(masks={"nodule-mask": _two_blobs()})
    drafts = proposals_from(
        output, GUIDELINE, ProposalOptions(boxes_from={"nodule-mask": "nodule-box"})
    )
    assert [(d.label, d.kind) for d in drafts] == [
        ("nodule-mask", "mask"),
        ("nodule-box", "box"),
        ("nodule-mask", "mask"),
        ("nodule-box", "box"),
    ]
    big = drafts[0]
    assert big.geometry["key_slices"] == [1, 2] and big.geometry["interpolate"] is False
    assert big.probability == pytest.approx(0.9)
    decoded = rle_decode(big.geometry["slices"]["1"])
    assert decoded.shape == (32, 32) and decoded[4:10, 5:12].all() and decoded.sum() == 42
    assert drafts[1].geometry == {"slice": 1, "x0": 5.0, "y0": 4.0, "x1": 12.0, "y1": 10.0}
    assert drafts[3].geometry["slice"] == 2
    for draft in drafts:  # every draft is something a reader could save as is
        check_annotation(parse_payload(draft.payload()), GUIDELINE, _slices(4))


def test_options_threshold_size_and_count() -> None:
    output = ModelOutput(masks={"nodule-mask": _two_blobs()})
    assert len(proposals_from(output, GUIDELINE, ProposalOptions(min_voxels=1))) == 3
    assert len(proposals_from(output, GUIDELINE, ProposalOptions(threshold=0.8))) == 1
    assert len(proposals_from(output, GUIDELINE, ProposalOptions(max_per_label=1))) == 1
    assert proposals_from(ModelOutput(masks={"nodule-mask": np.zeros((2, 8, 8))}), GUIDELINE) == []
    with pytest.raises(ValueError, match="threshold"):
        ProposalOptions(threshold=1.0)
    with pytest.raises(ValueError, match="at least 1"):
        ProposalOptions(min_voxels=0)


def test_labels_outside_the_guideline_or_of_another_kind_are_skipped() -> None:
    output = ModelOutput(
        masks={"liver": _two_blobs(), "nodule-box": _two_blobs()},
        classes={"nodule-mask": {"1": 1.0}},
    )
    assert proposals_from(output, GUIDELINE) == []


def test_a_classification_proposes_its_most_probable_category() -> None:
    output = ModelOutput(classes={"lung-rads": {"1": 0.1, "2": 0.6, "4A": 0.3, "9": 0.9}})
    (draft,) = proposals_from(output, GUIDELINE)
    assert draft.geometry == {"value": "2"} and draft.probability == pytest.approx(0.6)
    assert draft.probabilities == {"1": 0.1, "2": 0.6, "4A": 0.3}  # unknown codes dropped
    assert draft.payload()["probabilities"]["4A"] == pytest.approx(0.3)


def _mask(slices: dict[int, np.ndarray]) -> dict:
    return {"slices": {str(k): dict(rle_encode(v)) for k, v in slices.items()}}


def test_edit_overlap_of_masks() -> None:
    a = np.zeros((10, 10), bool)
    a[2:6, 2:6] = True  # 16
    b = np.zeros((10, 10), bool)
    b[2:6, 4:8] = True  # 16, 8 shared
    assert edit_overlap("mask", _mask({0: a}), _mask({0: a})) == (1.0, 1.0)
    dice, iou = edit_overlap("mask", _mask({0: a}), _mask({0: b}))
    assert dice == pytest.approx(0.5) and iou == pytest.approx(8 / 24)
    dice, _ = edit_overlap("mask", _mask({0: a, 1: a}), _mask({0: a}))  # a slice removed
    assert dice == pytest.approx(2 * 16 / 48)
    assert edit_overlap("mask", {"slices": {}}, {"slices": {}}) == (1.0, 1.0)


def test_edit_overlap_of_boxes_polygons_and_classes() -> None:
    box = {"slice": 1, "x0": 0, "y0": 0, "x1": 10, "y1": 10}
    moved = {"slice": 1, "x0": 5, "y0": 0, "x1": 15, "y1": 10}
    assert edit_overlap("box", box, box) == (1.0, 1.0)
    dice, iou = edit_overlap("box", box, moved)
    assert dice == pytest.approx(0.5) and iou == pytest.approx(1 / 3)
    assert edit_overlap("box", box, {**box, "slice": 2})[0] == 0.0
    square = {"slice": 0, "points": [[2, 2], [8, 2], [8, 8], [2, 8]]}
    half = {"slice": 0, "points": [[2, 2], [5, 2], [5, 8], [2, 8]]}
    dice, _ = edit_overlap("polygon", square, half, _slices(2, 10, 10))
    assert dice == pytest.approx(2 * 18 / (36 + 18))
    assert edit_overlap("classification", {"value": "2"}, {"value": "2"}) == (1.0, 1.0)
    assert edit_overlap("classification", {"value": "2"}, {"value": "3"}) == (0.0, 0.0)
    assert edit_overlap("keypoint", {"slice": 0, "x": 1, "y": 1}, {"slice": 0, "x": 1, "y": 1}) == (
        None,
        None,
    )
