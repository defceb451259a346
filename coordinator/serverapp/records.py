"""A node's replies (Flower records) → plain data: status, per-site statistics, layout, receipts.

The query reply's layout is the one :mod:`node.clientapp.records` writes:
``status`` (ConfigRecord), ``agreement.meta`` plus ``agreement.<i>``
(ArrayRecords), ``diversity.<name>`` (ArrayRecords) and ``layout`` (the
secure sum's layout as the node's gate released it: canonical JSON bytes).
A secure sum's receipt is the survivor's fit metrics
(``<kind>.bytes|sha256|epsilon|delta|mechanism``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from flwr.app import ConfigRecord, RecordDict

from coordinator.rounds import SiteStatistics
from shared.privacy import SecureSumError, StatisticsLayout

__all__ = ["receipt_releases", "reply_layout", "reply_statistics", "reply_status"]


def reply_status(content: RecordDict) -> dict[str, Any]:
    """The ``status`` record as a plain dict (empty if missing)."""
    status = content.config_records.get("status")
    return dict(status) if isinstance(status, ConfigRecord) else {}


def reply_layout(content: RecordDict) -> tuple[bytes, StatisticsLayout] | None:
    """The secure sum's layout a node released (its bytes and parsed form), or None."""
    record = content.config_records.get("layout")
    if not isinstance(record, ConfigRecord) or not isinstance(record.get("data"), bytes):
        return None
    data = bytes(record["data"])  # type: ignore[arg-type]
    try:
        payload = json.loads(data.decode("utf-8"))
        return data, StatisticsLayout.from_json(payload["layout"])
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, SecureSumError):
        return None


def reply_statistics(site: str, content: RecordDict) -> SiteStatistics | None:
    """The statistics a site released per site, as numpy arrays (None: it released none)."""
    agreement = []
    guideline = None
    meta = content.config_records.get("agreement.meta")
    if isinstance(meta, ConfigRecord):
        guideline = (str(meta["guideline"]), str(meta["version"]))
        labels = list(meta["labels"])  # type: ignore[arg-type]
        statistics = list(meta["statistics"])  # type: ignore[arg-type]
        for index, (label, statistic) in enumerate(zip(labels, statistics, strict=True)):
            record = content.array_records[f"agreement.{index}"]
            arrays = {name: array.numpy() for name, array in record.items()}
            agreement.append((str(label), str(statistic), arrays))
    histograms = {}
    for key, record in content.array_records.items():
        if key.startswith("diversity."):
            histograms[key.removeprefix("diversity.")] = {
                name: array.numpy() for name, array in record.items()
            }
    if not agreement and not histograms:
        return None
    return SiteStatistics(site, agreement, histograms, guideline)


def receipt_releases(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The releases a secure-sum contribution encodes, from its receipt (kind order kept)."""
    kinds: dict[str, dict[str, Any]] = {}
    for key, value in metrics.items():
        kind, _, name = str(key).partition(".")
        if name in ("bytes", "sha256", "epsilon", "delta", "mechanism"):
            kinds.setdefault(kind, {"kind": kind})[name] = value
    order = ("agreement_statistics", "diversity_statistics")
    return [kinds[k] for k in order if k in kinds] + [v for k, v in kinds.items() if k not in order]


def layout_id(data: bytes) -> str:
    """A short id of a layout's bytes (sites with equal layouts share it)."""
    return hashlib.sha256(data).hexdigest()[:16]
