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

``in-process`` in the message's config (the overhead benchmark's baseline
only) does the work in this process instead, importing torch here as a plain
Flower ClientApp would.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from flwr.app import ArrayRecord, ConfigRecord, Context, Message

from node.clientapp.records import gated_records
from node.learn.client import LearningClient
from shared.errors import HarmoniaError
from shared.weights import encode_weights

__all__ = ["EVALUATION", "TASK_KEY", "TRAINING", "evaluate_reply", "train_reply"]

TASK_KEY = "harmonia-task"
"""The config key the ClientApp dispatches on (``training``, ``evaluation``...)."""
TRAINING = "training"
EVALUATION = "evaluation"

_PARAMETERS = ("plan", "project", "run-id", "round-id", "server-round")


def _request(message: Message) -> tuple[dict[str, Any], bytes, bool]:
    config = message.content.config_records.get("config")
    if not isinstance(config, ConfigRecord):
        raise KeyError("the message carries no 'config' record")
    arrays = message.content.array_records.get("arrays")
    if not isinstance(arrays, ArrayRecord):
        raise KeyError("the message carries no 'arrays' record (the global weights)")
    weights = encode_weights({name: array.numpy() for name, array in arrays.items()})
    parameters = {key.replace("-", "_"): config[key] for key in _PARAMETERS if key in config}
    return parameters, weights, bool(config.get("in-process", False))


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
            reply = LearningClient(data_dir).request(op, parameters, weights)
            header, body = reply.header, reply.body
    except HarmoniaError as refusal:
        return Message(_refusal(site, type(refusal).__name__, str(refusal)), reply_to=message)
    except KeyError as missing:
        return Message(_refusal(site, "MalformedRequest", str(missing)), reply_to=message)
    if not header.get("ok"):
        error, text = str(header.get("error", "Refused")), str(header.get("message", ""))
        return Message(_refusal(site, error, text), reply_to=message)
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
