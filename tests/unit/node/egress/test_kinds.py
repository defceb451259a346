from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

from node.egress import KindRules, MessageKind, validate_payload
from node.errors import EgressRefusedError
from shared.agreement import (
    CategoryCountStats,
    CoincidenceStats,
    ContinuousStats,
    DetectionStats,
    DistanceHistogramStats,
    match_boxes,
)
from shared.crypto import build_csr, csr_pem, generate_private_key, public_key_pem

from .conftest import RULES, agreement_payload, guideline_ref, model_payload


def refused(kind: str, payload: Any, rules: KindRules = RULES) -> EgressRefusedError:
    """The refusal, checking that it names the kind and never quotes a value."""
    with pytest.raises(EgressRefusedError) as caught:
        validate_payload(kind, payload, rules)
    assert caught.value.kind == kind
    return caught.value


def test_unknown_kind() -> None:
    with pytest.raises(EgressRefusedError, match="not a message kind") as caught:
        validate_payload("patient_list", {}, RULES)
    assert caught.value.field == "kind"


def test_payload_must_be_an_object() -> None:
    assert refused("health", ["x"]).field == "$"


# -- model updates ---------------------------------------------------------------------------


def test_model_update_passes() -> None:
    assert validate_payload("model_update", model_payload(), RULES) is MessageKind.MODEL_UPDATE


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p["arrays"].update({"x": np.arange(3)}), "$.arrays.x"),
        (lambda p: p["arrays"].update({"x": [1.0, 2.0]}), "$.arrays.x"),
        (lambda p: p["arrays"].update({"x": np.asarray(["a"])}), "$.arrays.x"),
        (lambda p: p["arrays"].update({"x": np.asarray([np.nan])}), "$.arrays.x"),
        (lambda p: p["arrays"].update({"bad name!": np.zeros(1)}), "$.arrays.<key>"),
        (lambda p: p.update({"arrays": {}}), "$.arrays"),
        (lambda p: p["metadata"].update({"site_notes": "x"}), "$.metadata"),
        (lambda p: p["metadata"].update({"model": "has spaces"}), "$.metadata.model"),
        (lambda p: p["metadata"].update({"num_examples": 1.5}), "$.metadata.num_examples"),
        (lambda p: p["metadata"].update({"num_examples": True}), "$.metadata.num_examples"),
        (lambda p: p["metadata"].update({"epochs": -1}), "$.metadata.epochs"),
        (lambda p: p["metadata"].update({"train_loss": float("inf")}), "$.metadata.train_loss"),
        (lambda p: p.update({"extra": 1}), "$"),
        (lambda p: p.pop("arrays"), "$"),
    ],
)
def test_model_update_refusals(change: Any, field: str) -> None:
    payload = model_payload()
    change(payload)
    assert refused("model_update", payload).field == field


def test_model_update_size_bound() -> None:
    small = KindRules(max_model_bytes=100)
    error = refused("model_update", model_payload(), small)
    assert error.field == "$.arrays" and "over 100" in str(error)


# -- agreement statistics --------------------------------------------------------------------


def test_agreement_statistics_pass() -> None:
    validate_payload("agreement_statistics", agreement_payload(), RULES)


def test_every_statistics_type_passes() -> None:
    ratings = np.asarray([[1.0, 2.0, 3.0], [1.0, 2.0, 2.0]])
    stats = {
        "category_counts": CategoryCountStats.from_counts(
            [[1, 1, 0], [0, 2, 0], [0, 0, 2]], categories=["1", "2", "3"]
        ),
        "coincidence": CoincidenceStats.from_reliability_data(ratings, [1.0, 2.0, 3.0]),
        "continuous": ContinuousStats.from_ratings(ratings.T),
        "detection": DetectionStats.from_match(
            match_boxes([[0, 0, 4, 4], [10, 10, 12, 12]], [[0, 0, 4, 5]])
        ),
        "distance_histogram": DistanceHistogramStats.from_masks(
            np.pad(np.ones((1, 3, 3), bool), 2), np.pad(np.ones((1, 3, 3), bool), 2)
        ),
    }
    for name, value in stats.items():
        payload = {
            "guideline": guideline_ref(),
            "statistics": [{"label": "lung-rads", "statistic": name, "arrays": value.to_arrays()}],
        }
        validate_payload("agreement_statistics", payload, RULES)


def _stats_case(change: Any) -> dict[str, Any]:
    payload = copy.deepcopy(agreement_payload())
    change(payload)
    return payload


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p.update({"guideline": {"name": "other", "version": "1"}}), "$.guideline"),
        (lambda p: p["guideline"].update({"extra": "x"}), "$.guideline"),
        (lambda p: p["guideline"].update({"name": "bad name"}), "$.guideline.name"),
        (lambda p: p.update({"statistics": []}), "$.statistics"),
        (lambda p: p["statistics"][0].update({"label": "patient"}), "$.statistics[0].label"),
        (lambda p: p["statistics"][0].update({"statistic": "raw"}), "$.statistics[0].statistic"),
        (lambda p: p["statistics"][0].update({"reader": "alice"}), "$.statistics[0]"),
        (
            lambda p: p["statistics"][0]["arrays"].update(
                {"categories": np.asarray(["1", "DOE^JANE"] + ["x"] * 5)}
            ),
            "$.statistics[0].arrays.categories",
        ),
        (
            lambda p: p["statistics"][0]["arrays"].update({"reader_names": np.zeros(2)}),
            "$.statistics[0].arrays",
        ),
        (
            lambda p: p["statistics"][0]["arrays"].update({"counts": np.ones((2, 2))}),
            "$.statistics[0].arrays",
        ),
        (
            lambda p: p["statistics"][0]["arrays"].pop("counts"),
            "$.statistics[0].arrays",
        ),
        (
            lambda p: p["statistics"][1]["arrays"].update({"n_cases": [1]}),
            "$.statistics[1].arrays.n_cases",
        ),
    ],
)
def test_agreement_statistics_refusals(change: Any, field: str) -> None:
    assert refused("agreement_statistics", _stats_case(change)).field == field


def test_refusal_messages_never_quote_values() -> None:
    payload = _stats_case(lambda p: p["statistics"][0].update({"label": "DOE^JANE"}))
    assert "DOE" not in str(refused("agreement_statistics", payload))


# -- diversity statistics --------------------------------------------------------------------


def diversity() -> dict[str, Any]:
    return {
        "guideline": guideline_ref(),
        "histograms": {
            "modality": {"categories": np.asarray(["CT", "MR"]), "counts": np.asarray([3.2, 1.0])},
            "age_years": {"edges": np.asarray([0, 40, 60, 120]), "counts": np.asarray([1, 2, 3])},
            "label_prevalence": {
                "categories": np.asarray(["nodule-mask"]),
                "counts": np.asarray([4]),
            },
        },
    }


def test_diversity_passes() -> None:
    validate_payload("diversity_statistics", diversity(), RULES)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p["histograms"].update({"hospital": {}}), "$.histograms"),
        (
            lambda p: p["histograms"]["modality"].update({"categories": np.asarray(["CT", "X"])}),
            "$.histograms.modality.categories",
        ),
        (
            lambda p: p["histograms"]["age_years"].update({"counts": np.asarray([1, 2])}),
            "$.histograms.age_years",
        ),
        (
            lambda p: p["histograms"]["modality"].update({"counts": np.asarray([1.0])}),
            "$.histograms.modality",
        ),
        (lambda p: p.pop("guideline"), "$.guideline"),
    ],
)
def test_diversity_refusals(change: Any, field: str) -> None:
    payload = diversity()
    change(payload)
    assert refused("diversity_statistics", payload).field == field


# -- calibration annotations -----------------------------------------------------------------


def calibration(annotation: dict[str, Any] | None = None, case: str = "case-001") -> dict[str, Any]:
    return {
        "calibration_set": "cal-2026",
        "guideline": guideline_ref(),
        "annotations": [
            {
                "case": case,
                "reader": "r1",
                "annotation": annotation
                or {
                    "label": "lung-rads",
                    "kind": "classification",
                    "confidence": 4,
                    "comment": "",
                    "cannot_assess": False,
                    "geometry": {"value": "4A"},
                },
            }
        ],
    }


def test_calibration_annotations_pass() -> None:
    validate_payload("calibration_annotations", calibration(), RULES)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (calibration(case="case-999"), "$.annotations[0].case"),
        ({**calibration(), "calibration_set": "unknown"}, "$.calibration_set"),
        (
            calibration(
                {
                    "label": "lung-rads",
                    "kind": "classification",
                    "confidence": 4,
                    "comment": "seen on Mr Doe's film",
                    "geometry": {"value": "4A"},
                }
            ),
            "$.annotations[0].annotation.comment",
        ),
        (
            calibration(
                {"label": "lung-rads", "kind": "classification", "geometry": {"value": "9"}}
            ),
            "$.annotations[0].annotation.geometry.value",
        ),
        (calibration({"label": "x", "kind": "nope"}), "$.annotations[0].annotation"),
    ],
)
def test_calibration_refusals(payload: dict[str, Any], field: str) -> None:
    assert refused("calibration_annotations", payload).field == field


def test_calibration_reader_must_be_a_pseudonym() -> None:
    payload = calibration()
    payload["annotations"][0]["reader"] = "alice"
    assert refused("calibration_annotations", payload).field == "$.annotations[0].reader"


# -- health, enrollment, guideline acknowledgements ------------------------------------------


def test_health() -> None:
    health = {
        "software_version": "0.1.0.dev0",
        "schema_revision": "0004",
        "counters": {"instances": 10, "tasks_open": 2},
        "uptime_s": 5,
    }
    validate_payload("health", health, RULES)
    assert refused("health", {**health, "hostname": "pacs-01"}).field == "$"
    assert refused("health", {**health, "software_version": "x y"}).field == "$.software_version"
    bad_counters = {**health, "counters": {"patients_named_doe": 1}}
    assert refused("health", bad_counters).field == "$.counters"
    assert refused("health", {**health, "uptime_s": "5"}).field == "$.uptime_s"


def test_enrollment_request() -> None:
    tls = generate_private_key("ec-p256")
    supernode = generate_private_key("ec-p256")
    request = {
        "site": "hospital-a",
        "csr_pem": csr_pem(build_csr(tls, "hospital-a")).decode(),
        "supernode_public_key_pem": public_key_pem(supernode).decode(),
    }
    validate_payload("enrollment_request", request, RULES)
    assert refused("enrollment_request", {**request, "site": "hospital-b"}).field == "$.site"
    assert refused("enrollment_request", {**request, "csr_pem": "x"}).field == "$.csr_pem"
    ed = public_key_pem(generate_private_key("ed25519")).decode()
    wrong_key = {**request, "supernode_public_key_pem": ed}
    assert refused("enrollment_request", wrong_key).field == "$.supernode_public_key_pem"
    private = {**request, "private_key_pem": "x"}
    assert refused("enrollment_request", private).field == "$"


def test_guideline_ack() -> None:
    ack = {"guideline": guideline_ref(), "sha256": "a" * 64, "status": "verified"}
    validate_payload("guideline_ack", ack, RULES)
    assert refused("guideline_ack", {**ack, "status": "ok"}).field == "$.status"
    assert refused("guideline_ack", {**ack, "sha256": "A" * 64}).field == "$.sha256"
