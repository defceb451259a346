"""The wire form of training releases (``model_update``, ``evaluation_metrics``).

The training handlers answer in the egress mod's gated form
(:func:`node.clientapp.records.gated_records`); the mod checks the bytes
against the ledger and :func:`node.clientapp.records.wire_records` lays each
release out with :func:`training_wire`, decoded from the gate's bytes:

====================  =================================================================
``update``            ArrayRecord: one uint8 Array, ``weights-file``: the
                      :mod:`shared.weights` file of the update's arrays in the model's
                      order (the payload names them ``u0000``, ``u0001``...), compressed
                      as the plan says — one Array instead of one per layer: Flower moves
                      each Array as its own HTTP requests (the coordinator's
                      ``training_records`` says why)
``training.meta``     ConfigRecord: ``guideline``, ``guideline_version``, ``compression``,
                      ``update`` (``delta`` or ``weights``), ``model``, ``epochs``...
``metrics``           MetricRecord: ``num-examples``, ``train-loss``
``evaluation``        MetricRecord: ``count`` and ``<figure>-sum`` (noised per the
                      site's policy)
====================  =================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, MetricRecord, RecordDict

from shared.weights import encode_weights

__all__ = ["PACKED", "TRAINING_KINDS", "training_wire"]

PACKED = "weights-file"
"""The one Array of ``update`` (and of a train message's ``arrays``)."""

TRAINING_KINDS = frozenset({"model_update", "evaluation_metrics"})
"""The release kinds :func:`training_wire` lays out."""


def training_wire(records: RecordDict, kind: str, payload: Mapping[str, Any]) -> None:
    """Add the records of one decoded training release to ``records``."""
    if kind == "model_update":
        arrays = payload["arrays"]
        ordered = {name: np.asarray(arrays[name]) for name in sorted(arrays)}
        packed = np.frombuffer(encode_weights(ordered), dtype=np.uint8)
        records["update"] = ArrayRecord({PACKED: Array(packed)})
        metadata = dict(payload.get("metadata", {}))
        records["training.meta"] = ConfigRecord(
            {k: v for k, v in metadata.items() if isinstance(v, str | int | float)}
        )
        records["metrics"] = MetricRecord(
            {
                "num-examples": int(metadata.get("num_examples", 0)),
                "train-loss": float(metadata.get("train_loss", 0.0)),
            }
        )
    else:
        records["evaluation"] = MetricRecord(
            {str(k).replace("_", "-"): float(v) for k, v in payload["metrics"].items()}
        )
