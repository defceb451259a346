"""Calibration sets on the node: fetch and verify, install, simulated readers, upload."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select, update

from coordinator.runtime import CoordinatorRuntime
from coordinator.store.harmonization_tables import CalibrationSetRow
from node.auth import Role
from node.consortium import (
    CalibrationRefusedError,
    MembershipFiles,
    consortium_dir,
    enroll,
    sync_guidelines,
)
from node.consortium.calibration import (
    calibration_upload,
    fetch_calibration_sets,
    install_calibration_set,
    load_installed,
    upload_calibration,
)
from node.egress import EgressGate
from node.egress.ledger import EgressLedger
from node.runtime import NodeRuntime
from shared.calibration import generate_case
from shared.schemas import Guideline
from shared.simulation import CaseTruth, ReaderProfile, simulate_annotations
from tests.unit.node.consortium.conftest import COORDINATOR_URL, RecordingClient, site_api

CHEST: dict[str, Any] = {
    "name": "chest",
    "version": "1.0",
    "title": "Chest",
    "labels": [
        {"name": "lesion", "kind": "mask", "definition": "every lesion"},
        {
            "name": "grade",
            "kind": "classification",
            "definition": "grade",
            "categories": [{"code": c, "meaning": f"grade {c}"} for c in ("1", "2")],
        },
    ],
}
SET: dict[str, Any] = {
    "set_id": "cal-1",
    "title": "calibration",
    "guideline": {"name": "chest", "version": "1.0"},
    "cases": [
        {"case_id": f"c{i}", "rows": 64, "columns": 64, "slices": 8, "seed": i} for i in (1, 2)
    ],
}


@pytest.fixture
def enrolled(
    runtime: NodeRuntime, coordinator: CoordinatorRuntime, enroll_client: RecordingClient
) -> tuple[MembershipFiles, Any]:
    token = coordinator.sites.add("hospital-a", created_by="test").token
    enroll(
        runtime.settings.data_dir,
        gate=EgressGate(runtime.engine, site="hospital-a"),
        coordinator_url=COORDINATOR_URL,
        token=token,
        client=enroll_client,
    )
    files = MembershipFiles(consortium_dir(runtime.settings.data_dir))
    coordinator.guidelines.publish(Guideline.model_validate(CHEST), published_by="e")
    coordinator.calibration.publish(SET, published_by="e")
    api = site_api(coordinator, files.certificate.read_text())
    sync_guidelines(files, runtime.annotation.guidelines, client=api)
    for name in ("alice", "bob"):
        runtime.users.create(name, None, Role.ANNOTATOR)
    return files, api


def test_fetch_install_annotate_and_upload(
    runtime: NodeRuntime, coordinator: CoordinatorRuntime, enrolled: tuple
) -> None:
    files, api = enrolled
    [calibration] = fetch_calibration_sets(files, client=api)
    installed = install_calibration_set(
        calibration,
        data_dir=runtime.settings.data_dir,
        ingest=runtime.ingest,
        annotation=runtime.annotation,
        readers=("alice", "bob"),
        readers_per_task=2,
    )
    assert set(installed.cases) == {"c1", "c2"}
    assert load_installed(runtime.settings.data_dir, "cal-1") == installed
    project = runtime.annotation.projects.get("calibration-cal-1")
    assert project.task_count == 2
    again = install_calibration_set(
        calibration,
        data_dir=runtime.settings.data_dir,
        ingest=runtime.ingest,
        annotation=runtime.annotation,
        readers=("alice",),
    )
    assert again == installed

    guideline = Guideline.model_validate(CHEST)
    series_case = {series: case for case, series in installed.cases.items()}
    canaries: list[str] = []
    for item in runtime.annotation.tasks.worklist("alice").items:
        case = calibration.case(series_case[item.task.series_instance_uid])
        series = generate_case(case)
        canaries.extend(series.canaries)
        truth = CaseTruth.from_phantom(series, case_id=case.case_id, categories={"grade": "2"})
        for reader in ("alice", "bob"):
            profile = ReaderProfile(reader)
            for payload in simulate_annotations(profile, truth, guideline):
                if reader == "alice":
                    payload = {**payload, "comment": "looks like Mr Smith's old scan"}
                runtime.annotation.revisions.create(item.task.id, reader, payload)
            if reader == "alice":
                runtime.annotation.tasks.complete(item.task.id, reader)

    payload = calibration_upload(installed, runtime.annotation)
    readers = {item["reader"] for item in payload["annotations"]}
    assert readers == {"r1"}  # only completed parts leave; bob has not completed
    assert payload["readers"] == {"c1": ["r1"], "c2": ["r1"]}
    assert all(item["annotation"]["comment"] == "" for item in payload["annotations"])

    answer = upload_calibration(
        files,
        installed,
        runtime.annotation,
        runtime.engine,
        ledger_key=runtime.egress_key,
        client=api,
    )
    assert answer["site"] == "hospital-a"
    assert answer["annotations"] == len(payload["annotations"])
    stored = coordinator.calibration.annotations("cal-1")
    assert {a.rater for a in stored} == {"hospital-a/r1"}
    body = json.dumps([a.payload for a in stored])
    assert not any(canary in body for canary in canaries)
    assert "alice" not in body and "Smith" not in body
    entries = EgressLedger(runtime.engine).entries()
    assert entries[-1].kind == "calibration_annotations"


def test_a_tampered_calibration_set_is_refused(
    runtime: NodeRuntime, coordinator: CoordinatorRuntime, enrolled: tuple
) -> None:
    files, api = enrolled
    with coordinator.engine.begin() as connection:
        envelope = json.loads(connection.execute(select(CalibrationSetRow.envelope)).scalar_one())
        envelope["payload"]["cases"][0]["seed"] = 99
        connection.execute(update(CalibrationSetRow).values(envelope=json.dumps(envelope)))
    with pytest.raises(CalibrationRefusedError, match="refused calibration set cal-1"):
        fetch_calibration_sets(files, client=api)


def test_upload_of_a_set_never_installed(runtime: NodeRuntime) -> None:
    with pytest.raises(CalibrationRefusedError, match="calibration fetch"):
        load_installed(runtime.settings.data_dir, "nope")
