"""The ClientApp's training and evaluation handlers: torch-free, the work is the learning service's.

:func:`train_reply` and :func:`evaluate_reply` read ``data-path`` and
``site`` from the SuperNode's ``node_config``, turn the global weights of the
message into a :mod:`shared.weights` file, and hand the work to the node's
persistent learning service (:class:`node.learn.client.LearningClient`) —
which trains or evaluates, releases the update through the egress gate and
answers the gate's bytes. A refusal (budget exceeded, no consensus, a plan
that does not fit, the service not running) is a normal reply with
``status.ok = False`` and the node's message, so the coordinator reports it.

Replies are in the egress mod's gated form
(:func:`node.clientapp.records.gated_records`): the gate's bytes of the
``model_update`` (and of the ``evaluation_metrics`` the site's policy lets
out) plus an envelope; the mod checks them against the ledger and lays them
out (:mod:`node.clientapp.training_records`).

Under SecAgg+ (the message is a legacy fit instruction, ``fitins.*``,
inside the protocol's masked-vector stage) the learning service releases the
update to the secure sum (charged and ledgered once, ``model_update``), and
:func:`train_reply` answers the legacy fit result ``secaggplus_mod`` masks:
the update's arrays decoded from the gate's very bytes (as float64; the
plan's compression undone), ``num_examples`` = 1 (every site weighs the same:
the workflow's ``max_weight`` is 1) and, as metrics, the receipt of the
release (bytes, SHA-256, charge, guideline) — the coordinator sees only the
masked vector and the receipt; the egress mod ledgers both as
``secure_aggregation``.

``in-process`` in the message's config (the overhead benchmark's baseline
only) does the work in this process instead, importing torch here as a plain
Flower ClientApp would.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.common import (
    Code,
    FitRes,
    Scalar,
    Status,
    ndarrays_to_parameters,
    parameters_to_ndarrays,
)
from flwr.compat.common import recorddict_compat as compat

from node.clientapp.records import gated_records
from node.clientapp.training_records import PACKED
from node.egress import decode_payload
from node.errors import EgressRefusedError, LearnError
from node.learn.client import LearningClient
from shared.compression import decode_arrays
from shared.errors import HarmoniaError
from shared.weights import encode_weights

__all__ = [
    "EVALUATION",
    "SECURE_FIT_CONFIG",
    "TASK_KEY",
    "TRAINING",
    "evaluate_reply",
    "train_reply",
]

TASK_KEY = "harmonia-task"
"""The config key the ClientApp dispatches on (``training``, ``evaluation``...)."""
SERVICE_START_WAIT_S = 60.0
"""How long a message waits for the node's learning service to listen (a node just started)."""
TRAINING = "training"
EVALUATION = "evaluation"
SECURE_FIT_CONFIG = "fitins.config"
"""The record of a legacy fit instruction: the message is SecAgg+'s masked-vector stage."""

_PARAMETERS = ("plan", "project", "run-id", "round-id", "server-round")


def _secure(message: Message) -> bool:
    return SECURE_FIT_CONFIG in message.content.config_records


def _request(message: Message) -> tuple[dict[str, Any], bytes, bool]:
    if _secure(message):
        fitins = compat.recorddict_to_fitins(message.content, keep_input=True)
        arrays = parameters_to_ndarrays(fitins.parameters)
        weights = encode_weights({f"p{i:04d}": a for i, a in enumerate(arrays)})
        config: Any = fitins.config
    else:
        config = message.content.config_records.get("config")
        if not isinstance(config, ConfigRecord):
            raise KeyError("the message carries no 'config' record")
        record = message.content.array_records.get("arrays")
        if not isinstance(record, ArrayRecord):
            raise KeyError("the message carries no 'arrays' record (the global weights)")
        if set(record) == {PACKED}:  # the weights file itself (one Array: few wire objects)
            weights = record[PACKED].numpy().tobytes()
        else:
            weights = encode_weights({name: array.numpy() for name, array in record.items()})
    parameters = {key.replace("-", "_"): config[key] for key in _PARAMETERS if key in config}
    if _secure(message):
        parameters["secure"] = True
    return parameters, weights, bool(config.get("in-process", False))


def _masked_input(header: dict[str, Any], body: bytes) -> RecordDict:
    """The legacy fit result ``secaggplus_mod`` masks, from the gate's bytes of the update."""
    payload = decode_payload(body)
    metadata = dict(payload.get("metadata", {}))
    stored = payload["arrays"]
    arrays = decode_arrays(
        [stored[name] for name in sorted(stored)], str(metadata.get("compression", "none"))
    )
    if str(metadata.get("update", "delta")) != "delta":
        raise EgressRefusedError(
            "refused to add whole weights to a secure sum: SecAgg+ sums clipped updates; "
            "set update_clip_norm in the plan",
            field="update",
        )
    receipt: dict[str, Scalar] = {
        "model_update.bytes": len(body),
        "model_update.sha256": hashlib.sha256(body).hexdigest(),
        "model_update.guideline": str(metadata.get("guideline", "")),
        "model_update.guideline_version": str(metadata.get("guideline_version", "")),
    }
    charge = header.get("privacy")
    if isinstance(charge, dict):
        receipt["model_update.epsilon"] = float(charge["epsilon"])
        receipt["model_update.delta"] = float(charge["delta"])
        receipt["model_update.mechanism"] = str(charge["mechanism"])
    fitres = FitRes(
        status=Status(code=Code.OK, message=""),
        parameters=ndarrays_to_parameters([np.asarray(a, dtype=np.float64) for a in arrays]),
        num_examples=1,
        metrics=receipt,
    )
    return compat.fitres_to_recorddict(fitres, keep_input=False)


def _refusal(site: str, error: str, message: str) -> Any:
    return gated_records({"ok": False, "site": site, "error": error, "message": message}, [])


def _work(op: str, message: Message, context: Context) -> Message:
    site = str(context.node_config.get("site", ""))
    data_dir = Path(str(context.node_config["data-path"]))
    try:
        parameters, weights, in_process = _request(message)
        if in_process:
            from node.learn.round_work import RoundWork  # torch in this process: baseline only

            work = RoundWork(data_dir)
            header, body = (work.train if op == "train" else work.evaluate)(parameters, weights)
        else:
            reply = LearningClient(data_dir, start_wait_s=SERVICE_START_WAIT_S).request(
                op, parameters, weights
            )
            header, body = reply.header, reply.body
    except HarmoniaError as refusal:
        if _secure(message):
            raise
        return Message(_refusal(site, type(refusal).__name__, str(refusal)), reply_to=message)
    except KeyError as missing:
        return Message(_refusal(site, "MalformedRequest", str(missing)), reply_to=message)
    if not header.get("ok"):
        error, text = str(header.get("error", "Refused")), str(header.get("message", ""))
        if _secure(message):  # a refusal drops the node from the secure sum, saying why
            raise LearnError(f"{error}: {text}")
        return Message(_refusal(site, error, text), reply_to=message)
    if _secure(message) and op == "train":
        return Message(_masked_input(header, body), reply_to=message)
    released = [("model_update", body)] if body else []
    evaluation = header.get("evaluation_release")
    if isinstance(evaluation, str) and evaluation:
        released.append(("evaluation_metrics", base64.b64decode(evaluation)))
    envelope = {"ok": True, "site": site, "per_site": bool(evaluation), "secure": False}
    return Message(gated_records(envelope, released), reply_to=message)


def train_reply(message: Message, context: Context) -> Message:
    """Train on the local consensus; reply with the released update (or a refusal)."""
    return _work("train", message, context)


def evaluate_reply(message: Message, context: Context) -> Message:
    """Evaluate the global weights on the local validation consensus (or refuse)."""
    return _work("evaluate", message, context)
