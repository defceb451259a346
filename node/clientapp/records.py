"""Gated bytes → Flower records: the wire form of every reply the ClientApp sends.

Handlers never build wire records themselves. A query handler returns the
**gated form** (:func:`gated_records`): the egress gate's bytes of each
release and a small envelope; :mod:`node.clientapp.egress_mod` checks those
bytes against the ledger and turns them into the wire form here
(:func:`wire_records`), so everything a reply carries is decoded from bytes
the gate released:

=======================  ===================================================
``status``               ConfigRecord: ``ok``, ``site``, ``per_site``,
                         ``secure``, ``kinds``, ``bytes``, ``sha256`` (per
                         release), ``epsilon``, ``delta``, ``mechanism`` (per
                         charged release), ``skipped``; ``error`` and
                         ``message`` when something was refused
``agreement.meta``       ConfigRecord: ``guideline``, ``version``,
                         ``labels``, ``statistics`` (one per entry)
``agreement.<i>``        ArrayRecord: entry i's arrays
``diversity.<name>``     ArrayRecord: ``categories``/``edges``, ``counts``
``layout``               ConfigRecord: ``data`` — the secure sum's layout,
                         the gate's canonical JSON bytes as released
=======================  ===================================================
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from flwr.app import Array, ArrayRecord, ConfigRecord, RecordDict

from node.clientapp.training_records import TRAINING_KINDS, training_wire

if TYPE_CHECKING:
    from node.egress import LedgerEntry

__all__ = [
    "ENVELOPE_KEYS",
    "GATED",
    "gated_records",
    "read_gated",
    "wire_records",
]

GATED = "egress.gated"
"""The gated form's record of released bytes (``kinds``, ``data``)."""
ENVELOPE = "egress.envelope"
ENVELOPE_KEYS = frozenset({"ok", "site", "per_site", "secure", "error", "message"})
"""What a reply's envelope may say besides the released bytes."""


def gated_records(envelope: Mapping[str, Any], released: Sequence[tuple[str, bytes]]) -> RecordDict:
    """A handler's reply in gated form: the envelope and the gate's bytes per release."""
    return RecordDict(
        {
            ENVELOPE: ConfigRecord(dict(envelope)),
            GATED: ConfigRecord(
                {"kinds": [k for k, _ in released], "data": [d for _, d in released]}
            ),
        }
    )


def read_gated(content: RecordDict) -> tuple[dict[str, Any], list[tuple[str, bytes]]] | None:
    """The envelope and released bytes of a gated-form reply (None: not in gated form)."""
    if set(content) != {ENVELOPE, GATED}:
        return None
    envelope = content.config_records.get(ENVELOPE)
    gated = content.config_records.get(GATED)
    if not isinstance(envelope, ConfigRecord) or not isinstance(gated, ConfigRecord):
        return None
    kinds = [str(k) for k in gated.get("kinds", [])]  # type: ignore[union-attr]
    data = [d for d in gated.get("data", []) if isinstance(d, bytes)]  # type: ignore[union-attr]
    if len(data) != len(kinds):
        return None
    return dict(envelope), list(zip(kinds, data, strict=True))


def _statistics(records: RecordDict, kind: str, payload: Mapping[str, Any]) -> None:
    if kind == "agreement_statistics":
        entries = payload["statistics"]
        records["agreement.meta"] = ConfigRecord(
            {
                "guideline": str(payload["guideline"]["name"]),
                "version": str(payload["guideline"]["version"]),
                "labels": [str(e["label"]) for e in entries],
                "statistics": [str(e["statistic"]) for e in entries],
            }
        )
        for index, entry in enumerate(entries):
            records[f"agreement.{index}"] = ArrayRecord(
                {name: Array(array) for name, array in entry["arrays"].items()}
            )
    else:
        for name, histogram in payload["histograms"].items():
            records[f"diversity.{name}"] = ArrayRecord(
                {key: Array(array) for key, array in histogram.items()}
            )


def wire_records(
    envelope: Mapping[str, Any],
    released: Sequence[tuple[str, bytes]],
    entries: Sequence[LedgerEntry],
) -> RecordDict:
    """The wire form of a gated reply; ``entries`` are the ledger entries of ``released``."""
    from node.egress import decode_payload

    records = RecordDict()
    for kind, data in released:
        if kind == "secure_aggregation":
            records["layout"] = ConfigRecord({"data": data})
        elif kind in TRAINING_KINDS:
            training_wire(records, kind, decode_payload(data))
        else:
            _statistics(records, kind, decode_payload(data))
    charged = [e for e in entries if e.epsilon is not None]
    records["status"] = ConfigRecord(
        {
            **{k: v for k, v in envelope.items() if k in ENVELOPE_KEYS},
            "kinds": [k for k, _ in released],
            "bytes": [len(d) for _, d in released],
            "sha256": [hashlib.sha256(d).hexdigest() for _, d in released],
            "epsilon": [float(e.epsilon or 0.0) for e in charged],
            "delta": [float(e.delta or 0.0) for e in charged],
            "mechanism": [str(e.mechanism) for e in charged],
            "skipped": [],
        }
    )
    return records
