"""``node.consortium.sync_guidelines``: verified releases load, tampered ones load nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import update

from coordinator.runtime import CoordinatorRuntime
from coordinator.store import GuidelineReleaseRow
from node.consortium import (
    CoordinatorRefusedError,
    GuidelineReleaseRefusedError,
    MembershipFiles,
    NotEnrolledError,
    consortium_dir,
    enroll,
    sync_guidelines,
    verify_release,
)
from node.egress import EgressGate
from node.errors import NotFoundError
from node.runtime import NodeRuntime
from shared.crypto import generate_private_key, sign
from shared.schemas import Guideline
from tests.unit.node.consortium.conftest import COORDINATOR_URL, RecordingClient, site_api

LUNG: dict[str, Any] = {
    "name": "lung",
    "version": "1",
    "title": "Lung nodules",
    "labels": [{"name": "nodule", "kind": "box", "definition": "a solid nodule"}],
}


def _enrolled(
    runtime: NodeRuntime, coordinator: CoordinatorRuntime, client: RecordingClient
) -> MembershipFiles:
    token = coordinator.sites.add("hospital-a", created_by="test").token
    enroll(
        runtime.settings.data_dir,
        gate=EgressGate(runtime.engine, site="hospital-a"),
        coordinator_url=COORDINATOR_URL,
        token=token,
        client=client,
    )
    return MembershipFiles(consortium_dir(runtime.settings.data_dir))


def _publish(coordinator: CoordinatorRuntime, **changes: Any) -> None:
    coordinator.guidelines.publish(Guideline.model_validate({**LUNG, **changes}), published_by="e")


def test_verified_releases_are_loaded_once(
    runtime: NodeRuntime, coordinator: CoordinatorRuntime, enroll_client: RecordingClient
) -> None:
    files = _enrolled(runtime, coordinator, enroll_client)
    _publish(coordinator)
    _publish(coordinator, version="2", title="Lung nodules, revised")
    api = site_api(coordinator, files.certificate.read_text())
    report = sync_guidelines(files, runtime.annotation.guidelines, client=api)
    assert (report.loaded, report.unchanged, report.ok) == (["lung@1", "lung@2"], [], True)
    loaded = runtime.annotation.guidelines.get("lung", "2")
    assert loaded.loaded_by == "coordinator"
    assert loaded.guideline.title == "Lung nodules, revised"
    again = sync_guidelines(files, runtime.annotation.guidelines, client=api)
    assert (again.loaded, again.unchanged) == ([], ["lung@1", "lung@2"])


def test_a_tampered_release_is_refused_and_nothing_of_it_loads(
    runtime: NodeRuntime, coordinator: CoordinatorRuntime, enroll_client: RecordingClient
) -> None:
    files = _enrolled(runtime, coordinator, enroll_client)
    _publish(coordinator)
    _publish(coordinator, version="2")
    with coordinator.engine.begin() as connection:
        (stored,) = connection.execute(
            GuidelineReleaseRow.__table__.select().where(GuidelineReleaseRow.id == 2)
        ).all()
        envelope = json.loads(stored.envelope)
        envelope["payload"]["labels"][0]["definition"] = "anything round"
        connection.execute(
            update(GuidelineReleaseRow)
            .where(GuidelineReleaseRow.id == 2)
            .values(envelope=json.dumps(envelope))
        )
    api = site_api(coordinator, files.certificate.read_text())
    report = sync_guidelines(files, runtime.annotation.guidelines, client=api)
    assert report.loaded == ["lung@1"]
    (refusal,) = report.refused
    assert (refusal.name, refusal.version) == ("lung", "2")
    assert "altered after signing" in str(refusal)
    with pytest.raises(NotFoundError):
        runtime.annotation.guidelines.get("lung", "2")


def test_a_revoked_site_gets_403(
    runtime: NodeRuntime, coordinator: CoordinatorRuntime, enroll_client: RecordingClient
) -> None:
    files = _enrolled(runtime, coordinator, enroll_client)
    coordinator.sites.revoke("hospital-a")
    api = site_api(coordinator, files.certificate.read_text())
    with pytest.raises(CoordinatorRefusedError, match="revoked") as refused:
        sync_guidelines(files, runtime.annotation.guidelines, client=api)
    assert refused.value.status_code == 403


def test_sync_needs_an_enrollment(runtime: NodeRuntime) -> None:
    files = MembershipFiles(consortium_dir(runtime.settings.data_dir))
    with pytest.raises(NotEnrolledError, match="harmonia-node enroll"):
        sync_guidelines(files, runtime.annotation.guidelines)


def test_verify_release_refuses_foreign_keys_and_substitutions() -> None:
    key = generate_private_key("ed25519")
    envelope = sign(LUNG, kind="guideline-release", version="1", key=key)  # type: ignore[arg-type]
    assert verify_release(envelope, key.public_key(), name="lung", version="1").key == "lung@1"
    stranger = generate_private_key("ed25519").public_key()
    with pytest.raises(GuidelineReleaseRefusedError, match="does not trust"):
        verify_release(envelope, stranger, name="lung", version="1")
    with pytest.raises(GuidelineReleaseRefusedError, match="signed as lung@1"):
        verify_release(envelope, key.public_key(), name="lung", version="2")
    other_kind = sign(LUNG, kind="health", version="1", key=key)  # type: ignore[arg-type]
    with pytest.raises(GuidelineReleaseRefusedError, match="expected a signed"):
        verify_release(other_kind, key.public_key(), name="lung", version="1")
    not_a_guideline = sign({"x": 1}, kind="guideline-release", version="1", key=key)  # type: ignore[arg-type]
    with pytest.raises(GuidelineReleaseRefusedError, match="not a guideline"):
        verify_release(not_a_guideline, key.public_key(), name="lung", version="1")
