"""STOW-RS through the real app (FastAPI TestClient, real store in a temp dir)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from node.api import create_app
from node.runtime import NodeRuntime, open_node
from node.settings import NodeSettings
from tests.dicom_samples import multipart_body, pydicom_file

FAILED = "00081198"
REFERENCED = "00081199"


@pytest.fixture
def client(runtime: NodeRuntime) -> TestClient:
    return TestClient(create_app(runtime.settings, runtime=runtime))


def _post(client: TestClient, token: str, parts: list[bytes], url: str = "/dicom-web/studies"):  # type: ignore[no-untyped-def]
    body, content_type = multipart_body(parts)
    return client.post(
        url,
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )


def test_all_stored_is_200_with_referenced_sops(client: TestClient, ingest_token: str) -> None:
    parts = [pydicom_file(n).read_bytes() for n in ("CT_small.dcm", "MR_small.dcm")]
    response = _post(client, ingest_token, parts)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/dicom+json")
    referenced = response.json()[REFERENCED]["Value"]
    assert [item["00081155"]["Value"][0] for item in referenced] == [
        "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322",
        "1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457",
    ]
    assert all("/dicom-web/studies/2.25." in item["00081190"]["Value"][0] for item in referenced)
    assert FAILED not in response.json()


def test_resend_is_stored_once(client: TestClient, ingest_token: str, runtime: NodeRuntime) -> None:
    part = pydicom_file("CT_small.dcm").read_bytes()
    assert _post(client, ingest_token, [part]).status_code == 200
    assert _post(client, ingest_token, [part, part]).status_code == 200
    assert runtime.store.count_instances() == 1


def test_mixed_is_202_and_all_failed_is_409(client: TestClient, ingest_token: str) -> None:
    good = pydicom_file("CT_small.dcm").read_bytes()
    mixed = _post(client, ingest_token, [good, b"garbage"])
    assert mixed.status_code == 202
    failure = mixed.json()[FAILED]["Value"][0]
    assert failure["00081197"]["Value"] == [0xC000]
    assert "DICM" in failure["00091001"]["Value"][0]
    assert (
        _post(
            client, ingest_token, [b"garbage", pydicom_file("MR_truncated.dcm").read_bytes()]
        ).status_code
        == 409
    )


def test_study_url_refuses_instances_of_other_studies(
    client: TestClient, ingest_token: str
) -> None:
    response = _post(
        client,
        ingest_token,
        [pydicom_file("CT_small.dcm").read_bytes()],
        url="/dicom-web/studies/1.2.3",
    )
    assert response.status_code == 409
    assert response.json()[FAILED]["Value"][0]["00081197"]["Value"] == [0xA900]


def test_broken_multipart_is_400(client: TestClient, ingest_token: str) -> None:
    body, content_type = multipart_body([pydicom_file("CT_small.dcm").read_bytes()])
    response = client.post(
        "/dicom-web/studies",
        content=body[:-40],
        headers={"Authorization": f"Bearer {ingest_token}", "Content-Type": content_type},
    )
    assert response.status_code == 400
    assert "closing boundary" in response.json()["detail"]


@pytest.mark.parametrize(
    "content_type",
    [
        "application/dicom",
        'multipart/related; type="application/dicom+json"; boundary=x',
        "text/plain",
    ],
)
def test_wrong_media_type_is_415(client: TestClient, ingest_token: str, content_type: str) -> None:
    response = client.post(
        "/dicom-web/studies",
        content=b"x",
        headers={"Authorization": f"Bearer {ingest_token}", "Content-Type": content_type},
    )
    assert response.status_code == 415
    assert response.json()["detail"]


def test_request_over_the_size_limit_is_413(tmp_path: Path) -> None:
    settings = NodeSettings(data_dir=tmp_path, max_request_bytes=5000, fsync=False)
    with open_node(settings) as runtime:
        token = runtime.tokens.issue("s", ["ingest"]).token  # type: ignore[list-item]
        client = TestClient(create_app(settings, runtime=runtime))
        response = _post(client, token, [pydicom_file("CT_small.dcm").read_bytes()])
        assert response.status_code == 413
        assert "max_request_bytes" in response.json()["detail"]
        assert runtime.store.count_instances() == 0


def test_part_over_the_instance_limit_is_413(tmp_path: Path) -> None:
    settings = NodeSettings(data_dir=tmp_path, max_instance_bytes=5000, fsync=False)
    with open_node(settings) as runtime:
        token = runtime.tokens.issue("s", ["ingest"]).token  # type: ignore[list-item]
        client = TestClient(create_app(settings, runtime=runtime))
        assert _post(client, token, [pydicom_file("CT_small.dcm").read_bytes()]).status_code == 413


def test_tokens_are_required_and_scoped(client: TestClient, read_token: str) -> None:
    part = pydicom_file("CT_small.dcm").read_bytes()
    body, content_type = multipart_body([part])
    anonymous = client.post(
        "/dicom-web/studies", content=body, headers={"Content-Type": content_type}
    )
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    wrong = _post(client, "hn_0000_not-a-real-token-at-all", [part])
    assert wrong.status_code == 401
    assert _post(client, read_token, [part]).status_code == 403
