"""Metrics read from the coordinator's store at each scrape.

=====================================================  ===================================
``harmonia_coordinator_sites{state}``                  sites: pending (not enrolled yet),
                                                       enrolled, revoked
``harmonia_coordinator_certificates_issued_total``     node certificates the CA issued
``harmonia_coordinator_guideline_releases_total``      signed guideline releases
``harmonia_coordinator_calibration_uploads_total``     calibration uploads received
``harmonia_coordinator_rounds``                        rounds run (a summary: ``_count`` and
                                                       ``_sum`` of their wall time in seconds)
=====================================================  ===================================

They count durable records, so they hold across restarts and include what
the command line did (``round stats`` runs in its own process).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector
from sqlalchemy import Engine, Table, case, func, select

from coordinator.rounds import RoundStore
from coordinator.store.harmonization_tables import CalibrationUploadRow
from coordinator.store.tables import CertificateRow, GuidelineReleaseRow, SiteRow

__all__ = ["CoordinatorStoreCollector"]

_sites = cast(Table, SiteRow.__table__)
_certificates = cast(Table, CertificateRow.__table__)
_releases = cast(Table, GuidelineReleaseRow.__table__)
_uploads = cast(Table, CalibrationUploadRow.__table__)

_SITE_STATE = case(
    (_sites.c.revoked_at.is_not(None), "revoked"),
    (_sites.c.enrolled_at.is_not(None), "enrolled"),
    else_="pending",
)


def _families() -> tuple[
    GaugeMetricFamily, CounterMetricFamily, CounterMetricFamily, CounterMetricFamily,
    SummaryMetricFamily,
]:  # fmt: skip
    return (
        GaugeMetricFamily(
            "harmonia_coordinator_sites",
            "Consortium sites by state (pending, enrolled, revoked).",
            labels=["state"],
        ),
        CounterMetricFamily(
            "harmonia_coordinator_certificates_issued", "Certificates the consortium CA issued."
        ),
        CounterMetricFamily(
            "harmonia_coordinator_guideline_releases", "Signed guideline releases published."
        ),
        CounterMetricFamily(
            "harmonia_coordinator_calibration_uploads", "Calibration uploads received from sites."
        ),
        SummaryMetricFamily(
            "harmonia_coordinator_rounds",
            "Federated rounds run: how many, and their total wall time in seconds.",
        ),
    )


def _round_seconds(result_file: Path) -> float:
    try:
        data = json.loads(result_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0.0
    value = data.get("total_wall_time_s", data.get("wall_time_s", 0.0))
    return float(value) if isinstance(value, int | float) else 0.0


class CoordinatorStoreCollector(Collector):
    """A Prometheus collector reading the coordinator's store at each scrape.

    Parameters
    ----------
    engine
        Returns the coordinator's engine, or None while it is not open.
    rounds
        The stored round results.
    """

    def __init__(self, engine: Callable[[], Engine | None], rounds: RoundStore) -> None:
        self._engine = engine
        self._rounds = rounds

    def describe(self) -> Iterator[Metric]:
        """The families, without querying the store."""
        yield from _families()

    def collect(self) -> Iterator[Metric]:
        """Query the store and report its counts."""
        sites, certificates, releases, uploads, rounds = _families()
        engine = self._engine()
        if engine is not None:
            with engine.connect() as connection:
                states: dict[str, int] = dict(
                    connection.execute(
                        select(_SITE_STATE, func.count()).group_by(_SITE_STATE)
                    ).all()
                )
                issued = connection.execute(select(func.count()).select_from(_certificates))
                certificates.add_metric([], float(issued.scalar_one()))
                published = connection.execute(select(func.count()).select_from(_releases))
                releases.add_metric([], float(published.scalar_one()))
                received = connection.execute(select(func.count()).select_from(_uploads))
                uploads.add_metric([], float(received.scalar_one()))
            for state in ("pending", "enrolled", "revoked"):
                sites.add_metric([state], float(states.get(state, 0)))
            ids = self._rounds.list()
            seconds = sum(_round_seconds(self._rounds.path(i)) for i in ids)
            rounds.add_metric([], count_value=len(ids), sum_value=seconds)
        yield from (sites, certificates, releases, uploads, rounds)
