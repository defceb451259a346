"""Site activity: last seen (throttled), versions from enrollment and health reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coordinator.consortium import HealthReport, SiteActivity, site_overview
from coordinator.errors import NotFoundError
from coordinator.runtime import CoordinatorRuntime
from shared.errors import InvalidInputError


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_health_report_is_checked_like_the_nodes_egress_kind() -> None:
    report = HealthReport.from_json(
        {
            "software_version": "0.1.0",
            "flwr_version": "1.41.0",
            "python_version": "3.11.2",
            "schema_revision": "0004",
            "uptime_s": 12,
            "counters": {"studies": 3, "tasks_open": 1},
        }
    )
    assert report.software_version == "0.1.0"
    assert report.to_json()["counters"] == {"studies": 3, "tasks_open": 1}
    assert HealthReport.from_json({"software_version": "2.0"}).to_json() == {
        "software_version": "2.0"
    }


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "JSON object"),
        ({}, "software_version is required"),
        ({"software_version": "0.1", "patient": "x"}, "unknown key"),
        ({"software_version": "not a version"}, "version number"),
        ({"software_version": "1", "schema_revision": "12"}, "4 digits"),
        ({"software_version": "1", "uptime_s": -1}, "non-negative"),
        ({"software_version": "1", "uptime_s": True}, "non-negative"),
        ({"software_version": "1", "counters": {"patients": 3}}, "unknown counter"),
        ({"software_version": "1", "counters": []}, "must be an object"),
    ],
)
def test_a_bad_health_report_is_refused_with_the_reason(payload: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        HealthReport.from_json(payload)


def test_seen_writes_at_most_once_per_interval_per_site(coordinator: CoordinatorRuntime) -> None:
    coordinator.sites.add("alpha", created_by="test")
    coordinator.sites.add("beta", created_by="test")
    clock = Clock()
    activity = SiteActivity(coordinator.engine, touch_every=timedelta(seconds=30), clock=clock)
    assert activity.all() == {}
    assert activity.seen("alpha")
    first = clock.now
    clock.now += timedelta(seconds=10)
    assert not activity.seen("alpha")
    assert activity.seen("beta")
    assert activity.get("alpha").last_seen_at == first
    clock.now += timedelta(seconds=30)
    assert activity.seen("alpha")
    assert activity.get("alpha").last_seen_at == clock.now
    assert activity.get("alpha").software_version is None


def test_versions_come_from_enrollment_then_from_health_reports(
    coordinator: CoordinatorRuntime,
) -> None:
    coordinator.sites.add("alpha", created_by="test")
    activity = coordinator.site_activity
    activity.enrolled("alpha", "0.1.0")
    info = activity.get("alpha")
    assert (info.software_version, info.version_source) == ("0.1.0", "enrollment")
    assert info.last_seen_at is not None and info.health is None
    activity.report("alpha", HealthReport.from_json({"software_version": "0.2.0", "uptime_s": 5}))
    info = activity.get("alpha")
    assert (info.software_version, info.version_source) == ("0.2.0", "health")
    assert info.health == {"software_version": "0.2.0", "uptime_s": 5}
    assert info.reported_at is not None
    activity.enrolled("alpha", None)  # a re-enrollment without a version keeps the known one
    assert activity.get("alpha").software_version == "0.2.0"


def test_an_unknown_site_cannot_be_recorded(coordinator: CoordinatorRuntime) -> None:
    with pytest.raises(NotFoundError):
        coordinator.site_activity.seen("ghost")


def test_the_overview_says_what_is_unknown(coordinator: CoordinatorRuntime) -> None:
    coordinator.sites.add("alpha", created_by="test")
    coordinator.sites.add("beta", created_by="test")
    coordinator.site_activity.enrolled("alpha", "0.1.0")
    charges = {"alpha": {"rounds_answered": 1, "epsilon_sum": 0.5}}
    rows = {
        r["name"]: r
        for r in site_overview(coordinator.sites.list(), coordinator.site_activity.all(), charges)
    }
    assert rows["alpha"]["software_version"] == "0.1.0"
    assert rows["alpha"]["privacy"] == {"rounds_answered": 1, "epsilon_sum": 0.5}
    assert rows["alpha"]["unknown"] == []
    assert rows["beta"]["status"] == "pending"
    assert rows["beta"]["unknown"] == ["last_seen_at", "software_version", "privacy"]
    assert rows["beta"]["last_seen_at"] is None and rows["beta"]["privacy"] is None
