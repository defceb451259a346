"""Phantom series with planted canaries go through ingest; what the gate lets out holds none.

The phantoms fill every identifying header with a canary (``shared.phantoms``).
The node ingests them (de-identifying), builds agreement statistics, diversity
histograms, a model update and a health report from what it stored, and
releases them through the gate: they pass. Then every canary, the birth date
and the original UIDs are planted in each place a payload could carry them
(a string, a key, bytes, a nested list, a number, the raw buffer of a float
array): every such release is refused and none reaches the ledger as released.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pydicom
import pytest

from node.egress import (
    CanaryScan,
    Denylist,
    EgressGate,
    Outcome,
    PrivacyBudget,
    PrivacyCharge,
    Purpose,
)
from node.errors import CanaryDetectedError, EgressError
from node.runtime import NodeRuntime
from shared.agreement import ConfusionStats, OverlapStats
from shared.phantoms import (
    SITE_STYLES,
    PhantomSeries,
    PhantomSpec,
    dataset_to_bytes,
    generate_series,
)

from .conftest import GUIDELINE, RULES, guideline_ref

CHARGE = PrivacyCharge(epsilon=0.1, delta=1e-7, mechanism="gaussian")
CODES = [c.code for c in GUIDELINE.labels[2].categories]


def _ingest(runtime: NodeRuntime) -> tuple[PhantomSeries, list[pydicom.Dataset]]:
    spec = PhantomSpec(
        modality="CT", rows=64, columns=64, slices=4, seed=11, style=SITE_STYLES["reference"]
    )
    series = generate_series(spec)
    study_uid = ""
    for ds in series.datasets():
        outcome = runtime.ingest.ingest_bytes(dataset_to_bytes(ds), source="test")
        assert outcome.accepted, outcome
        study_uid = outcome.stored_study_instance_uid or ""
    records = runtime.store.instances(study_instance_uid=study_uid, include_quarantined=False)
    stored = [pydicom.dcmread(io.BytesIO(runtime.store.read(r))) for r in records]
    assert len(stored) == len(series)
    return series, stored


def _secrets(series: PhantomSeries) -> list[str]:
    first = series.dataset(0)
    return [
        *series.canaries,
        str(first.PatientName),
        series.study_instance_uid,
        series.series_instance_uid,
        *series.sop_instance_uids,
    ]


def _payloads(stored: list[pydicom.Dataset]) -> dict[str, dict[str, Any]]:
    pixels = np.stack([ds.pixel_array.astype(np.float32) for ds in stored])
    reader_a = pixels > np.percentile(pixels, 90)
    reader_b = pixels > np.percentile(pixels, 88)
    overlap = OverlapStats.from_masks(reader_a, reader_b)
    graded = [CODES[min(int(m.mean() * 20), len(CODES) - 1)] for m in (reader_a, reader_b)]
    per_slice_a = [CODES[1 + int(m.mean() > 0.1)] for m in reader_a]
    per_slice_b = [CODES[1 + int(m.mean() > 0.09)] for m in reader_b]
    assert graded
    confusion = ConfusionStats.from_labels(per_slice_a, per_slice_b, CODES)
    statistics = {
        "guideline": guideline_ref(),
        "statistics": [
            {"label": "lung-rads", "statistic": "confusion", "arrays": confusion.to_arrays()},
            {"label": "nodule-mask", "statistic": "overlap", "arrays": overlap.to_arrays()},
        ],
    }
    rng = np.random.default_rng(0)
    model = {
        "arrays": {
            "intensity.mean": pixels.mean(axis=(1, 2)),
            "conv1.weight": rng.normal(size=(8, 1, 3, 3)).astype(np.float32),
        },
        "metadata": {"num_examples": len(stored), "model": "unet-small"},
    }
    modalities = sorted({str(ds.Modality) for ds in stored})
    diversity = {
        "histograms": {
            "modality": {
                "categories": np.asarray(modalities),
                "counts": np.asarray([len(stored)] * len(modalities), dtype=np.float64),
            },
        },
    }
    health = {"software_version": "0.1.0.dev0", "counters": {"instances": len(stored)}}
    return {
        "agreement_statistics": statistics,
        "model_update": model,
        "diversity_statistics": diversity,
        "health": health,
    }


def _plant(value: str) -> list[tuple[str, Callable[[dict[str, dict[str, Any]]], None]]]:
    """Where a payload could carry ``value``: (kind, change)."""
    raw = value.encode()
    smuggled = np.frombuffer(raw + b"\x00" * (-len(raw) % 8), dtype=np.float64)

    def set_model(key: str, item: Any) -> Callable[[dict[str, dict[str, Any]]], None]:
        return lambda p: p["model_update"]["metadata"].__setitem__(key, item)

    places: list[tuple[str, Callable[[dict[str, dict[str, Any]]], None]]] = [
        ("model_update", set_model("model", value)),
        ("model_update", lambda p: p["model_update"]["arrays"].__setitem__(value, np.zeros(2))),
        ("model_update", lambda p: p["model_update"]["arrays"].__setitem__("w", smuggled)),
        ("model_update", set_model("note", raw)),
        (
            "agreement_statistics",
            lambda p: p["agreement_statistics"]["statistics"][0].__setitem__("label", value),
        ),
        (
            "agreement_statistics",
            lambda p: p["agreement_statistics"]["statistics"].append(
                {"label": "lung-rads", "statistic": "confusion", "arrays": {"x": [[value]]}}
            ),
        ),
        ("health", lambda p: p["health"]["counters"].__setitem__(value, 1)),
        ("health", lambda p: p["health"].__setitem__("software_version", value)),
        (
            "diversity_statistics",
            lambda p: p["diversity_statistics"]["histograms"]["modality"].__setitem__(
                "categories", np.asarray([value])
            ),
        ),
    ]
    if value.isdigit():
        places.append(("model_update", set_model("num_examples", int(value))))
        places.append(
            (
                "model_update",
                lambda p: p["model_update"]["arrays"].__setitem__(
                    "w", np.asarray([0.5, float(value)], dtype=np.float64)
                ),
            )
        )
    return places


@pytest.fixture
def setup(runtime: NodeRuntime) -> tuple[EgressGate, list[str], dict[str, dict[str, Any]]]:
    series, stored = _ingest(runtime)
    secrets = _secrets(series)
    gate = EgressGate(
        runtime.engine,
        site="hospital-a",
        rules=RULES,
        scan=CanaryScan(Denylist(terms=tuple(secrets))),
        budgets={
            Purpose.STATISTICS: PrivacyBudget(100.0, 1e-3),
            Purpose.TRAINING: PrivacyBudget(100.0, 1e-3),
        },
    )
    return gate, secrets, _payloads(stored)


def _release(gate: EgressGate, kind: str, payload: dict[str, Any]) -> bytes:
    privacy = (
        CHARGE if kind in ("agreement_statistics", "model_update", "diversity_statistics") else None
    )
    return gate.release(kind, payload, "coordinator", "round-1", privacy)


def test_what_the_node_builds_from_its_store_leaves_without_a_canary(
    setup: tuple[EgressGate, list[str], dict[str, dict[str, Any]]],
) -> None:
    gate, secrets, payloads = setup
    sent = b"".join(_release(gate, kind, payload) for kind, payload in payloads.items())
    assert len(gate.ledger.entries(outcome=Outcome.RELEASED)) == len(payloads)
    for secret in secrets:
        assert secret.encode() not in sent
        assert secret.lower().encode() not in sent.lower()
    assert b"CANARY" not in sent.upper()


def test_every_planted_canary_is_refused_and_never_ledgered_as_released(
    setup: tuple[EgressGate, list[str], dict[str, dict[str, Any]]],
) -> None:
    import copy

    gate, secrets, payloads = setup
    scanned = 0
    for secret in secrets:
        for kind, plant in _plant(secret):
            tampered = copy.deepcopy(payloads)
            plant(tampered)
            with pytest.raises(EgressError) as caught:
                _release(gate, kind, tampered[kind])
            assert secret not in str(caught.value)
            scanned += isinstance(caught.value, CanaryDetectedError)
    assert gate.ledger.entries(outcome=Outcome.RELEASED) == []
    refused = gate.ledger.entries(outcome=Outcome.REFUSED)
    assert len(refused) == sum(len(_plant(s)) for s in secrets)
    assert all(e.epsilon is None for e in refused)
    exported = repr([e.to_json() for e in gate.ledger.entries()])
    for secret in secrets:
        assert secret not in exported
    # the schemas stop most plants; the scan alone stops those a schema admits
    # (identifier-shaped keys and names, bytes smuggled in floats, numbers)
    assert scanned >= 3 * len(secrets)
    assert gate.ledger.verify().intact
