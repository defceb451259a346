"""DICOM Structured Report, TID 1500 Measurement Report, for non-mask findings.

:func:`write_measurement_report` writes one Comprehensive 3D SR per series and
observer with highdicom:

- box and polygon → TID 1410 planar ROI group, region = closed SCOORD POLYLINE,
  with its area in mm²;
- keypoint → TID 1410 planar ROI group, region = SCOORD POINT;
- length → TID 1501 measurement group with a TID 300 Length (mm) inferred from a
  two-point SCOORD POLYLINE;
- classification → TID 1501 measurement group with a qualitative evaluation
  (label concept = coded value).

Every group's finding type is the label's code (:mod:`shared.formats.codes`);
the observer is a person (a reader) or a device (the consensus).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from shared.formats.codes import (
    HARMONIA_SCHEME,
    coding_scheme_identification,
    label_coding,
    person_name,
    source_person_names,
    value_code,
)
from shared.formats.errors import FormatInputError, MaskShapeError, SeriesGeometryError
from shared.formats.findings import Finding, FindingKind
from shared.formats.geometry import plane_of
from shared.formats.polygon import polygon_area
from shared.formats.uids import derived_uid

__all__ = ["COMPREHENSIVE_3D_SR_STORAGE", "ObserverKind", "write_measurement_report"]

COMPREHENSIVE_3D_SR_STORAGE = "1.2.840.10008.5.1.4.1.1.88.34"
"""SOP Class UID of Comprehensive 3D SR Storage."""


class ObserverKind(StrEnum):
    """Who made the findings of a report."""

    DEVICE = "device"
    PERSON = "person"


def write_measurement_report(
    source_datasets: Sequence[Dataset],
    findings: Sequence[Finding],
    *,
    observer: str,
    observer_kind: ObserverKind | str = ObserverKind.PERSON,
    series_description: str = "Harmonia measurements",
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
    series_number: int = 901,
    frames: Sequence[int | None] | None = None,
) -> hd.sr.Comprehensive3DSR:
    """Write a TID 1500 Measurement Report of one series' findings.

    Parameters
    ----------
    source_datasets
        The series' instances in slice order (headers suffice); a finding's
        ``slice`` indexes this list.
    findings
        Boxes, polygons, keypoints, lengths and classifications (mask findings
        are refused: they belong in a SEG).
    observer
        The reader's user name, or the consensus's name for a device observer.
    observer_kind
        :class:`ObserverKind`.
    series_description
        SeriesDescription of the new series.
    series_instance_uid, sop_instance_uid
        UIDs of the report; derived from the series, observer and findings by default.
    series_number
        SeriesNumber of the new series.
    frames
        Per slice, the 1-based frame when the slice is a frame of a multi-frame
        instance (``source_datasets`` then repeats it), else ``None``.

    Returns
    -------
    highdicom.sr.Comprehensive3DSR
        A pydicom Dataset ready to ``save_as``.

    Raises
    ------
    FormatInputError
        When there is no finding, a finding is a mask, or its slice is outside the series.
    """
    if not source_datasets:
        raise MaskShapeError("the source series has no instances")
    if not findings:
        raise FormatInputError("a measurement report needs at least one finding")
    kind = ObserverKind(observer_kind)
    series_uid = str(source_datasets[0].get("SeriesInstanceUID", ""))
    groups: list[
        hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations
        | hd.sr.MeasurementsAndQualitativeEvaluations
    ] = []
    for index, finding in enumerate(findings):
        tracking = hd.sr.TrackingIdentifier(
            uid=derived_uid(series_uid, observer, "finding", str(index)),
            identifier=f"{finding.label} {finding.kind.value} {index + 1}",
        )
        groups.append(_group(finding, _Slices(source_datasets, frames), tracking))
    report = hd.sr.MeasurementReport(
        observation_context=_observation_context(observer, kind),
        procedure_reported=codes.SCT.ImagingProcedure,
        imaging_measurements=groups,
        title=codes.DCM.ImagingMeasurementReport,
    )
    key = (series_uid, kind.value, observer, str(len(findings)))
    with source_person_names():
        sr = hd.sr.Comprehensive3DSR(
            evidence=list({str(ds.SOPInstanceUID): ds for ds in source_datasets}.values()),
            content=report,
            series_instance_uid=series_instance_uid or derived_uid("sr-series", *key),
            series_number=series_number,
            sop_instance_uid=sop_instance_uid or derived_uid("sr-instance", *key),
            instance_number=1,
            manufacturer="Harmonia",
            is_complete=True,
            series_description=series_description[:64],
        )
    private = any(
        f.kind is FindingKind.CLASSIFICATION
        or label_coding(f.label).type.scheme_designator == HARMONIA_SCHEME
        for f in findings
    )
    if private:
        sr.CodingSchemeIdentificationSequence = [coding_scheme_identification()]
    return sr


def _observation_context(observer: str, kind: ObserverKind) -> hd.sr.ObservationContext:
    if kind is ObserverKind.PERSON:
        person = hd.sr.ObserverContext(
            observer_type=codes.DCM.Person,
            observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
                name=person_name(observer), login_name=observer[:64]
            ),
        )
        return hd.sr.ObservationContext(observer_person_context=person)
    device = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=derived_uid("device", observer), name=observer[:64], manufacturer_name="Harmonia"
        ),
    )
    return hd.sr.ObservationContext(observer_device_context=device)


def _group(
    finding: Finding, sources: _Slices, tracking: hd.sr.TrackingIdentifier
) -> hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations | (
    hd.sr.MeasurementsAndQualitativeEvaluations
):
    coding = label_coding(finding.label)
    if finding.kind is FindingKind.CLASSIFICATION:
        evaluation = hd.sr.QualitativeEvaluation(
            name=coding.type, value=value_code(finding.label, str(finding.value))
        )
        images = None
        if finding.slice is not None:
            images = [sources.group_source(finding)]
        return hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=tracking,
            finding_type=coding.type,
            finding_category=coding.category,
            qualitative_evaluations=[evaluation],
            source_images=images,
        )
    region_source = sources.region_source(finding)
    spacing = sources.spacing(finding)
    if finding.kind is FindingKind.LENGTH:
        (x0, y0), (x1, y1) = finding.points
        length = finding.length_mm
        if length is None:
            length = math.hypot((x1 - x0) * spacing[1], (y1 - y0) * spacing[0])
        coordinates = hd.sr.CoordinatesForMeasurement(
            graphic_type=hd.sr.GraphicTypeValues.POLYLINE,
            graphic_data=np.array(finding.points),
            source_image=region_source,
        )
        measurement = hd.sr.Measurement(
            name=codes.SCT.Length,
            value=float(length),
            unit=codes.UCUM.Millimeter,
            referenced_coordinates=[coordinates],
        )
        return hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=tracking,
            finding_type=coding.type,
            finding_category=coding.category,
            measurements=[measurement],
            source_images=[sources.group_source(finding)],
        )
    if finding.kind is FindingKind.KEYPOINT:
        region = hd.sr.ImageRegion(
            graphic_type=hd.sr.GraphicTypeValues.POINT,
            graphic_data=np.array(finding.points),
            source_image=region_source,
        )
        return hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=tracking,
            referenced_region=region,
            finding_type=coding.type,
            finding_category=coding.category,
        )
    if finding.kind is FindingKind.BOX:
        (x0, y0), (x1, y1) = finding.points
        ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    elif finding.kind is FindingKind.POLYGON:
        ring = list(finding.points)
    else:
        raise FormatInputError(
            f"a {finding.kind.value} finding of label {finding.label!r} cannot go in an SR; "
            "write masks as a DICOM SEG"
        )
    area = polygon_area(ring) * spacing[0] * spacing[1]
    region = hd.sr.ImageRegion(
        graphic_type=hd.sr.GraphicTypeValues.POLYLINE,
        graphic_data=np.array([*ring, ring[0]]),
        source_image=region_source,
    )
    return hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=tracking,
        referenced_region=region,
        finding_type=coding.type,
        finding_category=coding.category,
        measurements=[
            hd.sr.Measurement(
                name=codes.SCT.Area, value=float(area), unit=codes.UCUM.SquareMillimeter
            )
        ],
    )


class _Slices:
    """The series' slices: a dataset each, and its frame when it is a multi-frame instance."""

    def __init__(self, datasets: Sequence[Dataset], frames: Sequence[int | None] | None) -> None:
        self._datasets = list(datasets)
        self._frames = list(frames) if frames is not None else [None] * len(datasets)
        if len(self._frames) != len(self._datasets):
            raise MaskShapeError(
                f"{len(self._frames)} frame numbers for {len(self._datasets)} slices; give one "
                "per slice (None for single-frame instances)"
            )

    def _slice(self, finding: Finding) -> tuple[Dataset, int | None]:
        index = finding.slice
        if index is None or not 0 <= index < len(self._datasets):
            raise FormatInputError(
                f"finding of label {finding.label!r} is on slice {index}, outside the series' "
                f"0..{len(self._datasets) - 1}"
            )
        return self._datasets[index], self._frames[index]

    def region_source(self, finding: Finding) -> hd.sr.SourceImageForRegion:
        ds, frame = self._slice(finding)
        return hd.sr.SourceImageForRegion(
            referenced_sop_class_uid=str(ds.SOPClassUID),
            referenced_sop_instance_uid=str(ds.SOPInstanceUID),
            referenced_frame_numbers=[frame] if frame is not None else None,
        )

    def group_source(self, finding: Finding) -> hd.sr.SourceImageForMeasurementGroup:
        ds, frame = self._slice(finding)
        return hd.sr.SourceImageForMeasurementGroup(
            referenced_sop_class_uid=str(ds.SOPClassUID),
            referenced_sop_instance_uid=str(ds.SOPInstanceUID),
            referenced_frame_numbers=[frame] if frame is not None else None,
        )

    def spacing(self, finding: Finding) -> tuple[float, float]:
        """PixelSpacing (rows, columns) of the finding's slice; 1 mm when unknown."""
        ds, frame = self._slice(finding)
        try:
            return plane_of(ds, frame).spacing
        except SeriesGeometryError:  # no plane geometry (e.g. projection images)
            spacing = [float(v) for v in ds.get("PixelSpacing") or (1.0, 1.0)]
            return (spacing[0], spacing[1])
