"""dicomweb-client against a real ``harmonia-node serve`` process on 127.0.0.1.

dicomweb-client is what Python tools (and many notebooks) use to talk to a
PACS; these tests prove the node speaks its dialect: STOW, QIDO, WADO
instances, metadata, frames and rendered images.
"""

from __future__ import annotations

from collections.abc import Iterator
from io import BytesIO

import numpy as np
import pydicom
import pytest
import requests
from dicomweb_client import DICOMwebClient
from PIL import Image

from tests.dicom_samples import pydicom_file
from tests.support.node_process import NodeProcess, running_node

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    with running_node(tmp_path_factory.mktemp("dicomweb") / "node") as process:
        yield process


@pytest.fixture(scope="module")
def client(node: NodeProcess) -> DICOMwebClient:
    return DICOMwebClient(
        f"{node.url}/dicom-web", headers={"Authorization": f"Bearer {node.token}"}
    )


@pytest.fixture(scope="module")
def stored(client: DICOMwebClient) -> dict[str, pydicom.Dataset]:
    """STOW two samples; returns the stored (de-identified) datasets by file name."""
    names = ("CT_small.dcm", "SC_rgb_rle_2frame.dcm")
    datasets = [pydicom.dcmread(pydicom_file(name)) for name in names]
    response = client.store_instances(datasets)
    assert len(response.ReferencedSOPSequence) == 2
    found = {}
    for name, item in zip(names, response.ReferencedSOPSequence, strict=True):
        # The node serves de-identified copies: RetrieveURL names the stored UIDs.
        stored_uid = item.RetrieveURL.rsplit("/", 1)[-1]
        (match,) = client.search_for_instances(search_filters={"SOPInstanceUID": stored_uid})
        found[name] = pydicom.Dataset.from_json(match)
    return found


def test_search_at_every_level(client: DICOMwebClient, stored: dict[str, pydicom.Dataset]) -> None:
    ct = stored["CT_small.dcm"]
    studies = client.search_for_studies(search_filters={"ModalitiesInStudy": "CT"})
    assert [s["0020000D"]["Value"][0] for s in studies] == [ct.StudyInstanceUID]
    series = client.search_for_series(ct.StudyInstanceUID)
    assert series[0]["0020000E"]["Value"] == [ct.SeriesInstanceUID]
    instances = client.search_for_instances(
        ct.StudyInstanceUID, ct.SeriesInstanceUID, fields=["PixelSpacing"]
    )
    assert instances[0]["00280030"]["vr"] == "DS"
    assert client.search_for_studies(search_filters={"PatientID": "nobody"}) == []


def test_retrieve_instance_and_metadata(
    client: DICOMwebClient, stored: dict[str, pydicom.Dataset]
) -> None:
    ct = stored["CT_small.dcm"]
    instance = client.retrieve_instance(
        ct.StudyInstanceUID, ct.SeriesInstanceUID, ct.SOPInstanceUID
    )
    assert instance.SOPInstanceUID == ct.SOPInstanceUID
    assert instance.pixel_array.shape == (128, 128)
    (metadata,) = client.retrieve_series_metadata(ct.StudyInstanceUID, ct.SeriesInstanceUID)
    header = pydicom.Dataset.from_json(metadata)
    assert header.SOPInstanceUID == ct.SOPInstanceUID
    assert metadata["00020010"]["Value"] == ["1.2.840.10008.1.2.1"]


def test_retrieve_frames_decoded_and_as_stored(
    client: DICOMwebClient, stored: dict[str, pydicom.Dataset]
) -> None:
    rle = stored["SC_rgb_rle_2frame.dcm"]
    uids = (rle.StudyInstanceUID, rle.SeriesInstanceUID, rle.SOPInstanceUID)
    instance = client.retrieve_instance(*uids, media_types=(("application/dicom", "*"),))
    decoded = client.retrieve_instance_frames(
        *uids,
        frame_numbers=[1, 2],
        media_types=(("application/octet-stream", "1.2.840.10008.1.2.1"),),
    )
    expected = instance.pixel_array.reshape(2, -1)
    assert [bytes(f) for f in decoded] == [row.tobytes() for row in expected]
    as_stored = client.retrieve_instance_frames(*uids, frame_numbers=[2])
    assert as_stored[0][:4] != decoded[1][:4]  # an RLE header, not pixels


def test_retrieve_rendered(client: DICOMwebClient, stored: dict[str, pydicom.Dataset]) -> None:
    ct = stored["CT_small.dcm"]
    uids = (ct.StudyInstanceUID, ct.SeriesInstanceUID, ct.SOPInstanceUID)
    png = client.retrieve_instance_rendered(*uids, media_types=("image/png",))
    image = Image.open(BytesIO(png))
    assert image.format == "PNG" and image.size == (128, 128)
    jpeg = client.retrieve_instance_rendered(*uids, params={"window": "40,400,linear"})
    assert Image.open(BytesIO(jpeg)).format == "JPEG"
    assert np.asarray(Image.open(BytesIO(jpeg))).std() > 0


def test_unknown_instance_is_an_http_error(client: DICOMwebClient, node: NodeProcess) -> None:
    with pytest.raises(requests.HTTPError) as caught:
        client.retrieve_instance("2.25.1", "2.25.2", "2.25.3")
    assert caught.value.response is not None
    assert caught.value.response.status_code == 404
