"""DICOM headers of a phantom slice: a complete CT or MR Image Storage IOD.

:func:`build_dataset` fills every Type 1 and Type 2 attribute of the modules
the CT Image and MR Image IODs require (Patient, General Study, General
Series, Frame of Reference, General Equipment, General Image, Image Plane,
Image Pixel, CT Image / MR Image, VOI LUT, SOP Common), plus the canaries, a
canary private block (group 0x0011), the style's vendor-like private block and
a file meta group for explicit VR little endian.

What every slice shares is encoded once per series (:attr:`SeriesHeader.
shared_elements`) and handed to each slice's dataset as immutable raw
elements, which pydicom writes without decoding them again; only the
SOPInstanceUID, InstanceNumber, ImagePositionPatient, SliceLocation and
PixelData are built per slice.
"""

from __future__ import annotations

import datetime
import functools
import io
from collections.abc import Sequence as SequenceOf
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydicom import dcmwrite
from pydicom.charset import convert_encodings
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.filereader import read_dataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian, MRImageStorage
from pydicom.valuerep import format_number_as_ds

from shared.phantoms.canaries import Canaries
from shared.phantoms.geometry import COLUMN_DIRECTION, ROW_DIRECTION
from shared.phantoms.identifiers import derive_uid
from shared.phantoms.render import CT_RESCALE_INTERCEPT
from shared.phantoms.spec import Modality, PhantomSpec

__all__ = [
    "CANARY_PRIVATE_CREATOR",
    "CANARY_PRIVATE_GROUP",
    "IMPLEMENTATION_CLASS_UID",
    "IMPLEMENTATION_VERSION_NAME",
    "SPECIFIC_CHARACTER_SET",
    "SeriesHeader",
    "build_dataset",
]

CANARY_PRIVATE_GROUP = 0x0011
"""Group of the private block that carries the private canaries."""
CANARY_PRIVATE_CREATOR = "HARMONIA CANARY"
"""Private creator of that block."""
IMPLEMENTATION_CLASS_UID = derive_uid(0, "harmonia", "implementation-class/1")
"""ImplementationClassUID written in every phantom's file meta."""
IMPLEMENTATION_VERSION_NAME = "HARMONIA_PH_1"
"""ImplementationVersionName written in every phantom's file meta."""
SPECIFIC_CHARACTER_SET = "ISO_IR 100"
"""SpecificCharacterSet of every phantom (all values are ASCII)."""


@dataclass(frozen=True)
class SeriesHeader:
    """What every slice of one series shares.

    Parameters
    ----------
    spec
        The validated request.
    canaries
        The patient's planted identifying values.
    study_instance_uid, series_instance_uid, frame_of_reference_uid
        The series' UIDs.
    sop_instance_uids
        One UID per slice, in slice order.
    study_datetime
        When the (fictional) study took place.
    patient_sex
        ``"F"`` or ``"M"``.
    """

    spec: PhantomSpec
    canaries: Canaries
    study_instance_uid: str
    series_instance_uid: str
    frame_of_reference_uid: str
    sop_instance_uids: SequenceOf[str]
    study_datetime: datetime.datetime
    patient_sex: str

    @property
    def sop_class_uid(self) -> str:
        """CT Image Storage or MR Image Storage."""
        return CTImageStorage if self.spec.modality is Modality.CT else MRImageStorage

    @property
    def signed_pixels(self) -> bool:
        """Whether pixels are stored as int16 (signed CT styles) rather than uint16."""
        return self.spec.modality is Modality.CT and self.spec.style.signed_pixels

    @functools.cached_property
    def shared_elements(self) -> tuple[RawDataElement, ...]:
        """Every element all slices share, encoded once (explicit VR little endian)."""
        return _encode_shared(self)

    @property
    def window(self) -> tuple[float, float]:
        """Default WindowCenter and WindowWidth (HU for CT, signal for MR)."""
        if self.spec.modality is Modality.CT:
            return (40.0, 400.0)
        style = self.spec.style
        return (
            600.0 * style.intensity_scale + style.intensity_shift,
            1200.0 * style.intensity_scale,
        )


def _ds(value: float) -> str:
    # Shortest form at micrometre precision; DS allows 16 characters.
    text = repr(round(float(value), 6) + 0.0)
    return text if len(text) <= 16 else format_number_as_ds(float(value))


def _date(moment: datetime.datetime) -> str:
    return moment.strftime("%Y%m%d")


def _time(moment: datetime.datetime) -> str:
    return moment.strftime("%H%M%S")


def _age(birth_date: str, on: datetime.date) -> str:
    born = datetime.datetime.strptime(birth_date, "%Y%m%d").date()
    years = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return f"{years:03d}Y"


def build_dataset(header: SeriesHeader, index: int, pixels: npt.NDArray[np.integer]) -> FileDataset:
    """Return slice ``index`` as a complete Part 10 dataset.

    Parameters
    ----------
    header
        What the series shares.
    index
        0-based slice index; InstanceNumber is ``index + 1``.
    pixels
        Stored pixel values, shape ``(rows, columns)``, uint16 or int16.

    Returns
    -------
    pydicom.dataset.FileDataset
        A new dataset with its file meta, ready for :func:`dataset_to_bytes`.
    """
    sop_instance_uid = header.sop_instance_uids[index]
    meta = FileMetaDataset()
    meta.FileMetaInformationVersion = b"\x00\x01"
    meta.MediaStorageSOPClassUID = UID(header.sop_class_uid)
    meta.MediaStorageSOPInstanceUID = UID(sop_instance_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME

    ds = FileDataset(
        f"{sop_instance_uid}.dcm",
        Dataset(),
        preamble=b"\x00" * 128,
        file_meta=meta,
        is_implicit_VR=False,
        is_little_endian=True,
    )
    for element in header.shared_elements:
        ds[element.tag] = element
    # The raw elements are already in the output encoding: say so, and
    # pydicom writes them as they are instead of decoding each one.
    ds.set_original_encoding(False, True, convert_encodings(SPECIFIC_CHARACTER_SET))
    position = header.spec.geometry.position_mm(index)
    ds.SOPInstanceUID = sop_instance_uid
    ds.InstanceNumber = index + 1
    ds.ImagePositionPatient = [_ds(v) for v in position]
    ds.SliceLocation = _ds(position[2])
    little = np.ascontiguousarray(pixels, dtype="<i2" if header.signed_pixels else "<u2")
    ds.add_new(0x7FE00010, "OW", little.tobytes())
    return ds


def _encode_shared(header: SeriesHeader) -> tuple[RawDataElement, ...]:
    # Encode what all slices share once and keep it as raw (still encoded)
    # elements: immutable, so every slice's dataset can hold the same ones and
    # still convert and change its own copies when a caller touches them.
    shared = Dataset()
    _sop_common(shared, header)
    _patient(shared, header)
    _study(shared, header)
    _series(shared, header)
    _equipment(shared, header)
    _image(shared, header)
    _modality_specific(shared, header)
    _image_pixel(shared, header)
    _private_blocks(shared, header)
    buffer = io.BytesIO()
    dcmwrite(buffer, shared, implicit_vr=False, little_endian=True)
    buffer.seek(0)
    decoded = read_dataset(buffer, is_implicit_VR=False, is_little_endian=True)
    elements: list[RawDataElement] = []
    tags = list(decoded.keys())  # iterating the dataset itself would decode
    for tag in tags:
        element = decoded.get_item(tag)
        if not isinstance(element, RawDataElement):  # pragma: no cover - pydicom reads lazily
            raise TypeError(f"expected a raw element for {tag}, got {type(element).__name__}")
        elements.append(element)
    return tuple(elements)


def _sop_common(ds: Dataset, header: SeriesHeader) -> None:
    canaries = header.canaries
    ds.SpecificCharacterSet = SPECIFIC_CHARACTER_SET
    ds.SOPClassUID = header.sop_class_uid
    ds.InstanceCreationDate = _date(header.study_datetime)
    ds.InstanceCreationTime = _time(header.study_datetime)
    modified = Dataset()
    modified.PatientName = f"{canaries['original_patient_name']}^PREVIOUS"
    original = Dataset()
    original.ModifiedAttributesSequence = Sequence([modified])
    original.AttributeModificationDateTime = _date(header.study_datetime) + "120000"
    original.ModifyingSystem = "HARMONIA PHANTOM"
    original.ReasonForTheAttributeModification = "CORRECT"
    original.SourceOfPreviousValues = ""
    ds.OriginalAttributesSequence = Sequence([original])


def _patient(ds: Dataset, header: SeriesHeader) -> None:
    canaries = header.canaries
    ds.PatientName = f"{canaries['patient_name']}^PHANTOM"
    ds.PatientID = canaries["patient_id"]
    ds.IssuerOfPatientID = "HARMONIA PHANTOM"
    ds.PatientBirthDate = canaries["patient_birth_date"]
    ds.PatientSex = header.patient_sex
    ds.OtherPatientIDs = canaries["other_patient_id"]
    other = Dataset()
    other.PatientID = canaries["other_patient_ids_sequence_id"]
    other.IssuerOfPatientID = "HARMONIA PHANTOM OTHER"
    other.TypeOfPatientID = "TEXT"
    ds.OtherPatientIDsSequence = Sequence([other])
    ds.PatientAddress = canaries["patient_address"]
    ds.PatientAge = _age(canaries["patient_birth_date"], header.study_datetime.date())
    ds.PatientIdentityRemoved = "NO"


def _study(ds: Dataset, header: SeriesHeader) -> None:
    canaries = header.canaries
    ds.StudyInstanceUID = header.study_instance_uid
    ds.StudyDate = _date(header.study_datetime)
    ds.StudyTime = _time(header.study_datetime)
    ds.ReferringPhysicianName = f"{canaries['referring_physician_name']}^DOCTOR"
    ds.StudyID = canaries["study_id"]
    ds.AccessionNumber = canaries["accession_number"]
    ds.StudyDescription = f"PHANTOM {canaries['study_description']}"


def _series(ds: Dataset, header: SeriesHeader) -> None:
    spec = header.spec
    series_time = header.study_datetime + datetime.timedelta(minutes=spec.series_number)
    ds.Modality = spec.modality.value
    ds.SeriesInstanceUID = header.series_instance_uid
    ds.SeriesNumber = spec.series_number
    ds.SeriesDate = _date(series_time)
    ds.SeriesTime = _time(series_time)
    ds.SeriesDescription = f"Harmonia phantom {spec.modality.value} ({spec.style.name})"
    ds.ProtocolName = f"HARMONIA PHANTOM {spec.modality.value}"
    ds.OperatorsName = f"{header.canaries['operators_name']}^TECH"
    ds.BodyPartExamined = "CHEST" if spec.modality is Modality.CT else "ABDOMEN"
    ds.PatientPosition = "HFS"
    ds.FrameOfReferenceUID = header.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""


def _equipment(ds: Dataset, header: SeriesHeader) -> None:
    style = header.spec.style
    ds.Manufacturer = style.manufacturer
    ds.ManufacturerModelName = style.model_name
    ds.SoftwareVersions = style.software_versions
    ds.InstitutionName = header.canaries["institution_name"]
    ds.InstitutionAddress = header.canaries["institution_address"]
    ds.StationName = "HXSIM01"
    ds.DeviceSerialNumber = f"HX-{header.spec.site[:16].upper()}"


def _image(ds: Dataset, header: SeriesHeader) -> None:
    spec = header.spec
    content_time = header.study_datetime + datetime.timedelta(minutes=spec.series_number)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL" if spec.modality is Modality.CT else "OTHER"]
    ds.AcquisitionNumber = 1
    ds.AcquisitionDate = _date(content_time)
    ds.AcquisitionTime = _time(content_time)
    ds.ContentDate = _date(content_time)
    ds.ContentTime = _time(content_time)
    ds.BurnedInAnnotation = "NO"
    ds.PixelSpacing = [_ds(spec.pixel_spacing_mm), _ds(spec.pixel_spacing_mm)]
    ds.ImageOrientationPatient = [_ds(v) for v in (*ROW_DIRECTION, *COLUMN_DIRECTION)]
    ds.SliceThickness = _ds(spec.slice_thickness_mm)
    ds.SpacingBetweenSlices = _ds(spec.slice_spacing_mm)
    center, width = header.window
    ds.WindowCenter = _ds(center)
    ds.WindowWidth = _ds(width)
    ds.WindowCenterWidthExplanation = "SOFT TISSUE" if spec.modality is Modality.CT else "DEFAULT"


def _modality_specific(ds: Dataset, header: SeriesHeader) -> None:
    spec = header.spec
    style = spec.style
    if spec.modality is Modality.CT:
        ds.KVP = "120"
        ds.ConvolutionKernel = style.convolution_kernel
        ds.DataCollectionDiameter = _ds(max(spec.geometry.field_of_view_mm))
        ds.ReconstructionDiameter = _ds(max(spec.geometry.field_of_view_mm))
        ds.XRayTubeCurrent = 200
        ds.ExposureTime = 500
        ds.RescaleIntercept = _ds(CT_RESCALE_INTERCEPT)
        ds.RescaleSlope = "1"
        ds.RescaleType = "HU"
        return
    ds.ScanningSequence = "SE"
    ds.SequenceVariant = "NONE"
    ds.ScanOptions = ""
    ds.MRAcquisitionType = "2D"
    ds.SequenceName = "HXSE2D"
    ds.AngioFlag = "N"
    ds.RepetitionTime = "500"
    ds.EchoTime = "15"
    ds.EchoTrainLength = 1
    ds.NumberOfAverages = "1"
    ds.ImagedNucleus = "1H"
    ds.ImagingFrequency = _ds(42.577478 * style.magnetic_field_strength)
    ds.MagneticFieldStrength = _ds(style.magnetic_field_strength)


def _image_pixel(ds: Dataset, header: SeriesHeader) -> None:
    spec = header.spec
    signed = header.signed_pixels
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = spec.rows
    ds.Columns = spec.columns
    ds.BitsAllocated = 16
    ds.BitsStored = 16 if signed else 12
    ds.HighBit = 15 if signed else 11
    ds.PixelRepresentation = 1 if signed else 0


def _private_blocks(ds: Dataset, header: SeriesHeader) -> None:
    canaries = header.canaries
    block = ds.private_block(CANARY_PRIVATE_GROUP, CANARY_PRIVATE_CREATOR, create=True)
    block.add_new(0x10, "LO", canaries["private_tag"])
    nested = Dataset()
    nested.PatientName = f"{canaries['nested_private_patient_name']}^NESTED"
    block.add_new(0x11, "SQ", Sequence([nested]))

    style = header.spec.style
    vendor = ds.private_block(style.private_group, style.private_creator, create=True)
    vendor.add_new(0x10, "LO", style.name)
    vendor.add_new(0x11, "DS", _ds(style.noise_sigma))
    vendor.add_new(0x12, "LO", style.convolution_kernel)
