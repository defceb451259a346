"""Released bytes → Flower records: the reply of a statistics query.

The reply carries exactly what the egress gate released: each payload's
bytes are decoded (:func:`node.egress.decode_payload`) and laid out as
records, with the byte count and SHA-256 of the released bytes, so the
coordinator can match every reply with the node's ledger:

=======================  ===================================================
``status``               ConfigRecord: ``ok``, ``site``, ``kinds``,
                         ``bytes``, ``sha256`` (per kind), ``epsilon``,
                         ``delta``, ``mechanism``, ``skipped``, or
                         ``error`` and ``message`` when refused
``agreement.meta``       ConfigRecord: ``guideline``, ``version``,
                         ``labels``, ``statistics`` (one per entry)
``agreement.<i>``        ArrayRecord: entry i's arrays
``diversity.<name>``     ArrayRecord: ``categories``/``edges``, ``counts``
=======================  ===================================================
"""

from __future__ import annotations

import hashlib

from flwr.app import Array, ArrayRecord, ConfigRecord, RecordDict

from node.egress import decode_payload
from node.stats import Release

__all__ = ["refusal_records", "release_records"]


def release_records(site: str, releases: list[Release]) -> RecordDict:
    """The reply records of ``releases`` (the gate's bytes, decoded)."""
    records = RecordDict()
    skipped: list[str] = []
    for release in releases:
        payload = decode_payload(release.data)
        skipped.extend(release.skipped)
        if release.kind == "agreement_statistics":
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
    charges = [r.charge for r in releases if r.charge is not None]
    records["status"] = ConfigRecord(
        {
            "ok": True,
            "site": site,
            "kinds": [r.kind for r in releases],
            "bytes": [len(r.data) for r in releases],
            "sha256": [hashlib.sha256(r.data).hexdigest() for r in releases],
            "epsilon": [c.epsilon for c in charges],
            "delta": [c.delta for c in charges],
            "mechanism": [c.mechanism for c in charges],
            "skipped": skipped,
        }
    )
    return records


def refusal_records(site: str, error: str, message: str) -> RecordDict:
    """The reply of a refused request: what refused it and what to do."""
    return RecordDict(
        {"status": ConfigRecord({"ok": False, "site": site, "error": error, "message": message})}
    )
