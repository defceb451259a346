from __future__ import annotations

import copy

import pytest

from coordinator.errors import (
    CalibrationSetError,
    CalibrationSetExistsError,
    CalibrationUploadError,
    NotFoundError,
)
from coordinator.runtime import CoordinatorRuntime
from shared.calibration import RELEASE_KIND, CalibrationSet
from shared.crypto import load_public_key, verify
from tests.unit.coordinator.harmonize.conftest import CALIBRATION


def test_publish_signs_a_calibration_set(published: CoordinatorRuntime) -> None:
    envelope = published.calibration.envelope("chest-cal-1")
    key = load_public_key(published.keys.signing_public_key_pem)
    payload = verify(envelope, [key], kind=RELEASE_KIND)
    assert CalibrationSet.from_json(payload) == CalibrationSet.from_json(CALIBRATION)
    [info] = published.calibration.published()
    assert (info.set_id, info.cases, info.guideline) == ("chest-cal-1", 4, "chest")


def test_publish_refusals(published: CoordinatorRuntime) -> None:
    with pytest.raises(CalibrationSetExistsError):
        published.calibration.publish(CALIBRATION, published_by="e")
    other = {**CALIBRATION, "set_id": "x", "guideline": {"name": "chest", "version": "9"}}
    with pytest.raises(CalibrationSetError, match="not published"):
        published.calibration.publish(other, published_by="e")
    with pytest.raises(CalibrationSetError):
        published.calibration.publish({"set_id": "y"}, published_by="e")
    with pytest.raises(NotFoundError):
        published.calibration.envelope("nope")


def test_upload_is_stored_and_replaces_the_previous_one(
    published: CoordinatorRuntime, uploads: dict
) -> None:
    answer = published.calibration.store_upload("site-a", "chest-cal-1", uploads["site-a"])
    assert answer["readers"] == 3
    again = published.calibration.store_upload("site-a", "chest-cal-1", uploads["site-a"])
    assert again["sha256"] == answer["sha256"]
    stored = published.calibration.annotations("chest-cal-1")
    assert len(stored) == answer["annotations"]
    assert {a.rater for a in stored} == {"site-a/r1", "site-a/r2", "site-a/r3"}


@pytest.mark.parametrize(
    ("path", "value", "match"),
    [
        (("annotations", 0, "case"), "c99", "not a case"),
        (("annotations", 0, "reader"), "alice", "pseudonym"),
        (("annotations", 0, "annotation", "comment"), "patient Smith", "free text"),
        (("annotations", 0, "annotation", "label"), "other", "not a label"),
        (("guideline", "version"), "2.0", "guideline"),
        (("calibration_set",), "other", "set of the URL"),
    ],
)
def test_bad_uploads_are_refused_and_store_nothing(
    published: CoordinatorRuntime, uploads: dict, path: tuple, value: object, match: str
) -> None:
    payload = copy.deepcopy(uploads["site-a"])
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(CalibrationUploadError, match=match):
        published.calibration.store_upload("site-a", "chest-cal-1", payload)
    assert published.calibration.annotations("chest-cal-1") == []


def test_wrong_category_code_is_refused(published: CoordinatorRuntime, uploads: dict) -> None:
    payload = copy.deepcopy(uploads["site-a"])
    grade = next(i for i in payload["annotations"] if i["annotation"]["label"] == "grade")
    grade["annotation"]["geometry"]["value"] = "9"
    with pytest.raises(CalibrationUploadError, match="category"):
        published.calibration.store_upload("site-a", "chest-cal-1", payload)


def test_the_readers_roster_is_stored_and_checked(
    published: CoordinatorRuntime, uploads: dict
) -> None:
    payload = {**uploads["site-a"], "readers": {"c0": ["r1", "r2", "r9"]}}
    answer = published.calibration.store_upload("site-a", "chest-cal-1", payload)
    assert answer["readers"] == 4
    assert published.calibration.readers("chest-cal-1") == {
        "c0": {"site-a/r1", "site-a/r2", "site-a/r9"}
    }
    for bad in ({"c99": ["r1"]}, {"c0": ["alice"]}, ["r1"]):
        with pytest.raises(CalibrationUploadError):
            published.calibration.store_upload(
                "site-a", "chest-cal-1", {**uploads["site-a"], "readers": bad}
            )
