"""WADO-RS through the real app: instances, metadata, frames, bulk data."""

from __future__ import annotations

from io import BytesIO

import numpy as np
import pydicom
import pytest
from fastapi.testclient import TestClient
from pydicom import Dataset
from pydicom.encaps import get_frame
from pydicom.uid import ExplicitVRLittleEndian

from node.runtime import NodeRuntime
from tests.unit.node.api.dicomweb_fixtures import (
    Stored,
    bearer,
    client_for,
    ingest,
    multipart_parts,
)

# CT/MR are native; the others are compressed and quarantined (admin only).
SAMPLES = (
    "CT_small.dcm",
    "MR_small.dcm",
    "JPEG2000.dcm",
    "SC_rgb_rle_2frame.dcm",
    "JPEG-lossy.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
)
AS_STORED = 'multipart/related; type="application/dicom"; transfer-syntax=*'
OCTET = 'multipart/related; type="application/octet-stream"'


@pytest.fixture
def stored(runtime: NodeRuntime) -> dict[str, Stored]:
    return ingest(runtime, *SAMPLES)


@pytest.fixture
def client(runtime: NodeRuntime, stored: dict[str, Stored]) -> TestClient:
    return client_for(runtime)


def _datasets(response: object) -> list[Dataset]:
    return [pydicom.dcmread(BytesIO(p.body)) for p in multipart_parts(response)]  # type: ignore[arg-type]


def test_study_series_and_instance_round_trip(
    client: TestClient, read_token: str, stored: dict[str, Stored]
) -> None:
    ct = stored["CT_small.dcm"]
    for url in (
        f"/dicom-web/studies/{ct.study}",
        f"/dicom-web/studies/{ct.study}/series/{ct.series}",
        ct.url,
    ):
        response = client.get(url, headers=bearer(read_token, Accept=AS_STORED))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(
            'multipart/related; type="application/dicom"'
        )
        (ds,) = _datasets(response)
        assert ds.SOPInstanceUID == ct.instance
        assert ds.pixel_array.shape == (128, 128)


def test_default_accept_transcodes_compressed_to_explicit_little_endian(
    client: TestClient, admin_token: str, stored: dict[str, Stored]
) -> None:
    j2k = stored["JPEG2000.dcm"]
    accept = 'multipart/related; type="application/dicom"'
    response = client.get(j2k.url, headers=bearer(admin_token, Accept=accept))
    assert response.status_code == 200, response.text
    (part,) = multipart_parts(response)
    assert f"transfer-syntax={ExplicitVRLittleEndian}" in part.headers["content-type"]
    ds = pydicom.dcmread(BytesIO(part.body))
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert ds.SOPInstanceUID == j2k.instance
    stored_copy = _datasets(client.get(j2k.url, headers=bearer(admin_token, Accept=AS_STORED)))[0]
    assert stored_copy.file_meta.TransferSyntaxUID.is_compressed
    assert np.array_equal(ds.pixel_array, stored_copy.pixel_array)


@pytest.mark.parametrize(
    "accept",
    [
        'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50',
        "application/json",
    ],
)
def test_unsatisfiable_accept_is_406(
    client: TestClient, read_token: str, stored: dict[str, Stored], accept: str
) -> None:
    response = client.get(stored["CT_small.dcm"].url, headers=bearer(read_token, Accept=accept))
    assert response.status_code == 406
    assert "transfer-syntax=*" in response.json()["detail"]


def test_quarantined_and_mismatched_instances_are_404(
    client: TestClient, read_token: str, admin_token: str, stored: dict[str, Stored]
) -> None:
    j2k, ct = stored["JPEG2000.dcm"], stored["CT_small.dcm"]
    assert client.get(j2k.url, headers=bearer(read_token)).status_code == 404
    assert (
        client.get(f"/dicom-web/studies/{j2k.study}", headers=bearer(read_token)).status_code == 404
    )
    assert client.get(j2k.url, headers=bearer(admin_token)).status_code == 200
    wrong_study = f"/dicom-web/studies/{j2k.study}/series/{ct.series}/instances/{ct.instance}"
    assert client.get(wrong_study, headers=bearer(read_token)).status_code == 404


def test_token_required(client: TestClient, stored: dict[str, Stored], ingest_token: str) -> None:
    url = stored["CT_small.dcm"].url
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer(ingest_token)).status_code == 403


def test_metadata_round_trips_through_pydicom(
    client: TestClient, read_token: str, stored: dict[str, Stored]
) -> None:
    ct = stored["CT_small.dcm"]
    for url in (
        f"/dicom-web/studies/{ct.study}/metadata",
        f"/dicom-web/studies/{ct.study}/series/{ct.series}/metadata",
        f"{ct.url}/metadata",
    ):
        response = client.get(url, headers=bearer(read_token))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/dicom+json")
        (metadata,) = response.json()
        assert metadata["00020010"] == {"vr": "UI", "Value": [ExplicitVRLittleEndian]}
        assert metadata["7FE00010"]["BulkDataURI"].endswith(f"{ct.url}/bulkdata/7FE00010")
        ds = Dataset.from_json(metadata, bulk_data_uri_handler=lambda *_: b"")
        assert ds.SOPInstanceUID == ct.instance
        assert ds.Rows == 128


def test_bulk_data_uri_returns_the_pixel_data(
    client: TestClient, read_token: str, stored: dict[str, Stored]
) -> None:
    ct = stored["CT_small.dcm"]
    (metadata,) = client.get(f"{ct.url}/metadata", headers=bearer(read_token)).json()
    uri = metadata["7FE00010"]["BulkDataURI"]
    response = client.get(uri, headers=bearer(read_token, Accept=OCTET))
    assert response.status_code == 200, response.text
    (part,) = multipart_parts(response)
    original = _datasets(client.get(ct.url, headers=bearer(read_token, Accept=AS_STORED)))[0]
    assert part.body == original.PixelData
    missing = client.get(f"{ct.url}/bulkdata/00091234", headers=bearer(read_token))
    assert missing.status_code == 404


def test_native_frames(client: TestClient, read_token: str, stored: dict[str, Stored]) -> None:
    ct = stored["CT_small.dcm"]
    response = client.get(f"{ct.url}/frames/1", headers=bearer(read_token, Accept=OCTET))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(
        'multipart/related; type="application/octet-stream"'
    )
    (part,) = multipart_parts(response)
    original = _datasets(client.get(ct.url, headers=bearer(read_token, Accept=AS_STORED)))[0]
    assert part.body == original.PixelData
    out_of_range = client.get(f"{ct.url}/frames/1,2", headers=bearer(read_token))
    assert out_of_range.status_code == 404
    assert "has 1 frame(s)" in out_of_range.json()["detail"]
    assert client.get(f"{ct.url}/frames/0", headers=bearer(read_token)).status_code == 400
    assert client.get(f"{ct.url}/frames/a", headers=bearer(read_token)).status_code == 400


@pytest.mark.parametrize("name", ["JPEG2000.dcm", "SC_rgb_rle_2frame.dcm", "SC_rgb_jpeg_dcmtk.dcm"])
def test_compressed_frames_decoded_and_as_stored(
    client: TestClient, admin_token: str, stored: dict[str, Stored], name: str
) -> None:
    instance = stored[name]
    original = _datasets(client.get(instance.url, headers=bearer(admin_token, Accept=AS_STORED)))[0]
    count = int(original.get("NumberOfFrames", 1))
    frames = ",".join(str(n) for n in range(1, count + 1))
    decoded = multipart_parts(
        client.get(f"{instance.url}/frames/{frames}", headers=bearer(admin_token, Accept=OCTET))
    )
    assert len(decoded) == count
    expected = original.pixel_array.reshape(count, -1)
    for part, array in zip(decoded, expected, strict=True):
        assert part.headers["content-type"].endswith(f"transfer-syntax={ExplicitVRLittleEndian}")
        assert (
            part.body == np.ascontiguousarray(array.astype(array.dtype.newbyteorder("<"))).tobytes()
        )
    as_stored = multipart_parts(
        client.get(
            f"{instance.url}/frames/{frames}",
            headers=bearer(admin_token, Accept=f"{OCTET}; transfer-syntax=*"),
        )
    )
    syntax = str(original.file_meta.TransferSyntaxUID)
    for index, part in enumerate(as_stored):
        assert part.headers["content-type"].endswith(f"transfer-syntax={syntax}")
        assert part.body == get_frame(original.PixelData, index, number_of_frames=count)


def test_frames_in_their_compressed_media_type(
    client: TestClient, admin_token: str, stored: dict[str, Stored]
) -> None:
    j2k = stored["JPEG2000.dcm"]
    response = client.get(
        f"{j2k.url}/frames/1",
        headers=bearer(admin_token, Accept='multipart/related; type="image/jp2"'),
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith('multipart/related; type="image/jp2"')
    wrong = client.get(
        f"{j2k.url}/frames/1",
        headers=bearer(admin_token, Accept='multipart/related; type="image/jls"'),
    )
    assert wrong.status_code == 406


def test_undecodable_frames_are_422_before_the_response_starts(
    client: TestClient, admin_token: str, stored: dict[str, Stored]
) -> None:
    # pydicom's 12-bit JPEG Extended sample that no installed decoder reads.
    lossy = stored["JPEG-lossy.dcm"]
    decoded = client.get(f"{lossy.url}/frames/1", headers=bearer(admin_token, Accept=OCTET))
    assert decoded.status_code == 422
    assert "ask for the stored transfer syntax" in decoded.json()["detail"]
    as_stored = client.get(
        f"{lossy.url}/frames/1",
        headers=bearer(admin_token, Accept='multipart/related; type="image/jpeg"'),
    )
    assert as_stored.status_code == 200
    assert multipart_parts(as_stored)[0].body[:2] == b"\xff\xd8"
