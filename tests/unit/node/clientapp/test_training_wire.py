"""Training messages and replies carry their weights as one Array (few Flower objects)."""

from __future__ import annotations

from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Message, RecordDict
from flwr.supercore.inflatable.inflatable_object import get_all_nested_objects

from coordinator.serverapp.training_records import PACKED, read_reply, task_content
from node.clientapp.training import _request
from node.clientapp.training_records import PACKED as NODE_PACKED
from node.clientapp.training_records import training_wire
from shared.weights import decode_weights, encode_weights

WEIGHTS = {
    f"block{i}.{part}": np.arange(i + 3, dtype=np.float32).reshape(1, -1) * (i + 1)
    for i in range(20)
    for part in ("weight", "bias")
}


def _objects(content: RecordDict) -> int:
    message = Message(content, dst_node_id=1, message_type="train")
    return len(get_all_nested_objects(message))


def test_both_sides_name_the_same_packed_array() -> None:
    assert PACKED == NODE_PACKED == "weights-file"


def test_a_train_message_carries_the_weights_file_the_node_hands_on_unchanged() -> None:
    content = task_content("training", WEIGHTS, {"plan": "{}", "project": "p", "round-id": "r1"})
    assert list(content.array_records["arrays"]) == [PACKED]
    message = Message(content, dst_node_id=1, message_type="train")
    parameters, weights, in_process = _request(message)
    assert weights == encode_weights(WEIGHTS) and not in_process
    assert parameters["project"] == "p" and parameters["round_id"] == "r1"
    arrays, _ = decode_weights(weights)
    assert list(arrays) == list(WEIGHTS)
    assert all(np.array_equal(arrays[n], WEIGHTS[n]) for n in WEIGHTS)


def test_packing_cuts_the_objects_flower_moves_one_request_each() -> None:
    per_layer = RecordDict(
        {"arrays": ArrayRecord({name: Array(array) for name, array in WEIGHTS.items()})}
    )
    packed = task_content("training", WEIGHTS, {})
    assert _objects(per_layer) > len(WEIGHTS)
    assert _objects(packed) <= 6


def test_a_message_naming_each_array_is_still_understood() -> None:
    content = RecordDict(
        {
            "arrays": ArrayRecord({name: Array(array) for name, array in WEIGHTS.items()}),
            "config": ConfigRecord({"harmonia-task": "training", "project": "p"}),
        }
    )
    _, weights, _ = _request(Message(content, dst_node_id=1, message_type="train"))
    assert weights == encode_weights(WEIGHTS)


def _payload(arrays: dict[str, Any]) -> dict[str, Any]:
    return {
        "arrays": arrays,
        "metadata": {"compression": "none", "update": "delta", "num_examples": 4},
    }


def test_a_released_update_reaches_the_coordinator_with_its_names_and_values() -> None:
    update = {f"u{i:04d}": a * 0.5 for i, a in enumerate(WEIGHTS.values())}
    records = RecordDict()
    training_wire(records, "model_update", _payload(update))
    assert list(records.array_records["update"]) == [PACKED]
    records["status"] = ConfigRecord({"ok": True, "site": "north"})
    reply = read_reply("node-1", records)
    assert reply.site == "north" and reply.examples == 4 and reply.is_delta
    assert list(reply.update) == sorted(update)
    assert all(np.array_equal(reply.update[n], update[n]) for n in update)


def test_a_reply_naming_each_array_is_still_read() -> None:
    records = RecordDict(
        {
            "update": ArrayRecord({"u0000": Array(np.ones(3, dtype=np.float32))}),
            "status": ConfigRecord({"ok": True}),
        }
    )
    reply = read_reply("node-7", records)
    assert reply.site == "node-7" and np.array_equal(reply.update["u0000"], np.ones(3))
