"""Windowing, decoding and rendering of every pydicom test file."""

from __future__ import annotations

import os
from io import BytesIO

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_files

from node.dicom.pixels import decode_frame
from node.dicom.render import ImageFormat, RenderOptions, render_frame
from node.dicom.windowing import PRESETS, Window, WindowPreset, file_window, to_display
from node.errors import NodeError, NotFoundError, QueryError, RenderError
from tests.dicom_samples import pydicom_file


def test_linear_window_matches_ps3_3_at_its_boundaries() -> None:
    window = Window(center=40, width=400)
    low, high = 40 - 0.5 - 399 / 2, 40 - 0.5 + 399 / 2
    out = to_display(np.array([low - 1, low, high + 0.01, 40 - 0.5], dtype=np.float32), window)
    assert out.tolist() == [0, 0, 255, 127]


def test_linear_exact_and_sigmoid() -> None:
    values = np.array([-160.0, 40.0, 240.0], dtype=np.float32)
    assert to_display(values, Window(40, 400, "LINEAR_EXACT")).tolist() == [0, 127, 255]
    sigmoid = to_display(values, Window(40, 400, "SIGMOID"))
    assert sigmoid[0] < sigmoid[1] < sigmoid[2] and sigmoid[1] == 127


def test_monochrome1_is_inverted_and_no_window_stretches_the_range() -> None:
    values = np.array([0.0, 50.0, 100.0], dtype=np.float32)
    assert to_display(values, None).tolist() == [0, 127, 255]
    assert to_display(values, None, invert=True).tolist() == [255, 128, 0]


def test_invalid_windows_are_query_errors() -> None:
    with pytest.raises(QueryError):
        Window(0, 0)
    with pytest.raises(QueryError):
        Window(0, 100, "GAMMA")
    with pytest.raises(QueryError):
        RenderOptions(window_center=40)
    with pytest.raises(QueryError):
        RenderOptions(quality=0)


def test_presets_override_the_file_window() -> None:
    assert (
        RenderOptions(preset=WindowPreset.LUNG).window(Window(1, 2)) == PRESETS[WindowPreset.LUNG]
    )
    assert RenderOptions().window(Window(1, 2)) == Window(1, 2)


def test_file_window_is_the_default_so_ct_is_not_washed_out() -> None:
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    ds.WindowCenter, ds.WindowWidth = 40, 400
    assert file_window(ds) == Window(40, 400)
    windowed = np.asarray(Image.open(BytesIO(render_frame(ds))))
    del ds.WindowCenter, ds.WindowWidth
    stretched = np.asarray(Image.open(BytesIO(render_frame(ds))))
    assert windowed.std() > stretched.std()  # a soft-tissue window spreads the contrast


def test_frames_are_one_based_and_checked() -> None:
    ds = pydicom.dcmread(pydicom_file("SC_rgb_rle_2frame.dcm"))
    assert decode_frame(ds, 2).shape == (100, 100, 3)
    with pytest.raises(NotFoundError):
        decode_frame(ds, 3)


@pytest.mark.parametrize(
    ("compressed", "reference"),
    [
        ("MR_small_RLE.dcm", "MR_small.dcm"),
        ("MR_small_jp2klossless.dcm", "MR_small.dcm"),
        ("MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm"),
    ],
)
def test_lossless_compressed_decodes_to_the_reference(compressed: str, reference: str) -> None:
    decoded = decode_frame(pydicom.dcmread(pydicom_file(compressed)))
    expected = pydicom.dcmread(pydicom_file(reference))
    if decoded.shape != expected.pixel_array.shape:
        raise AssertionError(f"{reference} is not the same image as {compressed}")
    assert np.array_equal(decoded, expected.pixel_array)


def test_jpeg_and_png_output() -> None:
    ds = pydicom.dcmread(pydicom_file("CT_small.dcm"))
    png = Image.open(BytesIO(render_frame(ds, options=RenderOptions())))
    jpeg = Image.open(
        BytesIO(render_frame(ds, options=RenderOptions(image_format=ImageFormat.JPEG)))
    )
    assert (png.format, jpeg.format) == ("PNG", "JPEG")
    small = Image.open(BytesIO(render_frame(ds, options=RenderOptions(max_size=32))))
    assert max(small.size) == 32


RENDERABLE = sorted(
    p
    for p in get_testdata_files()
    if os.path.isfile(p) and not p.endswith((".txt", ".json", ".dump", ".icc", ".gz"))
)


def test_every_pydicom_file_renders_or_fails_with_a_typed_error() -> None:
    rendered, refused = 0, 0
    for path in RENDERABLE:
        try:
            ds = pydicom.dcmread(path, force=True)
        except Exception:
            continue  # unreadable files are the ingest's to reject
        if "PixelData" not in ds or "Rows" not in ds:
            continue
        try:
            image = Image.open(BytesIO(render_frame(ds)))
        except NodeError:
            refused += 1
            continue
        assert image.size == (int(ds.Columns), int(ds.Rows)), path
        rendered += 1
    assert rendered > 80
    assert refused < rendered


def test_no_pixel_data_is_a_render_error() -> None:
    with pytest.raises(RenderError):
        render_frame(pydicom.dcmread(pydicom_file("rtplan.dcm")))


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "rtdose_1frame.dcm"])
@pytest.mark.parametrize("preset", [None, WindowPreset.BONE])
def test_lookup_table_path_equals_per_pixel_transform(
    name: str, preset: WindowPreset | None
) -> None:
    from node.dicom.pixels import modality_values
    from node.dicom.render import render_array

    ds = pydicom.dcmread(pydicom_file(name))
    options = RenderOptions(preset=preset)
    fast = np.asarray(Image.open(BytesIO(render_frame(ds, options=options))))
    values = modality_values(ds, decode_frame(ds))
    slow = np.asarray(
        Image.open(BytesIO(render_array(values, options, default_window=file_window(ds))))
    )
    assert np.array_equal(fast, slow)
