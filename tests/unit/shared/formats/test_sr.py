from __future__ import annotations

from io import BytesIO

import pydicom
import pytest
from pydicom.dataset import Dataset, FileDataset

from shared.formats import (
    COMPREHENSIVE_3D_SR_STORAGE,
    Finding,
    FindingKind,
    FormatInputError,
    write_measurement_report,
)

FINDINGS = [
    Finding("nodule", FindingKind.BOX, slice=2, points=[(10, 12), (20, 30)], reader="alice"),
    Finding("nodule", "polygon", slice=3, points=[(10, 10), (20, 12), (15, 30)]),
    Finding("landmark", "keypoint", slice=3, points=[(11.5, 9.25)]),
    Finding("diameter", "length", slice=4, points=[(10, 10), (20, 10)]),
    Finding("birads", "classification", value="4"),
]


def items(ds: Dataset) -> list[Dataset]:
    """Every content item, depth first."""
    found = []
    for item in ds.get("ContentSequence") or []:
        found.append(item)
        found.extend(items(item))
    return found


def meanings(ds: Dataset) -> list[str]:
    return [
        i.ConceptNameCodeSequence[0].CodeMeaning
        for i in items(ds)
        if "ConceptNameCodeSequence" in i
    ]


def test_report_holds_every_finding(sources: list[FileDataset]) -> None:
    sr = write_measurement_report(sources, FINDINGS, observer="alice")
    ds = pydicom.dcmread(BytesIO(_bytes(sr)))
    assert ds.SOPClassUID == COMPREHENSIVE_3D_SR_STORAGE
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    names = meanings(ds)
    assert names.count("Measurement Group") == len(FINDINGS)
    assert "Person Observer Name" in names
    observer = next(i for i in items(ds) if i.get("PersonName") is not None)
    assert str(observer.PersonName) == "alice^"
    scoords = [i for i in items(ds) if i.ValueType == "SCOORD"]
    assert sorted(i.GraphicType for i in scoords) == ["POINT", "POLYLINE", "POLYLINE", "POLYLINE"]
    box = next(i for i in scoords if len(i.GraphicData) == 10)
    assert list(box.GraphicData) == [10, 12, 20, 12, 20, 30, 10, 30, 10, 12]
    lengths = [i for i in items(ds) if i.ValueType == "NUM" and "Length" in meanings_of(i)]
    spacing = float(sources[4].PixelSpacing[1])
    assert float(lengths[0].MeasuredValueSequence[0].NumericValue) == pytest.approx(10 * spacing)
    codes = {i.ConceptCodeSequence[0].CodeMeaning for i in items(ds) if i.ValueType == "CODE"}
    assert {"Nodule", "birads 4"} <= codes


def test_consensus_is_a_device_observer(sources: list[FileDataset]) -> None:
    sr = write_measurement_report(
        sources, FINDINGS[:1], observer="consensus", observer_kind="device"
    )
    assert "Device Observer Name" in meanings(sr)


def test_given_length_is_kept(sources: list[FileDataset]) -> None:
    finding = Finding("diameter", "length", slice=0, points=[(0, 0), (3, 4)], length_mm=7.25)
    sr = write_measurement_report(sources, [finding], observer="bob")
    values = [i.MeasuredValueSequence[0].NumericValue for i in items(sr) if i.ValueType == "NUM"]
    assert values == [7.25]


@pytest.mark.parametrize(
    "findings",
    [
        [],
        [Finding("nodule", "box", slice=99, points=[(1, 1), (2, 2)])],
    ],
)
def test_refused(sources: list[FileDataset], findings: list[Finding]) -> None:
    with pytest.raises(FormatInputError):
        write_measurement_report(sources, findings, observer="a")


@pytest.mark.parametrize(
    ("kind", "points", "extra"),
    [
        ("box", [(1, 1)], {}),
        ("polygon", [(1, 1), (2, 2)], {}),
        ("keypoint", [], {}),
        ("classification", [], {}),
        ("length", [(1, 1), (2, 2)], {"slice": None}),
        ("mask", [], {"slice": 1}),
    ],
)
def test_finding_validation(kind: str, points: list[tuple[float, float]], extra: dict) -> None:
    with pytest.raises(FormatInputError):
        Finding("x", kind, points=points, **({"slice": 0} | extra))


def meanings_of(item: Dataset) -> str:
    return item.ConceptNameCodeSequence[0].CodeMeaning


def _bytes(ds: Dataset) -> bytes:
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def test_highdicom_reads_the_report_back(sources: list[FileDataset]) -> None:
    import highdicom as hd

    sr = write_measurement_report(sources, FINDINGS, observer="alice")
    back = hd.sr.Comprehensive3DSR.from_dataset(pydicom.dcmread(BytesIO(_bytes(sr))))
    planar = back.content.get_planar_roi_measurement_groups()
    assert len(planar) == 3  # box, polygon, keypoint
    image_level = back.content.get_image_measurement_groups()
    assert len(image_level) == 2  # length, classification
    length = next(g for g in image_level if g.get_measurements())
    assert length.get_measurements()[0].unit.value == "mm"
    assert back.content.get_observer_contexts()[0].observer_identifying_attributes.name == "alice^"
