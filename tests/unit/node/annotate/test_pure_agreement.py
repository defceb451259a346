"""Agreement and consensus as pure functions, on slices of different sizes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from node.annotate import build_consensus, measure_agreement
from node.annotate.records import AnnotationRecord, TaskSlice
from shared.formats.rle import rle_decode, rle_encode
from shared.schemas import Guideline

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SLICES = (
    TaskSlice(0, "a", 8, 8, (0.5, 0.5), 1.0, (0.0, 0.0, 0.0)),
    TaskSlice(1, "b", 4, 6, (0.5, 0.5), 1.0, (0.0, 0.0, 1.0)),
)
GUIDELINE = Guideline.model_validate(
    {
        "name": "g",
        "version": "1",
        "title": "t",
        "labels": [
            {"name": "m", "kind": "mask", "definition": "d", "adjudication_threshold": 0.5},
            {"name": "p", "kind": "keypoint", "definition": "d", "match_distance_mm": 1.0},
            {"name": "len", "kind": "length", "definition": "d", "match_distance_mm": 1.0},
            {"name": "poly", "kind": "polygon", "definition": "d"},
        ],
    }
)


def record(reader: str, label: str, kind: str, geometry: dict[str, Any]) -> AnnotationRecord:
    payload = {"label": label, "kind": kind, "cannot_assess": False, "geometry": geometry}
    return AnnotationRecord(1, 1, reader, label, kind, 1, payload, reader, NOW, NOW, False, 1)


def mask(reader: str, planes: dict[int, np.ndarray]) -> AnnotationRecord:
    return record(
        reader, "m", "mask", {"slices": {str(k): rle_encode(v) for k, v in planes.items()}}
    )


def test_masks_on_slices_of_different_sizes() -> None:
    big = np.zeros((8, 8), bool)
    big[2:6, 2:6] = True
    small = np.zeros((4, 6), bool)
    small[1:3, 1:5] = True
    annotations = [mask("a", {0: big, 1: small}), mask("b", {0: big, 1: small})]
    figures, summary = measure_agreement(GUIDELINE, ["a", "b"], annotations, SLICES)
    dice = {f.metric: f.value for f in figures if f.label == "m"}
    assert dice["dice"] == 1.0 and not summary[0].below_threshold
    method, payload = build_consensus(GUIDELINE.labels[0], ["a", "b"], annotations, SLICES)
    assert method == "staple"
    planes = payload["annotations"][0]["geometry"]["slices"]
    assert np.array_equal(rle_decode(planes["1"]), small)
    assert np.array_equal(rle_decode(planes["0"]), big)


def test_keypoints_lengths_and_polygons() -> None:
    annotations = [
        record("a", "p", "keypoint", {"slice": 0, "x": 2.0, "y": 2.0}),
        record("b", "p", "keypoint", {"slice": 0, "x": 3.0, "y": 2.0}),  # 0.5 mm away
        record(
            "a", "len", "length", {"slice": 0, "x0": 0, "y0": 0, "x1": 4, "y1": 0, "length_mm": 2.0}
        ),
        record(
            "b", "len", "length", {"slice": 0, "x0": 4, "y0": 0, "x1": 0, "y1": 0, "length_mm": 2.0}
        ),
        record("a", "poly", "polygon", {"slice": 0, "points": [[0, 0], [4, 0], [4, 4], [0, 4]]}),
        record("b", "poly", "polygon", {"slice": 1, "points": [[0, 0], [4, 0], [4, 4], [0, 4]]}),
    ]
    figures, _ = measure_agreement(GUIDELINE, ["a", "b"], annotations, SLICES)
    values = {(f.label, f.metric): f for f in figures}
    assert values[("p", "f1")].value == 1.0
    assert values[("p", "f1")].detail["mean_distance_mm"] == pytest.approx(0.5)
    assert values[("len", "f1")].detail["mean_length_difference_mm"] == 0.0
    assert values[("poly", "f1")].value == 0.0  # different slices never match
    method, payload = build_consensus(GUIDELINE.labels[2], ["a", "b"], annotations, SLICES)
    assert method == "cluster-majority"
    merged = payload["annotations"][0]["geometry"]
    assert (merged["x0"], merged["x1"]) == (0.0, 4.0) and merged["length_mm"] == 2.0
    method, payload = build_consensus(GUIDELINE.labels[3], ["a", "b"], annotations, SLICES)
    assert payload["annotations"] == []
    method, payload = build_consensus(GUIDELINE.labels[1], ["a"], annotations, SLICES)
    assert method == "single-reader" and len(payload["annotations"]) == 1


def test_consensus_confidence_is_the_mean_of_its_sources() -> None:
    def point(reader: str, x: float, confidence: int | None) -> AnnotationRecord:
        made = record(reader, "p", "keypoint", {"slice": 0, "x": x, "y": 2.0})
        return replace(made, payload={**made.payload, "confidence": confidence})

    annotations = [point("a", 2.0, 4), point("b", 2.5, 2), point("c", 2.2, None)]
    _, payload = build_consensus(GUIDELINE.labels[1], ["a", "b", "c"], annotations, SLICES)
    merged = payload["annotations"][0]
    assert merged["confidence"] == 3.0 and merged["readers"] == ["a", "b", "c"]
