"""DICOM JSON model helpers and WADO-RS metadata."""

from __future__ import annotations

import pydicom
from pydicom import Dataset

from node.dicom.dicomjson import element, header_attributes
from node.dicom.metadata import instance_metadata
from tests.dicom_samples import pydicom_file


def test_element_vrs_and_empty_values() -> None:
    assert element("PN", "Doe^John") == {"vr": "PN", "Value": [{"Alphabetic": "Doe^John"}]}
    assert element("IS", 3) == {"vr": "IS", "Value": [3]}
    assert element("US", "512") == {"vr": "US", "Value": [512]}
    assert element("CS", ("CT", "MR")) == {"vr": "CS", "Value": ["CT", "MR"]}
    assert element("LO", "") == {"vr": "LO"}
    assert element("IS", None) == {"vr": "IS"}


def test_header_attributes_leave_out_bulk_values() -> None:
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    everything = header_attributes(ds, None)
    assert "7FE00010" not in everything
    assert everything["00280030"]["vr"] == "DS"
    assert all(not key.startswith("0002") for key in everything)
    assert set(header_attributes(ds, [ds["Rows"].tag])) == {"00280010"}


def test_instance_metadata_links_pixel_data_and_round_trips() -> None:
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    metadata = instance_metadata(ds, "http://node/dicom-web/studies/1/series/2/instances/3")
    assert metadata["7FE00010"] == {
        "vr": "OW",
        "BulkDataURI": "http://node/dicom-web/studies/1/series/2/instances/3/bulkdata/7FE00010",
    }
    assert metadata["00020010"]["Value"] == [ds.file_meta.TransferSyntaxUID]
    seen: list[str] = []

    def fetch(tag: str, vr: str, uri: str) -> bytes:
        seen.append(uri)
        return b"\0\0"

    back = Dataset.from_json(metadata, bulk_data_uri_handler=fetch)
    assert back.PatientName == ds.PatientName
    assert seen and back.Rows == 128
