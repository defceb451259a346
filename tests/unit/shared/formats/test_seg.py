from __future__ import annotations

from io import BytesIO

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileDataset

from shared.formats import (
    SEGMENTATION_STORAGE,
    EmptyMaskError,
    MaskShapeError,
    SegmentationReadError,
    read_segmentation,
    write_segmentation,
)
from shared.phantoms import PhantomSeries


def reread(ds: Dataset) -> Dataset:
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return pydicom.dcmread(BytesIO(buffer.getvalue()))


def volume_of(segment_masks: dict[str, np.ndarray], phantom: PhantomSeries) -> np.ndarray:
    rows, cols = phantom.spec.rows, phantom.spec.columns
    return np.stack(
        [segment_masks.get(uid, np.zeros((rows, cols), bool)) for uid in phantom.sop_instance_uids]
    )


def test_round_trip_of_two_labels(phantom: PhantomSeries, sources: list[FileDataset]) -> None:
    truth = phantom.ground_truth()
    masks = {"nodule": truth == 1, "liver cyst": truth >= 2}
    seg = write_segmentation(
        sources, masks, series_description="Reader alice", content_creator="alice"
    )
    assert seg.SOPClassUID == SEGMENTATION_STORAGE
    assert seg.SegmentationType == "BINARY"
    assert seg.ContentCreatorName == "alice^"
    assert seg.SeriesDescription == "Reader alice"
    nonempty = sum(int(m[k].any()) for m in masks.values() for k in range(len(sources)))
    assert seg.NumberOfFrames == nonempty  # empty frames are omitted
    content = read_segmentation(reread(seg))
    assert content.referenced_series_instance_uid == phantom.series_instance_uid
    assert content.content_creator == "alice"
    assert list(content.segments) == ["nodule", "liver cyst"]
    nodule = content.segments["nodule"]
    assert nodule.type.value == "27925004"
    assert nodule.category.value == "49755003"
    for label, mask in masks.items():
        np.testing.assert_array_equal(
            volume_of(content.segments[label].by_source_instance(), phantom), mask
        )
    other = content.segments["liver cyst"]
    assert other.type.scheme_designator == "99HARMONIA"
    assert seg.CodingSchemeIdentificationSequence[0].CodingSchemeDesignator == "99HARMONIA"
    assert all(p is not None for p in other.positions)


def test_uids_are_deterministic(phantom: PhantomSeries, sources: list[FileDataset]) -> None:
    masks = {"nodule": phantom.ground_truth() == 1}
    first = write_segmentation(sources, masks, series_description="x", content_creator="bob")
    again = write_segmentation(sources, masks, series_description="x", content_creator="bob")
    other = write_segmentation(sources, masks, series_description="x", content_creator="carol")
    assert first.SOPInstanceUID == again.SOPInstanceUID
    assert first.SeriesInstanceUID == again.SeriesInstanceUID
    assert first.SOPInstanceUID != other.SOPInstanceUID


def test_empty_labels_are_left_out_and_all_empty_refused(
    phantom: PhantomSeries, sources: list[FileDataset]
) -> None:
    empty = np.zeros((len(sources), 64, 64), bool)
    seg = write_segmentation(
        sources,
        {"nodule": phantom.ground_truth() == 1, "mass": empty},
        series_description="x",
        content_creator="consensus",
    )
    assert [s.SegmentLabel for s in seg.SegmentSequence] == ["nodule"]
    with pytest.raises(EmptyMaskError):
        write_segmentation(sources, {"mass": empty}, series_description="x", content_creator="a")


def test_shape_mismatch(sources: list[FileDataset]) -> None:
    with pytest.raises(MaskShapeError, match="slices, rows, columns"):
        write_segmentation(
            sources,
            {"nodule": np.ones((2, 64, 64), bool)},
            series_description="x",
            content_creator="a",
        )


def test_reading_a_non_segmentation_is_refused(sources: list[FileDataset]) -> None:
    with pytest.raises(SegmentationReadError, match="not a DICOM Segmentation"):
        read_segmentation(sources[0])


def test_frames_without_source_reference(
    phantom: PhantomSeries, sources: list[FileDataset]
) -> None:
    seg = write_segmentation(
        sources,
        {"nodule": phantom.ground_truth() == 1},
        series_description="x",
        content_creator="a",
    )
    ds = reread(seg)
    for item in ds.PerFrameFunctionalGroupsSequence:
        del item.DerivationImageSequence
    content = read_segmentation(ds)
    segment = content.segments["nodule"]
    assert set(segment.source_sop_instance_uids) == {None}
    positions = {tuple(float(v) for v in s.ImagePositionPatient) for s in sources}
    assert all(p in positions for p in segment.positions)
    with pytest.raises(SegmentationReadError, match="by position"):
        segment.by_source_instance()


def test_label_codes() -> None:
    from shared.formats import label_coding

    assert label_coding("Nodules").type.value == "27925004"
    assert label_coding("nodule-mask").type.value == "27925004"
    assert label_coding("lesion").category.value == "49755003"
    assert label_coding("tissue").category.value == "85756007"
    other = label_coding("lung-rads")
    assert (other.type.scheme_designator, other.type.value) == ("99HARMONIA", "lung-rads")
    assert other.category.value == "85756007"
