"""The ``secure_aggregation`` kind: a secure sum's public layout, or SecAgg+ protocol traffic."""

from __future__ import annotations

import copy
import io
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine

from node.egress import (
    PURPOSE_OF,
    CanaryScan,
    EgressGate,
    EgressLedger,
    MessageKind,
    PrivacyCharge,
    validate_payload,
)
from node.errors import CanaryDetectedError, EgressRefusedError
from node.quality import ProjectData
from node.stats import statistics_layout

from .conftest import GUIDELINE, RULES


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def layout_payload() -> dict[str, Any]:
    layout = statistics_layout(ProjectData(name="lung", guideline=GUIDELINE))
    return {"stage": "layout", "layout": layout.to_json()}


PROTOCOL: dict[str, dict[str, Any]] = {
    "setup": {"pk1": b"\x04" + bytes(64), "pk2": b"\x04" + bytes(range(64))},
    "share_keys": {"dsts": [12, 13], "ctxts": [b"\x01" * 200, b"\x02" * 200]},
    "collect_masked_vectors": {
        "masked_params": [_npy(np.array([131072])), _npy(np.arange(12, dtype=np.int64))]
    },
    "unmask": {"nids": [11, 12, 13], "shares": [b"\x03" * 40] * 3},
}


def refused(payload: Any) -> EgressRefusedError:
    with pytest.raises(EgressRefusedError) as caught:
        validate_payload("secure_aggregation", payload, RULES)
    assert caught.value.kind == "secure_aggregation"
    return caught.value


def test_the_kind_is_allowed_and_charged_to_no_budget() -> None:
    assert MessageKind.SECURE_AGGREGATION == "secure_aggregation"
    assert PURPOSE_OF[MessageKind.SECURE_AGGREGATION] is None


def test_the_layout_of_the_example_guideline_passes() -> None:
    payload = layout_payload()
    validate_payload("secure_aggregation", payload, RULES)
    labels = {e["label"] for e in payload["layout"]["statistics"]}
    assert labels == {label.name for label in GUIDELINE.labels}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda p: p["layout"]["statistics"][0].update(label="Jane Doe"), "label"),
        (
            lambda p: next(e for e in p["layout"]["statistics"] if e["statistic"] == "confusion")[
                "public"
            ].update(categories=["1", "free text"]),
            "categories",
        ),
        (lambda p: p["layout"]["histograms"][0]["public"].update(extra=[1]), "public"),
        (lambda p: p["layout"].update(guideline={"name": "other", "version": "1"}), "guideline"),
        (lambda p: p["layout"].update(note="hello"), "$.layout"),
        (lambda p: p["layout"]["statistics"][0]["shapes"].update(counts=["x"]), "shapes"),
    ],
)
def test_a_layout_carries_nothing_but_the_guideline_and_the_bins(change: Any, field: str) -> None:
    payload = copy.deepcopy(layout_payload())
    change(payload)
    assert field in str(refused(payload).field)


@pytest.mark.parametrize("stage", list(PROTOCOL))
def test_each_secaggplus_stage_passes(stage: str) -> None:
    validate_payload("secure_aggregation", {"stage": stage, "protocol": PROTOCOL[stage]}, RULES)


def test_a_receipt_names_ledgered_releases_only() -> None:
    receipt = {
        "agreement_statistics.bytes": 1234,
        "agreement_statistics.sha256": "a" * 64,
        "agreement_statistics.epsilon": 5.98,
        "agreement_statistics.delta": 1e-5,
        "agreement_statistics.mechanism": "gaussian-z2-k6",
    }
    stage = {"stage": "collect_masked_vectors", "protocol": PROTOCOL["collect_masked_vectors"]}
    validate_payload("secure_aggregation", {**stage, "receipt": receipt}, RULES)
    assert refused({**stage, "receipt": {"note": "x"}}).field == "$.receipt.<key>"
    bad_sha = {**receipt, "agreement_statistics.sha256": "not a hash"}
    assert refused({**stage, "receipt": bad_sha}).field == "$.receipt.agreement_statistics.sha256"
    bad_mechanism = {**receipt, "agreement_statistics.mechanism": "Jane Doe"}
    assert "mechanism" in str(refused({**stage, "receipt": bad_mechanism}).field)


@pytest.mark.parametrize(
    ("stage", "protocol", "field"),
    [
        ("setup", {"pk1": "text", "pk2": b"x"}, "$.protocol.pk1"),
        ("setup", {"pk1": b"x", "pk2": b"x", "note": b"x"}, "$.protocol"),
        ("share_keys", {"dsts": ["a"], "ctxts": [b"x"]}, "$.protocol.dsts[0]"),
        ("share_keys", {"dsts": [1], "ctxts": ["text"]}, "$.protocol.ctxts[0]"),
        ("share_keys", {"dsts": [1], "ctxts": [b"x" * 5000]}, "$.protocol.ctxts[0]"),
        (
            "collect_masked_vectors",
            {"masked_params": [_npy(np.array([0.5, 1.5]))]},
            "$.protocol.masked_params[0]",
        ),
        (
            "collect_masked_vectors",
            {"masked_params": [_npy(np.array([-1, 2]))]},
            "$.protocol.masked_params[0]",
        ),
        (
            "collect_masked_vectors",
            {"masked_params": [b"not an array at all"]},
            "$.protocol.masked_params[0]",
        ),
        ("unmask", {"nids": [True], "shares": [b"x"]}, "$.protocol.nids[0]"),
        ("train", {"params": [b"x"]}, "$.stage"),
    ],
)
def test_protocol_traffic_is_keys_shares_and_masked_integers_only(
    stage: str, protocol: dict[str, Any], field: str
) -> None:
    assert refused({"stage": stage, "protocol": protocol}).field == field


def test_the_gate_ledgers_protocol_traffic_without_a_charge(
    engine: Engine, gate: EgressGate
) -> None:
    payload = {"stage": "setup", "protocol": PROTOCOL["setup"]}
    data = gate.release("secure_aggregation", payload, "superlink", round_id="stats-1")
    entry = EgressLedger(engine).entries()[-1]
    assert (entry.kind, entry.byte_count, entry.epsilon) == ("secure_aggregation", len(data), None)
    with pytest.raises(EgressRefusedError, match="takes no privacy parameters"):
        gate.release(
            "secure_aggregation",
            payload,
            "superlink",
            privacy=PrivacyCharge(1.0, 1e-6, "gaussian-z1-k1"),
        )


def test_a_canary_in_protocol_bytes_is_caught() -> None:
    payload = {
        "stage": "unmask",
        "protocol": {"nids": [1], "shares": [b"xx CANARY-0123456789ABCDEF xx"[:30]]},
    }
    with pytest.raises(CanaryDetectedError):
        CanaryScan().check(payload, kind="secure_aggregation")


def test_a_model_updates_receipt_names_its_dpsgd_charge_and_guideline() -> None:
    receipt = {
        "model_update.bytes": 4321,
        "model_update.sha256": "b" * 64,
        "model_update.epsilon": 1.7,
        "model_update.delta": 1e-5,
        "model_update.mechanism": "dpsgd-z1-q0.5-s4",
        "model_update.guideline": "lesion-seg",
        "model_update.guideline_version": "1.0",
    }
    stage = {"stage": "collect_masked_vectors", "protocol": PROTOCOL["collect_masked_vectors"]}
    validate_payload("secure_aggregation", {**stage, "receipt": receipt}, RULES)
    named = {**receipt, "model_update.guideline": "Jane Doe, born 1970"}
    assert refused({**stage, "receipt": named}).field == "$.receipt.model_update.guideline"
    statistics = {"agreement_statistics.guideline": "lesion-seg"}
    assert "guideline" in str(refused({**stage, "receipt": statistics}).field)
