from __future__ import annotations

from fastapi.testclient import TestClient

from coordinator.auth import Role
from coordinator.runtime import CoordinatorRuntime
from coordinator.settings import CoordinatorSettings
from shared.schemas import Guideline
from tests.unit.coordinator.api.test_routes import enrolled, site_client
from tests.unit.coordinator.conftest import auth, token_for
from tests.unit.coordinator.harmonize.conftest import CALIBRATION, CHEST


def test_publish_and_read_calibration_sets(
    client: TestClient, coordinator: CoordinatorRuntime
) -> None:
    editor = auth(token_for(coordinator, Role.GUIDELINE_EDITOR))
    viewer = auth(token_for(coordinator, Role.VIEWER))
    assert client.post("/api/v1/guidelines", json=CHEST, headers=editor).status_code == 201
    denied = client.post("/api/v1/calibration", json=CALIBRATION, headers=viewer)
    assert denied.status_code == 403
    created = client.post("/api/v1/calibration", json=CALIBRATION, headers=editor)
    assert created.status_code == 201, created.text
    assert created.json()["cases"] == 4
    again = client.post("/api/v1/calibration", json=CALIBRATION, headers=editor)
    assert (again.status_code, again.json()["error"]) == (409, "CalibrationSetExistsError")
    bad = client.post("/api/v1/calibration", json={"set_id": "x"}, headers=editor)
    assert (bad.status_code, bad.json()["error"]) == (422, "CalibrationSetError")
    listed = client.get("/api/v1/calibration", headers=viewer).json()["sets"]
    assert [s["set_id"] for s in listed] == ["chest-cal-1"]
    envelope = client.get("/api/v1/calibration/chest-cal-1", headers=viewer).json()
    assert envelope["kind"] == "calibration-set"
    assert client.get("/api/v1/calibration/none", headers=viewer).status_code == 404


def test_site_fetches_and_uploads_over_its_certificate(
    client: TestClient,
    coordinator: CoordinatorRuntime,
    coordinator_settings: CoordinatorSettings,
    uploads: dict,
) -> None:
    certificate = enrolled(client, coordinator, "site-b")
    coordinator.guidelines.publish(Guideline.model_validate(CHEST), published_by="e")
    coordinator.calibration.publish(CALIBRATION, published_by="e")
    site = site_client(coordinator_settings, coordinator, certificate)
    assert site.get("/api/v1/site/calibration").json()["sets"][0]["set_id"] == "chest-cal-1"
    assert site.get("/api/v1/site/calibration/chest-cal-1").json()["kind"] == "calibration-set"
    answer = site.post("/api/v1/site/calibration/chest-cal-1/annotations", json=uploads["site-b"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["site"] == "site-b"
    broken = site.post("/api/v1/site/calibration/chest-cal-1/annotations", content=b"{")
    assert (broken.status_code, broken.json()["error"]) == (422, "CalibrationUploadError")
    anonymous = client.post(
        "/api/v1/site/calibration/chest-cal-1/annotations", json=uploads["site-b"]
    )
    assert anonymous.status_code == 401


def test_report_json_and_csv_for_viewers_only(
    client: TestClient, published: CoordinatorRuntime, uploads: dict
) -> None:
    for name, payload in uploads.items():
        published.calibration.store_upload(name, "chest-cal-1", payload)
    viewer = auth(token_for(published, Role.VIEWER))
    assert client.get("/api/v1/harmonization/chest").status_code == 401
    report = client.get("/api/v1/harmonization/chest", headers=viewer)
    assert report.status_code == 200
    body = report.json()
    assert body["flagged_labels"] == ["lesion"]
    assert body["sites_below_target"] == {"site-b": ["lesion"]}
    csv_answer = client.get("/api/v1/harmonization/chest?format=csv", headers=viewer)
    assert csv_answer.headers["content-type"].startswith("text/csv")
    assert "calibration_reader,site-b,r1" in csv_answer.text
    assert client.get("/api/v1/harmonization/none", headers=viewer).status_code == 404
    wrong = client.get("/api/v1/harmonization/chest?format=xml", headers=viewer)
    assert wrong.status_code == 400


def test_guideline_diff_route(client: TestClient, coordinator: CoordinatorRuntime) -> None:
    editor = auth(token_for(coordinator, Role.GUIDELINE_EDITOR))
    client.post("/api/v1/guidelines", json=CHEST, headers=editor)
    labels = [dict(label) for label in CHEST["labels"]]
    labels[0]["boundary_rules"] = "exclude the vessels"
    labels[1]["agreement_target"] = 0.7
    revised = {**CHEST, "version": "1.1", "labels": labels}
    assert client.post("/api/v1/guidelines", json=revised, headers=editor).status_code == 201
    diff = client.get("/api/v1/guidelines/chest/diff?from=1.0&to=1.1", headers=editor)
    assert diff.status_code == 200, diff.text
    body = diff.json()
    assert body["rereview_labels"] == ["lesion"]
    changed = {c["label"]: c for c in body["labels"]["changed"]}
    assert changed["finding"]["thresholds"][0]["field"] == "agreement_target"
    assert not changed["finding"]["meaning_changed"]
    missing = client.get("/api/v1/guidelines/chest/diff?from=1.0&to=7", headers=editor)
    assert missing.status_code == 404
    # the release route still answers for a version called like the diff
    assert client.get("/api/v1/guidelines/chest/1.1", headers=editor).status_code == 200
