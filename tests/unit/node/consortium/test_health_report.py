"""The node's health report: its content, the gate and ledger, the coordinator, the loop."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from coordinator.runtime import CoordinatorRuntime
from node.consortium import (
    CoordinatorRefusedError,
    HealthReportLoop,
    MembershipFiles,
    consortium_dir,
    enroll,
    health_payload,
    health_reporter_for,
    send_health_report,
)
from node.egress import EgressGate, decode_payload
from node.egress.ledger import EgressLedger
from node.errors import EgressRefusedError
from node.runtime import NodeRuntime
from tests.unit.node.consortium.conftest import COORDINATOR_URL, RecordingClient, site_api


@pytest.fixture
def files(
    runtime: NodeRuntime, coordinator: CoordinatorRuntime, enroll_client: RecordingClient
) -> MembershipFiles:
    token = coordinator.sites.add("hospital-a", created_by="test").token
    enroll(
        runtime.settings.data_dir,
        gate=EgressGate(runtime.engine, site="hospital-a"),
        coordinator_url=COORDINATOR_URL,
        token=token,
        client=enroll_client,
    )
    return MembershipFiles(consortium_dir(runtime.settings.data_dir))


def test_the_payload_has_versions_uptime_and_counters_only(runtime: NodeRuntime) -> None:
    payload = health_payload(runtime.engine, uptime_s=12.7)
    assert set(payload) <= {
        "software_version",
        "flwr_version",
        "python_version",
        "schema_revision",
        "uptime_s",
        "counters",
    }
    assert payload["uptime_s"] == 12 and payload["software_version"]
    assert payload["schema_revision"].isdigit() and len(payload["schema_revision"]) == 4
    assert payload["counters"] == {
        "studies": 0,
        "series": 0,
        "instances": 0,
        "annotations": 0,
        "tasks_done": 0,
        "tasks_open": 0,
    }


def test_a_report_goes_through_the_gate_and_the_coordinator_stores_it(
    runtime: NodeRuntime, coordinator: CoordinatorRuntime, files: MembershipFiles
) -> None:
    api = site_api(coordinator, files.certificate.read_text())
    sent: list[bytes] = []
    original = api.post

    def post(url: Any, **kwargs: Any) -> Any:
        sent.append(kwargs["content"])
        return original(url, **kwargs)

    api.post = post  # type: ignore[method-assign]
    answer = send_health_report(
        files, runtime.engine, ledger_key=runtime.egress_key, uptime_s=42, client=api
    )
    assert answer["site"] == "hospital-a"
    info = coordinator.site_activity.get("hospital-a")
    assert info.last_seen_at is not None
    (body,) = sent
    payload = decode_payload(body)
    assert info.software_version == payload["software_version"]
    entries = list(EgressLedger(runtime.engine, key=runtime.egress_key).entries())
    health = [e for e in entries if e.kind == "health"]
    assert len(health) == 1 and health[0].destination.endswith("/api/v1/site/health")
    assert health[0].byte_count == len(body)


def test_an_unreachable_coordinator_is_a_typed_error(
    runtime: NodeRuntime, files: MembershipFiles
) -> None:
    with pytest.raises(CoordinatorRefusedError, match="cannot reach"):
        send_health_report(files, runtime.engine, ledger_key=runtime.egress_key, uptime_s=1)


def test_the_loop_backs_off_on_errors_and_never_raises() -> None:
    answers: list[Any] = [
        CoordinatorRefusedError("cannot reach the coordinator", source="https://c"),
        EgressRefusedError("refused", field="$"),
        RuntimeError("a bug"),
        {"site": "a"},
    ]

    def send() -> dict[str, Any]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    loop = HealthReportLoop(send, interval_s=900, retry_s=30)
    assert loop.run_once() == "cannot reach the coordinator" and loop.delay() == 30
    assert loop.run_once() is not None and loop.delay() == 60
    assert "a bug" in str(loop.run_once()) and loop.delay() == 120
    assert loop.run_once() is None and loop.delay() == 900 and loop.sent == 1


def test_the_first_report_goes_soon_after_start_on_a_thread_of_its_own() -> None:
    done = threading.Event()

    def send() -> dict[str, Any]:
        done.set()
        return {}

    loop = HealthReportLoop(send, interval_s=900, first_s=0.01)
    loop.start()
    try:
        assert done.wait(60)
    finally:
        loop.stop()
    assert loop.sent == 1


def test_a_node_not_enrolled_has_no_loop(runtime: NodeRuntime) -> None:
    assert (
        health_reporter_for(
            runtime.settings.data_dir, runtime.engine, ledger_key=b"k" * 32, interval_s=60
        )
        is None
    )


def test_an_enrolled_node_has_one(runtime: NodeRuntime, files: MembershipFiles) -> None:
    loop = health_reporter_for(
        runtime.settings.data_dir, runtime.engine, ledger_key=runtime.egress_key, interval_s=60
    )
    assert isinstance(loop, HealthReportLoop) and loop.interval_s == 60
