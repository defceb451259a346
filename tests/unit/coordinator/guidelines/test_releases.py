from typing import Any

import pytest
from sqlalchemy import select

from coordinator.errors import GuidelineVersionError, InvalidGuidelineError, NotFoundError
from coordinator.guidelines import RELEASE_KIND, parse_guideline_document, parse_version
from coordinator.runtime import CoordinatorRuntime
from coordinator.store import GuidelineVersionRow
from shared.crypto import SignatureError, verify
from shared.schemas import Guideline
from tests.unit.coordinator.conftest import GUIDELINE


def _guideline(**changes: Any) -> Guideline:
    return Guideline.model_validate({**GUIDELINE, **changes})


def test_published_release_verifies_against_the_signing_key(
    coordinator: CoordinatorRuntime,
) -> None:
    info = coordinator.guidelines.publish(_guideline(), published_by="editor")
    assert (info.name, info.version, info.published_by) == ("lung", "1", "editor")
    envelope = coordinator.guidelines.envelope("lung", "1")
    payload = verify(envelope, [coordinator.keys.signing_key.public_key()], kind=RELEASE_KIND)
    assert Guideline.model_validate(payload) == _guideline()
    assert envelope["version"] == "1"
    assert info.sha256 == _guideline().sha256


def test_a_tampered_envelope_does_not_verify(coordinator: CoordinatorRuntime) -> None:
    coordinator.guidelines.publish(_guideline(), published_by="editor")
    envelope = coordinator.guidelines.envelope("lung", "1")
    envelope["payload"]["title"] = "Lung nodules (edited)"
    with pytest.raises(SignatureError, match="altered"):
        verify(envelope, [coordinator.keys.signing_key.public_key()], kind=RELEASE_KIND)


def test_versions_must_increase(coordinator: CoordinatorRuntime) -> None:
    coordinator.guidelines.publish(_guideline(version="1.9"), published_by="e")
    coordinator.guidelines.publish(_guideline(version="1.10"), published_by="e")
    for stale in ("1.10", "1.2", "1.10.0"):
        with pytest.raises(GuidelineVersionError, match="not newer"):
            coordinator.guidelines.publish(_guideline(version=stale), published_by="e")
    coordinator.guidelines.publish(_guideline(name="breast", version="1"), published_by="e")
    listed = [(r.name, r.version) for r in coordinator.guidelines.list()]
    assert listed == [("breast", "1"), ("lung", "1.9"), ("lung", "1.10")]


def test_a_refused_publish_stores_nothing(coordinator: CoordinatorRuntime) -> None:
    with pytest.raises(GuidelineVersionError, match="numeric"):
        coordinator.guidelines.publish(_guideline(version="draft"), published_by="e")
    with coordinator.engine.connect() as connection:
        assert connection.execute(select(GuidelineVersionRow)).first() is None


def test_parse_version() -> None:
    assert parse_version("2") == parse_version("2.0.0") == (2, 0, 0, 0)
    assert parse_version("1.10") > parse_version("1.9")
    with pytest.raises(GuidelineVersionError):
        parse_version("1.a")


def test_unknown_release(coordinator: CoordinatorRuntime) -> None:
    with pytest.raises(NotFoundError, match="no release"):
        coordinator.guidelines.envelope("lung", "7")


def test_documents_parse_as_json_or_yaml() -> None:
    with pytest.raises(InvalidGuidelineError, match="JSON"):
        parse_guideline_document('{"name": "x"')
    yaml_text = (
        "name: lung\nversion: '2'\ntitle: T\nlabels:\n- {name: n, kind: box, definition: d}\n"
    )
    assert parse_guideline_document(yaml_text, yaml=True).version == "2"
