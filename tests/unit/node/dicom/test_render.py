"""Rendering frames to PNG and JPEG: every pydicom test file, windows, colour, sizes."""

from __future__ import annotations

import os
from io import BytesIO

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom import Dataset
from pydicom.data import get_testdata_files
from pydicom.pixels.processing import apply_color_lut
from pydicom.sequence import Sequence as DicomSequence

from node.dicom.pixels import PIXEL_KEYWORDS, decode_frame, frame_count
from node.dicom.render import ImageFormat, RenderOptions, render_array, render_frame
from node.dicom.windowing import Window, WindowPreset, to_display
from node.errors import NodeError, NotFoundError, QueryError, RenderError
from tests.dicom_samples import pydicom_file
from tests.unit.node.dicom.synthetic_ct import ct_slice


def _read(name: str) -> Dataset:
    return pydicom.dcmread(pydicom_file(name))


def _image(data: bytes) -> Image.Image:
    image = Image.open(BytesIO(data))
    image.load()
    return image


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(_image(data))


def _hounsfield(ds: Dataset) -> np.ndarray:
    return ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)


CANDIDATES = sorted(
    p
    for p in get_testdata_files()
    if os.path.isfile(p) and not p.endswith((".txt", ".json", ".dump", ".icc", ".gz"))
)


def _image_datasets() -> list[tuple[str, Dataset]]:
    found: list[tuple[str, Dataset]] = []
    for path in CANDIDATES:
        try:
            ds = pydicom.dcmread(path, force=True)
        except Exception:  # unreadable files are the ingest's to reject
            continue
        if any(k in ds for k in PIXEL_KEYWORDS):
            found.append((os.path.basename(path), ds))
    return found


@pytest.mark.parametrize("image_format", list(ImageFormat))
def test_every_pydicom_image_renders_or_fails_with_a_typed_error(
    image_format: ImageFormat,
) -> None:
    rendered, refused = [], []
    for name, ds in _image_datasets():
        for frame in sorted({1, frame_count(ds)}):
            try:
                data = render_frame(ds, frame, RenderOptions(image_format=image_format))
            except NodeError as exc:  # anything else fails the test
                refused.append((name, type(exc).__name__))
                continue
            image = _image(data)
            assert image.format == image_format.name, name
            assert image.size == (int(ds.Columns), int(ds.Rows)), name
            assert image.mode in ("L", "RGB"), name
            rendered.append(name)
    assert len(set(rendered)) >= 85, refused
    assert {name for name, _ in refused} <= {
        "JPEG-lossy.dcm",  # a misplaced marker segment no installed decoder accepts
        "JPEG2000-embedded-sequence-delimiter.dcm",  # damaged codestream
        "MR_truncated.dcm",
        "badVR.dcm",
        "meta_missing_tsyntax.dcm",  # no Bits Allocated
        "nested_priv_SQ.dcm",
    }, refused


def test_the_file_window_is_the_default_so_ct_is_not_washed_out() -> None:
    ds = _read("CT_small.dcm")
    ds.WindowCenter, ds.WindowWidth = 40, 400  # CT_small itself carries no window
    hounsfield = _hounsfield(ds)
    windowed = _pixels(render_frame(ds))
    assert np.array_equal(windowed, to_display(hounsfield, Window(40, 400)))
    # Soft tissue spreads over the grey scale instead of a narrow band of min..max.
    stretched = to_display(hounsfield, None)
    tissue = (hounsfield > -100) & (hounsfield < 100)
    assert tissue.mean() > 0.1

    def spread(image: np.ndarray) -> float:
        low, high = np.percentile(image[tissue], [5, 95])
        return float(high - low)

    assert spread(windowed) > 4 * spread(stretched)  # ~128 vs ~25 grey levels for 200 HU
    del ds.WindowCenter, ds.WindowWidth
    assert np.array_equal(_pixels(render_frame(ds)), stretched)


def test_presets_and_explicit_windows_override_the_file_window() -> None:
    ds = _read("CT_small.dcm")
    ds.WindowCenter, ds.WindowWidth = 40, 400
    lung = _pixels(render_frame(ds, options=RenderOptions(preset=WindowPreset.LUNG)))
    assert np.array_equal(lung, to_display(_hounsfield(ds), Window(-600, 1500)))
    explicit = RenderOptions(window_center=500, window_width=2000, preset=WindowPreset.LUNG)
    bone = _pixels(render_frame(ds, options=explicit))
    assert np.array_equal(bone, to_display(_hounsfield(ds), Window(500, 2000)))


def test_the_voi_lut_sequence_is_used_when_there_is_no_window() -> None:
    ds = ct_slice(np.array([[0, 1], [2, 3]], np.uint16), window=None, intercept=0)
    item = Dataset()
    item.LUTDescriptor = [2, 1, 8]
    item.LUTData = [10, 200]
    ds.VOILUTSequence = DicomSequence([item])
    assert _pixels(render_frame(ds)).tolist() == [[10, 10], [200, 200]]


def test_monochrome1_renders_inverted() -> None:
    stored = np.array([[1000, 1100], [1200, 1300]], np.uint16)
    normal = _pixels(render_frame(ct_slice(stored)))
    inverted = _pixels(render_frame(ct_slice(stored, photometric="MONOCHROME1")))
    assert np.array_equal(inverted, 255 - normal)
    ds = _read("liver_1frame.dcm")  # 1-bit data stretches to black and white
    assert set(np.unique(_pixels(render_frame(ds))).tolist()) <= {0, 255}


def test_rgb_and_ybr_render_as_colour() -> None:
    reference = decode_frame(_read("SC_rgb_rle.dcm"))
    rgb = _pixels(render_frame(_read("SC_rgb_rle.dcm")))
    assert rgb.shape == (100, 100, 3) and np.array_equal(rgb, reference)
    ybr = _pixels(render_frame(_read("SC_rgb_jpeg_dcmtk.dcm")))  # YBR_FULL JPEG
    assert np.abs(ybr.astype(int) - reference).max() <= 8
    wide = _pixels(render_frame(_read("SC_rgb_rle_16bit.dcm")))  # 16 bits scaled to 8
    assert np.array_equal(wide, reference)


def test_palette_colour_is_applied() -> None:
    ds = _read("examples_palette.dcm")
    rendered = _pixels(render_frame(ds))
    expected = (apply_color_lut(ds.pixel_array, ds) >> 8).astype(np.uint8)  # 16-bit entries
    assert rendered.shape == (*ds.pixel_array.shape, 3)
    assert np.array_equal(rendered, expected)


def test_multi_frame_frames_are_one_based() -> None:
    ds = _read("examples_ybr_color.dcm")
    last = frame_count(ds)
    assert _image(render_frame(ds, last)).size == (ds.Columns, ds.Rows)
    with pytest.raises(NotFoundError):
        render_frame(ds, last + 1)


def test_jpeg_quality_and_max_size() -> None:
    ds = _read("CT_small.dcm")
    high = render_frame(ds, options=RenderOptions(image_format=ImageFormat.JPEG, quality=95))
    low = render_frame(ds, options=RenderOptions(image_format=ImageFormat.JPEG, quality=10))
    assert _image(high).format == "JPEG" and len(low) < len(high)
    for image_format in ImageFormat:
        small = RenderOptions(image_format=image_format, max_size=32)
        assert _image(render_frame(ds, options=small)).size == (32, 32)
    wide = np.zeros((10, 40), np.float32)
    assert _image(render_array(wide, RenderOptions(max_size=20))).size == (20, 5)
    assert _image(render_array(wide, RenderOptions(max_size=100))).size == (40, 10)


def test_render_options_are_validated() -> None:
    cases = [
        ({"window_center": 40}, "window"),
        ({"window_center": 40, "window_width": 0}, "window"),
        ({"quality": 0}, "quality"),
        ({"quality": 101}, "quality"),
        ({"max_size": 0}, "viewport"),
        ({"preset": "liver"}, "preset"),
    ]
    for kwargs, parameter in cases:
        with pytest.raises(QueryError) as caught:
            RenderOptions(**kwargs)  # type: ignore[arg-type]
        assert caught.value.parameter == parameter
    assert RenderOptions(preset="lung").preset is WindowPreset.LUNG  # type: ignore[arg-type]


def test_render_array_takes_2d_values_and_a_plain_window() -> None:
    values = np.array([[-160, 239]], np.float32)
    assert _pixels(render_array(values, RenderOptions(), default_window=(40, 400))).tolist() == [
        [0, 255]
    ]
    with pytest.raises(RenderError):
        render_array(np.zeros((2, 2, 2), np.float32), RenderOptions())


def test_no_pixel_data_is_a_render_error() -> None:
    with pytest.raises(RenderError):
        render_frame(_read("rtplan.dcm"))
