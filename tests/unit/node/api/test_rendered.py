"""Rendered images and MPR through the real app."""

from __future__ import annotations

from io import BytesIO

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from node.runtime import NodeRuntime
from shared.phantoms import SITE_STYLES, PhantomSpec, dataset_to_bytes, generate_series
from tests.unit.node.api.dicomweb_fixtures import Stored, bearer, client_for, ingest


@pytest.fixture
def stored(runtime: NodeRuntime) -> dict[str, Stored]:
    return ingest(runtime, "CT_small.dcm", "SC_rgb_rle_2frame.dcm")


@pytest.fixture
def client(runtime: NodeRuntime, stored: dict[str, Stored]) -> TestClient:
    return client_for(runtime)


def _image(response: object, fmt: str) -> Image.Image:
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    image = Image.open(BytesIO(response.content))  # type: ignore[attr-defined]
    assert image.format == fmt
    return image


def test_default_is_jpeg_and_accept_picks_png(
    client: TestClient, read_token: str, stored: dict[str, Stored]
) -> None:
    url = f"{stored['CT_small.dcm'].url}/rendered"
    jpeg = client.get(url, headers=bearer(read_token))
    assert jpeg.headers["content-type"] == "image/jpeg"
    assert _image(jpeg, "JPEG").size == (128, 128)
    png = client.get(url, headers=bearer(read_token, Accept="image/png"))
    assert png.headers["content-type"] == "image/png"
    _image(png, "PNG")
    by_query = client.get(url, params={"accept": "image/png"}, headers=bearer(read_token))
    _image(by_query, "PNG")
    refused = client.get(url, headers=bearer(read_token, Accept="image/gif"))
    assert refused.status_code == 406


def test_window_preset_quality_viewport(
    client: TestClient, read_token: str, stored: dict[str, Stored]
) -> None:
    url = f"{stored['CT_small.dcm'].url}/rendered"
    narrow = _image(
        client.get(
            url,
            params={"window": "40,80,linear", "accept": "image/png"},
            headers=bearer(read_token),
        ),
        "PNG",
    )
    wide = _image(
        client.get(
            url, params={"window": "40,4000", "accept": "image/png"}, headers=bearer(read_token)
        ),
        "PNG",
    )
    assert narrow.tobytes() != wide.tobytes()
    _image(client.get(url, params={"preset": "bone"}, headers=bearer(read_token)), "JPEG")
    small = _image(
        client.get(url, params={"viewport": "64,64"}, headers=bearer(read_token)), "JPEG"
    )
    assert max(small.size) <= 64
    low = client.get(url, params={"quality": "5"}, headers=bearer(read_token))
    high = client.get(url, params={"quality": "95"}, headers=bearer(read_token))
    assert len(low.content) < len(high.content)


@pytest.mark.parametrize(
    "params",
    [
        {"window": "40"},
        {"window": "40,400,sigmoid"},
        {"preset": "liver"},
        {"quality": "0"},
        {"viewport": "10,10,0,0,5,5"},
        {"window": "40,400", "preset": "bone"},
        {"annotation": "patient"},
    ],
)
def test_bad_render_parameters_are_400(
    client: TestClient, read_token: str, stored: dict[str, Stored], params: dict[str, str]
) -> None:
    response = client.get(
        f"{stored['CT_small.dcm'].url}/rendered", params=params, headers=bearer(read_token)
    )
    assert response.status_code == 400, response.text


def test_frames_rendered(
    client: TestClient, admin_token: str, read_token: str, stored: dict[str, Stored]
) -> None:
    rle = stored["SC_rgb_rle_2frame.dcm"]
    first = _image(
        client.get(f"{rle.url}/frames/1/rendered", headers=bearer(admin_token, Accept="image/png")),
        "PNG",
    )
    second = _image(
        client.get(f"{rle.url}/frames/2/rendered", headers=bearer(admin_token, Accept="image/png")),
        "PNG",
    )
    assert first.mode == "RGB" and first.tobytes() != second.tobytes()
    assert (
        client.get(f"{rle.url}/frames/3/rendered", headers=bearer(admin_token)).status_code == 404
    )
    assert client.get(f"{rle.url}/frames/1/rendered", headers=bearer(read_token)).status_code == 404


def test_mpr_and_volume_geometry(runtime: NodeRuntime, read_token: str) -> None:
    spec = PhantomSpec(
        modality="CT", rows=64, columns=64, slices=24, seed=3, style=SITE_STYLES["siemens-like"]
    )
    series_uid = ""
    for ds in generate_series(spec).datasets():
        outcome = runtime.ingest.ingest_bytes(dataset_to_bytes(ds), source="test")
        assert outcome.accepted
        series_uid = outcome.stored_series_instance_uid or ""
    client = client_for(runtime)
    geometry = client.get(f"/api/v1/series/{series_uid}/volume", headers=bearer(read_token))
    assert geometry.status_code == 200, geometry.text
    body = geometry.json()
    assert body["slices"]["axial"] == 24
    assert len(body["shape"]) == 3 and len(body["spacing"]) == 3
    for plane, count in body["slices"].items():
        url = f"/api/v1/series/{series_uid}/mpr/{plane}/{count // 2}"
        _image(
            client.get(
                url, params={"preset": "abdomen", "accept": "image/png"}, headers=bearer(read_token)
            ),
            "PNG",
        )
    assert client.app.state.volume_cache is not None  # type: ignore[attr-defined]
    assert (
        client.get(
            f"/api/v1/series/{series_uid}/mpr/oblique/0", headers=bearer(read_token)
        ).status_code
        == 400
    )
    assert client.get("/api/v1/series/2.25.1/volume", headers=bearer(read_token)).status_code == 404
