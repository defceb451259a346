"""POST /api/projects/{name}/export and STOW-RS of a reader's DICOM SEG, through the real app."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
from fastapi.testclient import TestClient

from node.api import create_app
from node.auth import Scope
from node.runtime import NodeRuntime
from shared.formats import write_segmentation
from tests.dicom_samples import multipart_body
from tests.unit.node.export.conftest import SLICES, World, _fast_hasher, build_world, disc

FAILED = "00081198"
REFERENCED = "00081199"
REASON_TEXT = "00091001"


@pytest.fixture
def world(runtime: NodeRuntime) -> World:
    runtime.users.hasher = _fast_hasher()
    return build_world(runtime, complete=False)


@pytest.fixture
def client(runtime: NodeRuntime) -> TestClient:
    return TestClient(create_app(runtime.settings, runtime=runtime))


def user_token(runtime: NodeRuntime, username: str) -> str:
    user = runtime.users.get(username)
    return runtime.tokens.issue(f"{username}-viewer", [], user_id=user.id).token


def test_export_returns_a_zip_with_its_manifest(
    world: World, client: TestClient, admin_token: str
) -> None:
    response = client.post(
        "/api/projects/lung/export",
        params={"format": "dicom-seg"},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert 'filename="lung-dicom-seg.zip"' in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["format"] == "dicom-seg"
    assert sorted(f["path"] for f in manifest["files"]) == sorted(
        n for n in names if n != "manifest.json"
    )
    assert manifest["exported_by"].startswith("token:")
    exported = [e for e in world.runtime.audit.entries() if e.action == "exported"]
    assert [e.target_id for e in exported] == ["lung"]


@pytest.mark.parametrize(
    ("url", "params", "status"),
    [
        ("/api/projects/nope/export", {"format": "coco"}, 404),
        ("/api/projects/lung/export", {"format": "png"}, 400),
        ("/api/projects/lung/export", {}, 400),
    ],
)
def test_export_refusals(
    world: World, client: TestClient, admin_token: str, url: str, params: dict, status: int
) -> None:
    response = client.post(url, params=params, headers={"Authorization": f"Bearer {admin_token}"})
    assert response.status_code == status


def test_annotators_may_not_export(world: World, client: TestClient) -> None:
    response = client.post(
        "/api/projects/lung/export",
        params={"format": "coco"},
        headers={"Authorization": f"Bearer {user_token(world.runtime, 'alice')}"},
    )
    assert response.status_code == 403


def seg_part(world: World, label: str = "nodule-mask") -> bytes:
    masks = np.zeros((SLICES, 64, 64), bool)
    masks[1] = disc(25, 25, 5)
    seg = write_segmentation(
        world.stored_headers(), {label: masks}, series_description="OHIF", content_creator="alice"
    )
    buffer = io.BytesIO()
    seg.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def stow(client: TestClient, token: str, parts: list[bytes]):  # type: ignore[no-untyped-def]
    body, content_type = multipart_body(parts)
    return client.post(
        "/dicom-web/studies",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )


def test_an_annotator_stows_a_seg_and_it_becomes_a_revision(
    world: World, client: TestClient
) -> None:
    token = user_token(world.runtime, "alice")
    response = stow(client, token, [seg_part(world)])
    assert response.status_code == 200, response.text
    assert len(response.json()[REFERENCED]["Value"]) == 1
    history = client.get(
        f"/api/tasks/{world.task_id}", headers={"Authorization": f"Bearer {token}"}
    ).json()
    masks = [a for a in history["annotations"] if a["kind"] == "mask"]
    assert len(masks) == 1 and masks[0]["revision"] == 2
    assert list(masks[0]["geometry"]["slices"]) == ["1"]


def test_a_seg_with_a_label_outside_the_guideline_fails_with_the_reason(
    world: World, client: TestClient
) -> None:
    response = stow(client, user_token(world.runtime, "alice"), [seg_part(world, "liver")])
    assert response.status_code == 409
    failed = response.json()[FAILED]["Value"][0]
    assert failed["00081197"]["Value"] == [0x0110]
    reason = failed[REASON_TEXT]["Value"][0]
    assert "'liver'" in reason and "nodule-mask" in reason


def test_an_annotator_may_stow_only_segs(world: World, client: TestClient) -> None:
    header = world.stored_headers()[0]
    buffer = io.BytesIO()
    header.save_as(buffer, enforce_file_format=True)
    response = stow(client, user_token(world.runtime, "alice"), [buffer.getvalue()])
    assert response.status_code == 409
    reason = response.json()[FAILED]["Value"][0][REASON_TEXT]["Value"][0]
    assert "only DICOM SEG" in reason


def test_ingest_tokens_store_segs_without_importing(
    world: World, client: TestClient, runtime: NodeRuntime
) -> None:
    token = runtime.tokens.issue("pacs", [Scope.INGEST]).token
    response = stow(client, token, [seg_part(world, "liver")])
    assert response.status_code == 200, response.text
