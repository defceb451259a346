"""DICOM Segmentation (SEG) objects: write from masks, read back into masks.

:func:`write_segmentation` turns per-label boolean volumes over an ordered
source series into one BINARY Segmentation instance with highdicom (one
segment per label, algorithm type MANUAL, empty frames omitted).
:func:`read_segmentation` reads a SEG, from Harmonia or from a viewer such as
3D Slicer or OHIF, back into per-segment masks keyed by the source instance
each frame was derived from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import highdicom as hd
import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset
from pydicom.sr.coding import Code

from shared.formats.codes import (
    HARMONIA_SCHEME,
    LabelCoding,
    coding_scheme_identification,
    label_coding,
    person_name,
    source_person_names,
)
from shared.formats.errors import EmptyMaskError, MaskShapeError, SegmentationReadError
from shared.formats.uids import derived_uid

__all__ = [
    "SEGMENTATION_STORAGE",
    "ReadSegment",
    "SegmentationContent",
    "read_segmentation",
    "write_segmentation",
]

SEGMENTATION_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"
"""SOP Class UID of Segmentation Storage."""

MANUFACTURER = "Harmonia"
SOFTWARE_VERSION = "harmonia"


def write_segmentation(
    source_datasets: Sequence[Dataset],
    masks: Mapping[str, npt.ArrayLike],
    *,
    series_description: str,
    content_creator: str,
    codings: Mapping[str, LabelCoding] | None = None,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
    series_number: int = 900,
    content_label: str = "HARMONIA",
    frames: Sequence[int | None] | None = None,
) -> hd.seg.Segmentation:
    """Write one BINARY DICOM Segmentation of an ordered source series.

    Parameters
    ----------
    source_datasets
        The instances of one series in slice order (headers suffice).
    masks
        Label name → boolean volume ``(slices, rows, columns)``; slice ``k`` is
        ``source_datasets[k]``. Empty labels are left out.
    series_description
        SeriesDescription of the new series.
    content_creator
        ContentCreatorName: the reader's user name, or e.g. ``"consensus"``.
    codings
        Label → coded category and type; labels not given use :func:`label_coding`.
    series_instance_uid, sop_instance_uid
        UIDs of the new object; by default derived from the source series, the
        creator and the labels, so the same export gives the same UIDs.
    series_number
        SeriesNumber of the new series.
    content_label
        ContentLabel (a DICOM CS: upper case, digits, space, underscore).
    frames
        Per slice, the 1-based frame when the slices are the frames of one
        multi-frame instance (``source_datasets`` then repeats it), else ``None``.

    Returns
    -------
    highdicom.seg.Segmentation
        A pydicom Dataset ready to ``save_as``.

    Raises
    ------
    MaskShapeError
        When a mask does not match the series' ``(slices, rows, columns)``.
    EmptyMaskError
        When every mask is empty.
    """
    if not source_datasets:
        raise MaskShapeError("the source series has no instances")
    shape = (len(source_datasets), int(source_datasets[0].Rows), int(source_datasets[0].Columns))
    labels: list[str] = []
    arrays: list[npt.NDArray[np.bool_]] = []
    for label, mask in masks.items():
        array = np.asarray(mask) != 0
        if array.shape != shape:
            raise MaskShapeError(
                f"mask of label {label!r} has shape {array.shape}; the series needs {shape} "
                "(slices, rows, columns)",
                expected=shape,
                actual=tuple(array.shape),
            )
        if array.any():
            labels.append(label)
            arrays.append(array)
    if not labels:
        raise EmptyMaskError(
            "every mask is empty: a DICOM SEG needs at least one segment with pixels"
        )
    sources = list(source_datasets)
    if frames is not None and any(f is not None for f in frames):
        sources, arrays = _as_frames_of_one_instance(source_datasets, frames, arrays)
    given = codings or {}
    descriptions = []
    private = False
    for number, label in enumerate(labels, start=1):
        coding = given.get(label) or label_coding(label)
        private = private or HARMONIA_SCHEME in (
            coding.category.scheme_designator,
            coding.type.scheme_designator,
        )
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=number,
                segment_label=label,
                segmented_property_category=coding.category,
                segmented_property_type=coding.type,
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
                tracking_uid=derived_uid(_series_uid(source_datasets), "segment", label),
                tracking_id=label,
            )
        )
    key = (_series_uid(source_datasets), content_creator, *labels)
    pixel_array = np.stack(arrays, axis=-1)
    with source_person_names():
        segmentation = hd.seg.Segmentation(
            source_images=sources,
            pixel_array=pixel_array,
            segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
            segment_descriptions=descriptions,
            series_instance_uid=series_instance_uid or derived_uid("seg-series", *key),
            series_number=series_number,
            sop_instance_uid=sop_instance_uid or derived_uid("seg-instance", *key),
            instance_number=1,
            manufacturer=MANUFACTURER,
            manufacturer_model_name="Harmonia node",
            software_versions=SOFTWARE_VERSION,
            device_serial_number="0",
            content_description=series_description[:64],
            content_creator_name=person_name(content_creator),
            content_label=content_label,
            series_description=series_description[:64],
            omit_empty_frames=True,
        )
    if private:
        segmentation.CodingSchemeIdentificationSequence = [coding_scheme_identification()]
    return segmentation


def _as_frames_of_one_instance(
    source_datasets: Sequence[Dataset],
    frames: Sequence[int | None],
    arrays: list[npt.NDArray[np.bool_]],
) -> tuple[list[Dataset], list[npt.NDArray[np.bool_]]]:
    """Reorder slice masks into the frame order of the one multi-frame source instance."""
    uids = {str(ds.SOPInstanceUID) for ds in source_datasets}
    if len(uids) != 1 or any(f is None for f in frames) or len(frames) != len(source_datasets):
        raise MaskShapeError(
            "a SEG of a multi-frame series needs every slice to be a frame of one instance; "
            "this series mixes instances, so export it as NIfTI instead"
        )
    source = source_datasets[0]
    count = int(source.get("NumberOfFrames", 1) or 1)
    reordered = []
    for array in arrays:
        framed = np.zeros((count, *array.shape[1:]), dtype=np.bool_)
        for index, frame in enumerate(frames):
            assert frame is not None
            framed[frame - 1] = array[index]
        reordered.append(framed)
    return [source], reordered


@dataclass(frozen=True)
class ReadSegment:
    """One segment of a SEG read back.

    Parameters
    ----------
    number, label
        SegmentNumber and SegmentLabel.
    category, type
        Segmented property category and type.
    source_sop_instance_uids
        For each frame of this segment, the source instance it was derived
        from (``None`` when the frame names none).
    positions
        For each frame, its ImagePositionPatient (``None`` when absent).
    masks
        Boolean frames, shape ``(frames, rows, columns)``.
    source_frame_numbers
        For each frame, the frame of a multi-frame source it was derived from
        (``None`` for a single-frame source).
    """

    number: int
    label: str
    category: Code
    type: Code
    source_sop_instance_uids: tuple[str | None, ...]
    positions: tuple[tuple[float, float, float] | None, ...]
    masks: npt.NDArray[np.bool_]
    source_frame_numbers: tuple[int | None, ...] = ()

    def by_source_frame(self) -> dict[tuple[str, int | None], npt.NDArray[np.bool_]]:
        """Return (source SOPInstanceUID, source frame or ``None``) → mask.

        Raises
        ------
        SegmentationReadError
            When a frame names no source image; map it by ``positions`` instead.
        """
        numbers = self.source_frame_numbers or (None,) * len(self.source_sop_instance_uids)
        result: dict[tuple[str, int | None], npt.NDArray[np.bool_]] = {}
        for index, (uid, frame) in enumerate(
            zip(self.source_sop_instance_uids, numbers, strict=True)
        ):
            if uid is None:
                raise SegmentationReadError(
                    f"frame {index} of segment {self.label!r} names no source image "
                    "(DerivationImageSequence); match frames to slices by position instead"
                )
            key = (uid, frame)
            result[key] = result[key] | self.masks[index] if key in result else self.masks[index]
        return result

    def by_source_instance(self) -> dict[str, npt.NDArray[np.bool_]]:
        """Return source SOPInstanceUID → mask (frames on one source are merged).

        Raises
        ------
        SegmentationReadError
            When a frame names no source instance; map it by ``positions`` instead.
        """
        result: dict[str, npt.NDArray[np.bool_]] = {}
        for index, uid in enumerate(self.source_sop_instance_uids):
            if uid is None:
                raise SegmentationReadError(
                    f"frame {index} of segment {self.label!r} names no source image "
                    "(DerivationImageSequence); match frames to slices by position instead"
                )
            if uid in result:
                result[uid] = result[uid] | self.masks[index]
            else:
                result[uid] = self.masks[index].copy()
        return result


@dataclass(frozen=True)
class SegmentationContent:
    """What a SEG holds: the series it annotates and its segments by label."""

    sop_instance_uid: str
    referenced_series_instance_uid: str
    segments: dict[str, ReadSegment]
    content_creator: str


def read_segmentation(dataset: Dataset) -> SegmentationContent:
    """Read a DICOM Segmentation back into per-segment masks.

    BINARY and FRACTIONAL segmentations are read (fractional frames are
    thresholded at half the maximum value).

    Raises
    ------
    SegmentationReadError
        When the dataset is not a Segmentation highdicom can parse, references
        no series, or has no segments; two segments sharing a label are merged.
    """
    uid = str(dataset.get("SOPInstanceUID", ""))
    if str(dataset.get("SOPClassUID", "")) != SEGMENTATION_STORAGE:
        raise SegmentationReadError(
            "the object is not a DICOM Segmentation (SOP Class "
            f"{dataset.get('SOPClassUID', 'missing')}); send a SEG instance",
            sop_instance_uid=uid,
        )
    try:
        seg = hd.seg.Segmentation.from_dataset(dataset, copy=False)
        frames = np.asarray(dataset.pixel_array)
    except (AttributeError, KeyError, TypeError, ValueError, NotImplementedError) as exc:
        raise SegmentationReadError(
            f"the Segmentation cannot be parsed: {exc}", sop_instance_uid=uid
        ) from exc
    if frames.ndim == 2:
        frames = frames[np.newaxis]
    series_uid = _referenced_series(dataset)
    if series_uid is None:
        raise SegmentationReadError(
            "the Segmentation references no source series (ReferencedSeriesSequence); "
            "export it from a viewer that records the source images",
            sop_instance_uid=uid,
        )
    if str(seg.SegmentationType) == "FRACTIONAL":
        binary = frames >= (int(dataset.get("MaximumFractionalValue", 255)) + 1) // 2
    else:
        binary = frames != 0
    shared = (dataset.get("SharedFunctionalGroupsSequence") or [Dataset()])[0]
    per_frame = [
        _with_shared(item, shared) for item in dataset.get("PerFrameFunctionalGroupsSequence") or []
    ]
    by_number: dict[int, list[int]] = {}
    for index, item in enumerate(per_frame):
        number = _segment_number(item)
        if number is not None:
            by_number.setdefault(number, []).append(index)
    segments: dict[str, ReadSegment] = {}
    for description in dataset.get("SegmentSequence") or []:
        number = int(description.SegmentNumber)
        label = str(description.get("SegmentLabel", f"segment {number}"))
        indices = by_number.get(number, [])
        segment = ReadSegment(
            number=number,
            label=label,
            category=_code(description, "SegmentedPropertyCategoryCodeSequence"),
            type=_code(description, "SegmentedPropertyTypeCodeSequence"),
            source_sop_instance_uids=tuple(_source_uid(per_frame[i]) for i in indices),
            positions=tuple(_position(per_frame[i]) for i in indices),
            masks=binary[indices] if indices else binary[:0],
            source_frame_numbers=tuple(_source_frame(per_frame[i]) for i in indices),
        )
        if label in segments:
            segment = _merge(segments[label], segment)
        segments[label] = segment
    if not segments:
        raise SegmentationReadError("the Segmentation has no segments", sop_instance_uid=uid)
    return SegmentationContent(
        sop_instance_uid=uid,
        referenced_series_instance_uid=series_uid,
        segments=segments,
        content_creator=str(dataset.get("ContentCreatorName", "")).rstrip("^"),
    )


def _series_uid(datasets: Sequence[Dataset]) -> str:
    return str(datasets[0].get("SeriesInstanceUID", ""))


def _referenced_series(dataset: Dataset) -> str | None:
    for item in dataset.get("ReferencedSeriesSequence") or []:
        if "SeriesInstanceUID" in item:
            return str(item.SeriesInstanceUID)
    for study in dataset.get("StudiesContainingOtherReferencedInstancesSequence") or []:
        for item in study.get("ReferencedSeriesSequence") or []:
            if "SeriesInstanceUID" in item:
                return str(item.SeriesInstanceUID)
    return None


def _with_shared(item: Dataset, shared: Dataset) -> Dataset:
    """Return a frame's functional groups with the shared ones filled in where it has none."""
    merged = Dataset()
    for element in shared:
        merged.add(element)
    for element in item:
        merged.add(element)
    return merged


def _segment_number(item: Dataset) -> int | None:
    identification = item.get("SegmentIdentificationSequence") or []
    if not identification:
        return None
    return int(identification[0].ReferencedSegmentNumber)


def _source_uid(item: Dataset) -> str | None:
    for derivation in item.get("DerivationImageSequence") or []:
        for source in derivation.get("SourceImageSequence") or []:
            if "ReferencedSOPInstanceUID" in source:
                return str(source.ReferencedSOPInstanceUID)
    return None


def _source_frame(item: Dataset) -> int | None:
    for derivation in item.get("DerivationImageSequence") or []:
        for source in derivation.get("SourceImageSequence") or []:
            numbers = source.get("ReferencedFrameNumber")
            if numbers not in (None, ""):
                values = [numbers] if isinstance(numbers, str | bytes | int) else list(numbers)
                try:
                    return int(values[0])
                except (TypeError, ValueError, IndexError):
                    return None
    return None


def _position(item: Dataset) -> tuple[float, float, float] | None:
    planes = item.get("PlanePositionSequence") or []
    if not planes or "ImagePositionPatient" not in planes[0]:
        return None
    x, y, z = (float(v) for v in planes[0].ImagePositionPatient)
    return (x, y, z)


def _code(description: Dataset, keyword: str) -> Code:
    items = description.get(keyword) or []
    if not items:
        return Code(value="", scheme_designator="", meaning="")
    item = items[0]
    value = item.get("CodeValue") or item.get("LongCodeValue") or item.get("URNCodeValue") or ""
    return Code(
        value=str(value),
        scheme_designator=str(item.get("CodingSchemeDesignator", "")),
        meaning=str(item.get("CodeMeaning", "")),
    )


def _merge(first: ReadSegment, second: ReadSegment) -> ReadSegment:
    return ReadSegment(
        number=first.number,
        label=first.label,
        category=first.category,
        type=first.type,
        source_sop_instance_uids=first.source_sop_instance_uids + second.source_sop_instance_uids,
        positions=first.positions + second.positions,
        masks=np.concatenate([first.masks, second.masks]),
        source_frame_numbers=first.source_frame_numbers + second.source_frame_numbers,
    )
