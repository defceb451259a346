"""The training round's messages as Flower records, and the sites' replies read back.

A ``train`` message carries the global weights (``arrays``, an ArrayRecord
holding one uint8 Array, ``weights-file``: the :mod:`shared.weights` file of the
weights in the model's ``state_dict`` order) and ``config`` (ConfigRecord:
``harmonia-task`` = ``training``, the plan as JSON, project, round id, server
round). An ``evaluate`` message (``harmonia-task`` = ``evaluation``) carries
the same and asks only for the evaluation of the weights on the site's
validation consensus.

A reply (the egress mod's wire form, :mod:`node.clientapp.training_records`)
carries:

=================  =======================================================================
``status``         ConfigRecord: ``ok``, ``site``, ``per_site``; per release ``kinds``,
                   ``bytes``, ``sha256``; per charged release ``epsilon``, ``delta``,
                   ``mechanism``; or ``error`` and ``message``
``update``         ArrayRecord: one uint8 Array, ``weights-file``: the :mod:`shared.weights`
                   file of exactly the arrays the egress gate released, in the model's
                   order (compressed as ``training.meta.compression`` says)
``training.meta``  ConfigRecord: ``guideline``, ``guideline_version``, ``compression``,
                   ``update`` (``delta`` or ``weights``)...
``metrics``        MetricRecord: ``num-examples``, ``train-loss``
``evaluation``     MetricRecord: ``count`` and ``<figure>-sum`` of the received weights,
                   only where the site's policy released them (noised)
=================  =======================================================================

**One Array, not one per layer.** Flower 1.41 moves a message as objects, one
HTTP request each (ServerApp → SuperLink, SuperLink → SuperNode → ClientApp
and back), two objects per Array (the Array and its chunk): a 20-layer model
sent per layer made ~47 requests per message and ~38 per reply, per node, each
through the Fleet proxy — the largest part of a round's fixed cost on
127.0.0.1. Packed into one weights file, a message is a handful of objects
(Flower still chunks an Array above 5 MiB). A reply that names its arrays one
by one (a node of an earlier version) is still read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, MetricRecord, RecordDict

from shared.weights import decode_weights, encode_weights

__all__ = [
    "EVALUATION",
    "PACKED",
    "TASK_KEY",
    "TRAINING",
    "SiteReply",
    "read_reply",
    "task_content",
]

TASK_KEY = "harmonia-task"
"""The config key the ClientApp dispatches on."""
TRAINING = "training"
EVALUATION = "evaluation"

PACKED = "weights-file"
"""The one Array of ``arrays`` and ``update`` (the node's ``node.clientapp.training_records``)."""

Arrays = dict[str, np.ndarray[Any, Any]]


def packed(weights: Arrays) -> ArrayRecord:
    """``weights`` as one uint8 Array: their :mod:`shared.weights` file."""
    return ArrayRecord({PACKED: Array(np.frombuffer(encode_weights(weights), dtype=np.uint8))})


def unpacked(record: ArrayRecord) -> Arrays:
    """The named arrays of a packed record (or of one that names them one by one)."""
    if set(record) == {PACKED}:
        arrays, _ = decode_weights(record[PACKED].numpy().tobytes())
        return arrays
    return {name: array.numpy() for name, array in record.items()}


def task_content(task: str, weights: Arrays, config: Mapping[str, Any]) -> RecordDict:
    """The content of a ``train``/``evaluate`` message: the weights and the task's config."""
    return RecordDict(
        {
            "arrays": packed(weights),
            "config": ConfigRecord({TASK_KEY: task, **dict(config)}),
        }
    )


@dataclass
class SiteReply:
    """What one site answered."""

    site: str
    ok: bool
    status: dict[str, Any]
    update: Arrays = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    evaluation: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def examples(self) -> int:
        """The number of training examples behind the update."""
        return int(self.metrics.get("num-examples", 0))

    @property
    def is_delta(self) -> bool:
        """Whether the update holds differences to the global weights (else new weights)."""
        return str(self.meta.get("update", "delta")) == "delta"

    @property
    def compression(self) -> str:
        """How the update's arrays were compressed (``none``, ``fp16``, ``int8``)."""
        return str(self.meta.get("compression", "none"))

    @property
    def bytes_total(self) -> int:
        """The bytes of everything the site released for this reply."""
        return int(sum(int(b) for b in self.status.get("bytes", []) or []))

    @property
    def charges(self) -> list[tuple[float, float, str]]:
        """``(epsilon, delta, mechanism)`` of each charged release."""
        return [
            (float(e), float(d), str(m))
            for e, d, m in zip(
                self.status.get("epsilon", []) or [],
                self.status.get("delta", []) or [],
                self.status.get("mechanism", []) or [],
                strict=False,
            )
        ]

    @property
    def guideline(self) -> tuple[str, str]:
        """The guideline ``(name, version)`` the site's project follows."""
        return str(self.meta.get("guideline", "")), str(self.meta.get("guideline_version", ""))


def read_reply(default_site: str, content: RecordDict) -> SiteReply:
    """A reply's records as a :class:`SiteReply` (the site it names wins over ``default_site``)."""
    status_record = content.config_records.get("status")
    status = dict(status_record) if isinstance(status_record, ConfigRecord) else {}
    site = str(status.get("site") or default_site)
    reply = SiteReply(site=site, ok=bool(status.get("ok")), status=status)
    meta = content.config_records.get("training.meta")
    if isinstance(meta, ConfigRecord):
        reply.meta = dict(meta)
    update = content.array_records.get("update")
    if isinstance(update, ArrayRecord):
        reply.update = unpacked(update)
    for key, target in (("metrics", reply.metrics), ("evaluation", reply.evaluation)):
        record = content.metric_records.get(key)
        if isinstance(record, MetricRecord):
            target.update({name: float(value) for name, value in record.items()})  # type: ignore[arg-type]
    return reply
