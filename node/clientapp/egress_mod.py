"""The ClientApp's outermost mod: every reply leaves through the node's egress gate.

Flower replies leave the node from the ClientApp, some of them built outside
our handlers (``secaggplus_mod`` answers three of the four SecAgg+ stages
itself and masks the fourth). :func:`egress_mod` wraps everything and lets a
reply out only in one of two forms:

**gated form** (query replies)
    The handler released each payload through the gate and returns only the
    gate's bytes and an envelope (:func:`node.clientapp.records.gated_records`).
    The mod finds each byte string in the ledger (released, this round, same
    SHA-256 and size), scans the envelope for canaries, and builds the wire
    records from those bytes (:func:`~node.clientapp.records.wire_records`).
    Nothing is ledgered twice.
**SecAgg+ traffic** (train replies that carry ``secaggplus_configs``)
    The protocol record (public keys, encrypted shares, masked integer
    vectors, key shares) and the receipt of the releases a masked vector
    encodes are released through the gate as ``secure_aggregation`` (checked,
    scanned, ledgered with size and SHA-256, no charge: the statistics were
    charged when released into the vector), and the reply is rebuilt from the
    gate's bytes. The leftovers of Flower's legacy fit result must be empty or
    fixed bookkeeping (``num_examples``, an empty status message).

Anything else is refused. A handler's exception leaves only as its type and,
for Harmonia's own errors, their message after a canary scan; the traceback
stays in the node's log. (The federated training branch registers its own
wire form here when it lands.)
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flwr.app import ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp.typing import ClientAppCallable

from node.clientapp.records import ENVELOPE_KEYS, read_gated, wire_records
from node.errors import CanaryDetectedError, EgressError, EgressRefusedError
from shared.errors import HarmoniaError

if TYPE_CHECKING:
    from node.egress import LedgerEntry
    from node.settings import NodeSettings

# The node's egress, store and statistics packages are imported where a reply is
# checked, not here: the ClientApp module loads in every flwr-clientapp process.

__all__ = ["ReplyRefusedError", "egress_mod"]

_log = logging.getLogger(__name__)

SECAGG_CONFIGS = "secaggplus_configs"
_ROUND = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$")
_FITRES = {"fitres.metrics", "fitres.num_examples", "fitres.parameters", "fitres.status"}
_MAX_MESSAGE = 2000


class ReplyRefusedError(RuntimeError):
    """What leaves instead of a handler's exception or a reply the mod refused."""


def _settings(context: Context) -> NodeSettings:
    from node.settings import NodeSettings

    return NodeSettings(data_dir=Path(str(context.node_config["data-path"])))


def _round_of(message: Message) -> str | None:
    request = message.content.config_records.get("request")
    value = request.get("round-id") if isinstance(request, ConfigRecord) else None
    value = value or message.metadata.group_id
    return str(value) if value and _ROUND.fullmatch(str(value)) else None


def _sanitized(exc: Exception) -> ReplyRefusedError:
    if isinstance(exc, HarmoniaError):
        from node.egress import CanaryScan

        text = str(exc)[:_MAX_MESSAGE]
        try:
            CanaryScan().check(text)
        except CanaryDetectedError:
            text = "(message withheld: it held identifying content)"
        return ReplyRefusedError(f"{type(exc).__name__}: {text}")
    return ReplyRefusedError(f"{type(exc).__name__} on the node (details in the node's log)")


def egress_mod(message: Message, context: Context, call_next: ClientAppCallable) -> Message:
    """Pass every reply of the ClientApp through the egress gate (see the module docstring)."""
    stage = None
    configs = message.content.config_records.get(SECAGG_CONFIGS)
    if isinstance(configs, ConfigRecord):
        stage = configs.get("stage")  # secaggplus_mod pops it: read it first
    try:
        reply = call_next(message, context)
    except Exception as exc:
        _log.exception("the ClientApp's handler failed; the coordinator gets its type only")
        raise _sanitized(exc) from None
    if reply.has_error():
        return reply
    try:
        if isinstance(stage, str) and SECAGG_CONFIGS in reply.content.config_records:
            return Message(
                _secure(reply.content, stage, _round_of(message), context), reply_to=message
            )
        gated = read_gated(reply.content)
        if gated is not None:
            return Message(_gated(*gated, _round_of(message), context), reply_to=message)
        raise EgressRefusedError(
            "refused a ClientApp reply that is neither in gated form nor SecAgg+ traffic: "
            "release its payload through the egress gate first.",
            field="reply",
        )
    except EgressError as refusal:
        _log.warning("refused a ClientApp reply: %s", refusal)
        raise _sanitized(refusal) from None


def _ledgered(
    context: Context, released: list[tuple[str, bytes]], round_id: str | None
) -> list[LedgerEntry]:
    from node.egress import EgressLedger, Outcome
    from node.store.database import create_database_engine

    settings = _settings(context)
    engine = create_database_engine(settings.resolved_database_url, durable=False)
    try:
        entries = EgressLedger(engine).entries(outcome=Outcome.RELEASED)
    finally:
        engine.dispose()
    found = {(e.sha256, e.kind, e.byte_count): e for e in entries if e.round_id == round_id}
    out = []
    for kind, data in released:
        entry = found.get((hashlib.sha256(data).hexdigest(), kind, len(data)))
        if entry is None:
            raise EgressRefusedError(
                f"refused a reply carrying {kind} bytes the egress ledger does not show as "
                "released for this round. Nothing was sent.",
                kind=kind,
                field="reply",
            )
        out.append(entry)
    return out


def _gated(
    envelope: dict[str, Any],
    released: list[tuple[str, bytes]],
    round_id: str | None,
    context: Context,
) -> RecordDict:
    extra = set(envelope) - ENVELOPE_KEYS
    if extra:
        raise EgressRefusedError(
            f"refused a reply envelope with {len(extra)} field(s) outside {sorted(ENVELOPE_KEYS)}.",
            field="envelope",
        )
    from node.egress import CanaryScan

    for key, value in envelope.items():
        if isinstance(value, str) and len(value) > _MAX_MESSAGE:
            raise EgressRefusedError(f"refused a reply envelope: {key} is too long.", field=key)
    CanaryScan().check(envelope, kind="reply envelope")
    return wire_records(envelope, released, _ledgered(context, released, round_id))


def _secure(content: RecordDict, stage: str, round_id: str | None, context: Context) -> RecordDict:
    extra = set(content) - _FITRES - {SECAGG_CONFIGS}
    if extra:
        raise EgressRefusedError(
            f"refused a SecAgg+ reply with {len(extra)} record(s) beyond the protocol's.",
            field="reply",
        )
    parameters = content.array_records.get("fitres.parameters")
    if parameters is not None and len(parameters):
        raise EgressRefusedError("refused a SecAgg+ reply with unmasked arrays.", field="fitres")
    status = content.config_records.get("fitres.status")
    if status is not None and (status.get("message") or set(status) != {"code", "message"}):
        raise EgressRefusedError("refused a SecAgg+ reply whose status says more than its code.")
    examples = content.metric_records.get("fitres.num_examples")
    if examples is not None and set(examples) != {"num_examples"}:
        raise EgressRefusedError("refused a SecAgg+ reply with metrics beyond num_examples.")
    metrics = content.config_records.get("fitres.metrics")
    payload: dict[str, Any] = {
        "stage": stage,
        "protocol": dict(content.config_records[SECAGG_CONFIGS]),
    }
    if metrics is not None and len(metrics):
        payload["receipt"] = dict(metrics)
    from node.egress import decode_payload
    from node.stats import statistics_gate
    from node.store.database import create_database_engine

    settings = _settings(context)
    engine = create_database_engine(settings.resolved_database_url, durable=settings.fsync)
    try:
        gate = statistics_gate(engine, settings, None, None)
        data = gate.release("secure_aggregation", payload, "superlink", round_id=round_id)
    finally:
        engine.dispose()
    sent = decode_payload(data)
    out = RecordDict({SECAGG_CONFIGS: ConfigRecord(sent["protocol"], False)})
    if metrics is not None:
        out["fitres.metrics"] = ConfigRecord(sent.get("receipt", {}))
    if status is not None:
        code = status["code"]
        out["fitres.status"] = ConfigRecord(
            {"code": code if isinstance(code, int) else -1, "message": ""}
        )
    if examples is not None:
        out["fitres.num_examples"] = MetricRecord(
            {"num_examples": int(examples["num_examples"])}  # type: ignore[arg-type]
        )
    if parameters is not None:
        out["fitres.parameters"] = parameters
    return out
