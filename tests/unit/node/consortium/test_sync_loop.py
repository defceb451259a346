"""The periodic guideline sync: alerts for refused releases, backoff on errors, never raising."""

from __future__ import annotations

import threading

import pytest

from node.alerts import AlertStore
from node.consortium import (
    CoordinatorRefusedError,
    GuidelineReleaseRefusedError,
    GuidelineSyncLoop,
    SyncReport,
    guideline_sync_for,
)
from node.consortium.periodic import next_delay
from node.runtime import NodeRuntime


def refused(name: str = "chest", version: str = "1.1") -> GuidelineReleaseRefusedError:
    return GuidelineReleaseRefusedError(
        f"refused guideline release {name}@{version}: the signature does not verify",
        name=name,
        version=version,
    )


def test_backoff_doubles_from_the_retry_up_to_the_interval() -> None:
    delays = [next_delay(n, interval_s=900, retry_s=30) for n in range(7)]
    assert delays == [900, 30, 60, 120, 240, 480, 900]


def test_a_refused_release_raises_one_alert_however_often_it_is_seen(
    runtime: NodeRuntime,
) -> None:
    alerts = AlertStore(runtime.engine)
    report = SyncReport(loaded=["lung@1.0"], refused=[refused()])
    loop = GuidelineSyncLoop(lambda: report, alerts, interval_s=60)
    for _ in range(3):
        outcome = loop.run_once()
        assert outcome.report is report and outcome.error is None
    (alert,) = alerts.list()
    assert alert.subject == "chest@1.1" and alert.occurrences == 3
    assert "signature does not verify" in alert.message and "coordinator" in alert.message
    assert loop.failures == 0 and loop.delay() == 60


def test_errors_back_off_and_a_success_resets(runtime: NodeRuntime) -> None:
    answers: list[SyncReport | Exception] = [
        CoordinatorRefusedError("cannot reach the coordinator", source="https://c"),
        CoordinatorRefusedError("cannot reach the coordinator", source="https://c"),
        RuntimeError("a bug"),
        SyncReport(),
    ]

    def sync() -> SyncReport:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    loop = GuidelineSyncLoop(sync, AlertStore(runtime.engine), interval_s=600, retry_s=10)
    assert "cannot reach" in (loop.run_once().error or "") and loop.delay() == 10
    loop.run_once()
    assert loop.delay() == 20
    assert "RuntimeError: a bug" in (loop.run_once().error or "") and loop.delay() == 40
    assert loop.run_once().error is None and loop.delay() == 600
    assert AlertStore(runtime.engine).list() == []


def test_the_thread_runs_at_once_and_stops(runtime: NodeRuntime) -> None:
    ran = threading.Event()

    def sync() -> SyncReport:
        ran.set()
        return SyncReport()

    loop = GuidelineSyncLoop(sync, AlertStore(runtime.engine), interval_s=3600)
    loop.start()
    assert ran.wait(60)
    loop.stop()
    assert not loop.schedule.running


def test_a_node_that_is_not_enrolled_gets_no_loop(runtime: NodeRuntime) -> None:
    assert (
        guideline_sync_for(
            runtime.settings.data_dir, runtime.annotation.guidelines, runtime.engine, interval_s=1
        )
        is None
    )


@pytest.mark.parametrize("minutes", [0, -1])
def test_the_interval_must_be_positive(minutes: float, runtime: NodeRuntime) -> None:
    from pydantic import ValidationError

    from node.settings import NodeSettings

    with pytest.raises(ValidationError):
        NodeSettings(data_dir=runtime.settings.data_dir, guideline_sync_minutes=minutes)


def test_a_periodic_task_stopped_before_its_first_run_never_runs() -> None:
    from node.consortium.periodic import Periodic

    runs: list[int] = []
    task = Periodic("test", lambda: bool(runs.append(1)) or True, interval_s=60, first_s=3600)
    task.start()
    task.stop()
    assert runs == [] and not task.running
