"""The coordinator's store on a real PostgreSQL server: migration, enrollment, releases."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from coordinator.consortium import EnrollmentRequest
from coordinator.errors import GuidelineVersionError, TokenUsedError
from coordinator.runtime import CoordinatorRuntime, open_coordinator
from coordinator.settings import CoordinatorSettings
from shared.schemas import Guideline
from tests.support.postgres import postgres_bin_dir, running_postgres
from tests.unit.coordinator.conftest import GUIDELINE, enrollment_body

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(postgres_bin_dir() is None, reason="PostgreSQL server not installed"),
]


@pytest.fixture
def coordinator(tmp_path: Path) -> Iterator[CoordinatorRuntime]:
    with running_postgres() as server:
        settings = CoordinatorSettings(
            data_dir=tmp_path / "coordinator", database_url=server.url, fsync=False
        )
        with open_coordinator(settings) as runtime:
            yield runtime


def test_enrollment_and_releases_on_postgres(coordinator: CoordinatorRuntime) -> None:
    token = coordinator.sites.add("hospital-a", created_by="test").token
    requests = [EnrollmentRequest(**enrollment_body(token, "hospital-a")) for _ in range(4)]
    start = threading.Barrier(len(requests))
    outcomes: list[str] = []

    def attempt(request: EnrollmentRequest) -> None:
        start.wait()
        try:
            coordinator.enrollment.enroll(request)
            outcomes.append("enrolled")
        except TokenUsedError:
            outcomes.append("used")

    threads = [threading.Thread(target=attempt, args=(r,)) for r in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["enrolled", "used", "used", "used"]
    coordinator.sites.revoke("hospital-a")
    assert len(coordinator.sites.revoked_serials()) == 1

    coordinator.guidelines.publish(Guideline.model_validate(GUIDELINE), published_by="e")
    with pytest.raises(GuidelineVersionError):
        coordinator.guidelines.publish(Guideline.model_validate(GUIDELINE), published_by="e")
    assert [r.version for r in coordinator.guidelines.list()] == ["1"]
