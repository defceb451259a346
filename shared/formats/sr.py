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
from shared.formats.errors import FormatInputError, MaskShapeError
from shared.formats.findings import Finding, FindingKind
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
        groups.append(_group(finding, source_datasets, tracking))
    report = hd.sr.MeasurementReport(
        observation_context=_observation_context(observer, kind),
        procedure_reported=codes.SCT.ImagingProcedure,
        imaging_measurements=groups,
        title=codes.DCM.ImagingMeasurementReport,
    )
    key = (series_uid, kind.value, observer, str(len(findings)))
    with source_person_names():
        sr = hd.sr.Comprehensive3DSR(
            evidence=list(source_datasets),
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
    finding: Finding, sources: Sequence[Dataset], tracking: hd.sr.TrackingIdentifier
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
            images = [
                hd.sr.SourceImageForMeasurementGroup.from_source_image(_source(finding, sources))
            ]
        return hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=tracking,
            finding_type=coding.type,
            finding_category=coding.category,
            qualitative_evaluations=[evaluation],
            source_images=images,
        )
    source = _source(finding, sources)
    region_source = hd.sr.SourceImageForRegion.from_source_image(source)
    spacing = [float(v) for v in source.get("PixelSpacing", [1.0, 1.0])]
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
            source_images=[hd.sr.SourceImageForMeasurementGroup.from_source_image(source)],
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


def _source(finding: Finding, sources: Sequence[Dataset]) -> Dataset:
    index = finding.slice
    if index is None or not 0 <= index < len(sources):
        raise FormatInputError(
            f"finding of label {finding.label!r} is on slice {index}, outside the series' "
            f"0..{len(sources) - 1}"
        )
    return sources[index]
