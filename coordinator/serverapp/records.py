"""A node's statistics reply (Flower records) → :class:`~coordinator.rounds.SiteStatistics`.

The layout is the one :mod:`node.clientapp.records` writes: ``status``
(ConfigRecord), ``agreement.meta`` plus ``agreement.<i>`` (ArrayRecords) and
``diversity.<name>`` (ArrayRecords).
"""

from __future__ import annotations

from typing import Any

from flwr.app import ConfigRecord, RecordDict

from coordinator.rounds import SiteStatistics

__all__ = ["reply_statistics", "reply_status"]


def reply_status(content: RecordDict) -> dict[str, Any]:
    """The ``status`` record as a plain dict (empty if missing)."""
    status = content.config_records.get("status")
    return dict(status) if isinstance(status, ConfigRecord) else {}


def reply_statistics(site: str, content: RecordDict) -> SiteStatistics:
    """The statistics a site released, as numpy arrays."""
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
    return SiteStatistics(site, agreement, histograms, guideline)
