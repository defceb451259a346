"""The ClientApp's outermost mod: replies leave only as ledgered gate bytes or SecAgg+ traffic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.supercore.task_identity import TaskIdentity

from node.clientapp.egress_mod import SECAGG_CONFIGS, ReplyRefusedError, egress_mod
from node.clientapp.records import gated_records
from node.consortium import Membership, consortium_dir
from node.egress import EgressLedger, Outcome
from node.runtime import open_node
from node.stats import statistics_gate
from node.store.database import create_database_engine
from shared.errors import InvalidInputError
from tests.support.stats_sites import node_settings

ROUND = "stats-mod-1"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    TaskIdentity.run_id, TaskIdentity.node_id, TaskIdentity.task_id = 1, 0, 1
    root = tmp_path_factory.mktemp("egress-mod") / "node"
    with open_node(node_settings(root)):
        pass
    folder = consortium_dir(root)
    folder.mkdir(exist_ok=True)
    membership = Membership("hosp-x", "http://x", "https://x", "127.0.0.1:9092", "1", "", "")
    (folder / "enrollment.json").write_text(json.dumps(membership.to_json()))
    yield root


def _context(data_dir: Path) -> Context:
    return Context(
        run_id=1,
        node_id=7,
        node_config={"data-path": str(data_dir), "site": "hosp-x"},
        state=RecordDict(),
        run_config={},
    )


def _query() -> Message:
    request = ConfigRecord({"project": "lung", "round-id": ROUND})
    return Message(RecordDict({"request": request}), dst_node_id=7, message_type="query")


def _release(data_dir: Path, payload: dict[str, Any]) -> bytes:
    settings = node_settings(data_dir)
    engine = create_database_engine(settings.resolved_database_url, durable=False)
    try:
        gate = statistics_gate(engine, settings, None, None)
        return gate.release("secure_aggregation", payload, "superlink", round_id=ROUND)
    finally:
        engine.dispose()


def _released(data_dir: Path) -> list[Any]:
    settings = node_settings(data_dir)
    engine = create_database_engine(settings.resolved_database_url, durable=False)
    try:
        return EgressLedger(engine).entries(outcome=Outcome.RELEASED)
    finally:
        engine.dispose()


LAYOUT = {"stage": "setup", "protocol": {"pk1": b"\x04" * 65, "pk2": b"\x05" * 65}}


def test_gated_bytes_found_in_the_ledger_become_the_wire_records(data_dir: Path) -> None:
    data = _release(data_dir, LAYOUT)
    before = len(_released(data_dir))
    message = _query()

    def handler(msg: Message, ctx: Context) -> Message:
        envelope = {"ok": True, "site": "hosp-x", "per_site": "not-allowed", "secure": "ready"}
        return Message(gated_records(envelope, [("secure_aggregation", data)]), reply_to=msg)

    reply = egress_mod(message, _context(data_dir), handler)
    status = dict(reply.content.config_records["status"])
    assert status["per_site"] == "not-allowed" and status["kinds"] == ["secure_aggregation"]
    assert status["bytes"] == [len(data)]
    assert reply.content.config_records["layout"]["data"] == data
    assert len(_released(data_dir)) == before  # verified, not ledgered again


@pytest.mark.parametrize(
    ("envelope", "released"),
    [
        ({"ok": True, "site": "hosp-x"}, [("secure_aggregation", b'{"not": "ledgered"}')]),
        ({"ok": True, "site": "hosp-x", "note": "free text"}, []),
        ({"ok": True, "site": "hosp-x", "message": "CANARY-0123456789 found"}, []),
    ],
)
def test_anything_not_ledgered_or_off_the_envelope_is_refused(
    data_dir: Path, envelope: dict[str, Any], released: list[tuple[str, bytes]]
) -> None:
    def handler(msg: Message, ctx: Context) -> Message:
        return Message(gated_records(envelope, released), reply_to=msg)

    with pytest.raises(ReplyRefusedError):
        egress_mod(_query(), _context(data_dir), handler)


def test_a_reply_built_by_hand_is_refused(data_dir: Path) -> None:
    def handler(msg: Message, ctx: Context) -> Message:
        arrays = ArrayRecord({"counts": Array(np.arange(4))})
        return Message(RecordDict({"agreement.0": arrays}), reply_to=msg)

    with pytest.raises(ReplyRefusedError, match="neither in gated form"):
        egress_mod(_query(), _context(data_dir), handler)


def test_handler_errors_leave_as_their_type_and_harmonia_message_only(data_dir: Path) -> None:
    def crash(msg: Message, ctx: Context) -> Message:
        raise KeyError("PatientName=DOE^JANE")

    with pytest.raises(ReplyRefusedError) as caught:
        egress_mod(_query(), _context(data_dir), crash)
    assert "DOE" not in str(caught.value) and "KeyError" in str(caught.value)

    def refuse(msg: Message, ctx: Context) -> Message:
        raise InvalidInputError("this node does not know the train task 'x'")

    with pytest.raises(ReplyRefusedError, match="does not know the train task"):
        egress_mod(_query(), _context(data_dir), refuse)


def _secagg_message() -> Message:
    configs = ConfigRecord({"stage": "setup"})
    return Message(
        RecordDict({SECAGG_CONFIGS: configs}), dst_node_id=7, message_type="train", group_id=ROUND
    )


def test_secaggplus_traffic_is_released_as_secure_aggregation(data_dir: Path) -> None:
    before = len(_released(data_dir))

    def setup(msg: Message, ctx: Context) -> Message:
        msg.content.config_records[SECAGG_CONFIGS].pop("stage")  # as secaggplus_mod does
        return Message(RecordDict({SECAGG_CONFIGS: ConfigRecord(LAYOUT["protocol"])}), reply_to=msg)

    reply = egress_mod(_secagg_message(), _context(data_dir), setup)
    assert dict(reply.content.config_records[SECAGG_CONFIGS]) == LAYOUT["protocol"]
    entries = _released(data_dir)[before:]
    assert [(e.kind, e.round_id, e.epsilon) for e in entries] == [
        ("secure_aggregation", ROUND, None)
    ]


@pytest.mark.parametrize(
    "extra",
    [
        {"fitres.parameters": ArrayRecord({"0": Array(np.arange(3.0))})},
        {"fitres.status": ConfigRecord({"code": 0, "message": "hello from the node"})},
        {"fitres.num_examples": MetricRecord({"num_examples": 1, "loss": 0.5})},
        {"notes": ConfigRecord({"x": "y"})},
    ],
)
def test_secaggplus_replies_carry_nothing_unmasked(data_dir: Path, extra: dict[str, Any]) -> None:
    def setup(msg: Message, ctx: Context) -> Message:
        content = RecordDict({SECAGG_CONFIGS: ConfigRecord(LAYOUT["protocol"]), **extra})
        return Message(content, reply_to=msg)

    with pytest.raises(ReplyRefusedError):
        egress_mod(_secagg_message(), _context(data_dir), setup)
