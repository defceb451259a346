"""Decoding every transfer syntax pydicom ships, frame numbering, and the modality transform."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID

from node.dicom.pixels import decode_frame, frame_count, modality_values, transfer_syntax
from node.errors import NotFoundError, RenderError, UnsupportedTransferSyntaxError
from tests.dicom_samples import pydicom_file
from tests.unit.node.dicom.synthetic_ct import ct_slice, enhanced_ct


def _read(name: str) -> Dataset:
    return pydicom.dcmread(pydicom_file(name))


# (compressed or re-encoded file, its lossless reference, frame of the reference)
LOSSLESS_PAIRS = [
    ("MR_small_RLE.dcm", "MR_small.dcm"),
    ("MR_small_jp2klossless.dcm", "MR_small.dcm"),
    ("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm"),
    ("MR_small_bigendian.dcm", "MR_small.dcm"),
    ("MR_small_expb.dcm", "MR_small.dcm"),
    ("MR_small_implicit.dcm", "MR_small.dcm"),
    ("SC_rgb_jpeg_gdcm.dcm", "SC_rgb_rle.dcm"),  # JPEG Lossless SV1, RGB
    ("SC_rgb_gdcm_KY.dcm", "SC_rgb_rle.dcm"),  # JPEG 2000, RGB
    ("SC_rgb_small_odd_big_endian.dcm", "SC_rgb_small_odd.dcm"),
    ("rtdose_rle.dcm", "rtdose.dcm"),
    ("rtdose_expb.dcm", "rtdose.dcm"),
    ("liver_expb_1frame.dcm", "liver_1frame.dcm"),
]


@pytest.mark.parametrize(("encoded", "reference"), LOSSLESS_PAIRS)
def test_lossless_syntaxes_decode_to_their_reference(encoded: str, reference: str) -> None:
    encoded_ds, reference_ds = _read(encoded), _read(reference)
    for frame in range(1, frame_count(encoded_ds) + 1):
        assert np.array_equal(decode_frame(encoded_ds, frame), decode_frame(reference_ds, frame))


@pytest.mark.parametrize(
    ("lossy", "max_error"),
    [
        ("SC_rgb_dcmtk_+eb+cr.dcm", 4),  # JPEG baseline, RGB
        ("SC_rgb_jpeg_dcmtk.dcm", 8),  # JPEG baseline, YBR_FULL -> RGB
        ("SC_rgb_dcmtk_+eb+cy+s2.dcm", 8),  # JPEG baseline, YBR_FULL_422 -> RGB
        ("SC_rgb_jls_lossy_line.dcm", 4),  # JPEG-LS near-lossless
        ("SC_ybr_full_422_uncompressed.dcm", 8),  # native YBR_FULL_422 -> RGB
    ],
)
def test_lossy_and_ybr_colour_decode_close_to_the_rgb_reference(lossy: str, max_error: int) -> None:
    decoded = decode_frame(_read(lossy)).astype(np.int16)
    reference = decode_frame(_read("SC_rgb_rle.dcm")).astype(np.int16)
    assert decoded.shape == reference.shape == (100, 100, 3)
    assert int(np.abs(decoded - reference).max()) <= max_error


@pytest.mark.parametrize(
    "name",
    [
        "JPGExtended.dcm",  # JPEG Extended 12-bit
        "JPEG2000.dcm",
        "693_J2KI.dcm",
        "examples_jpeg2k.dcm",  # JPEG 2000 lossless, YBR_RCT
        "JPEGLSNearLossless_16.dcm",
        "SC_rgb_jpeg.dcm",
        "examples_ybr_color.dcm",
        "image_dfl.dcm",  # deflated
    ],
)
def test_compressed_syntaxes_decode(name: str) -> None:
    ds = _read(name)
    frame = decode_frame(ds, frame_count(ds))
    assert frame.shape[:2] == (ds.Rows, ds.Columns)


def test_frames_are_one_based_and_checked() -> None:
    ds = _read("SC_rgb_rle_2frame.dcm")
    assert np.array_equal(decode_frame(ds, 2), ds.pixel_array[1])
    for missing in (0, 3, -1):
        with pytest.raises(NotFoundError, match=r"1\.\.2"):
            decode_frame(ds, missing)


def test_an_unknown_transfer_syntax_is_unsupported_and_named() -> None:
    ds = _read("MR_small_RLE.dcm")
    ds.file_meta.TransferSyntaxUID = UID("1.2.840.10008.1.2.4.100")  # MPEG2
    with pytest.raises(UnsupportedTransferSyntaxError, match=r"1\.2\.840\.10008\.1\.2\.4\.100"):
        decode_frame(ds)


def test_damaged_pixel_data_is_a_render_error_naming_the_syntax() -> None:
    with pytest.raises(RenderError, match="Explicit VR Little Endian"):
        decode_frame(_read("MR_truncated.dcm"))
    with pytest.raises(RenderError, match="JPEG 2000"):
        decode_frame(_read("JPEG2000-embedded-sequence-delimiter.dcm"))


def test_no_pixel_data_is_a_render_error() -> None:
    with pytest.raises(RenderError, match="no pixel data"):
        decode_frame(_read("rtplan.dcm"))


def test_a_missing_transfer_syntax_is_inferred_from_the_encoding() -> None:
    ds = _read("MR_small.dcm")
    del ds.file_meta.TransferSyntaxUID
    assert transfer_syntax(ds) == "1.2.840.10008.1.2.1"
    assert np.array_equal(decode_frame(ds), _read("MR_small.dcm").pixel_array)
    synthetic = ct_slice(np.zeros((2, 2), np.uint16))
    del synthetic.file_meta.TransferSyntaxUID
    with pytest.raises(UnsupportedTransferSyntaxError, match="Transfer Syntax UID"):
        decode_frame(synthetic)


def test_rescale_gives_float32_hounsfield_units() -> None:
    ds = _read("CT_small.dcm")
    values = modality_values(ds, decode_frame(ds))
    assert values.dtype == np.float32
    expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    assert np.array_equal(values, expected.astype(np.float32))
    scaled = ct_slice(np.array([[0, 10]], np.uint16), slope=0.5, intercept=-3)
    assert modality_values(scaled, decode_frame(scaled)).tolist() == [[-3.0, 2.0]]


def test_modality_lut_sequence_is_applied() -> None:
    ds = ct_slice(np.array([[0, 1, 2, 3, 9]], np.uint16))
    item = Dataset()
    item.LUTDescriptor = [4, 0, 16]
    item.ModalityLUTType = "HU"
    item.LUTData = [100, 200, 300, 400]
    ds.ModalityLUTSequence = DicomSequence([item])
    del ds.RescaleSlope, ds.RescaleIntercept
    values = modality_values(ds, decode_frame(ds))
    assert values.dtype == np.float32
    assert values.tolist() == [[100, 200, 300, 400, 400]]


def test_enhanced_rescale_is_read_per_frame() -> None:
    stored = np.full((3, 2, 2), 1100, np.uint16)
    ds = enhanced_ct(stored, slopes=[1.0, 2.0, 1.0])
    # frames are stored top-down: frame 2 is slice 1, whose slope is 2
    assert modality_values(ds, decode_frame(ds, 2), frame=2)[0, 0] == 1100 * 2 - 1024
    assert modality_values(ds, decode_frame(ds, 1), frame=1)[0, 0] == 1100 - 1024


def test_colour_frames_pass_through_the_modality_transform() -> None:
    rgb = decode_frame(_read("SC_rgb_rle.dcm"))
    assert np.array_equal(modality_values(_read("SC_rgb_rle.dcm"), rgb), rgb)
