"""VOI windowing (PS3.3 C.11.2) against hand-computed values, VOI LUTs and presets."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom import Dataset
from pydicom.sequence import Sequence as DicomSequence

from node.dicom.render import RenderOptions
from node.dicom.windowing import (
    PRESETS,
    VoiLut,
    Window,
    WindowPreset,
    file_voi,
    file_voi_lut,
    file_window,
    to_display,
)
from node.errors import QueryError
from tests.unit.node.dicom.synthetic_ct import ct_slice


def _display(values: list[float], voi: Window | VoiLut | None, **kw: bool) -> list[int]:
    result: list[int] = to_display(np.array(values, dtype=np.float32), voi, **kw).tolist()
    return result


def test_linear_window_matches_ps3_3_at_its_boundaries() -> None:
    # c=40, w=400: x <= 40 - 0.5 - 399/2 = -160 -> 0; x > 40 - 0.5 + 399/2 = 239 -> 255;
    # between: ((x - 39.5) / 399 + 0.5) * 255, rounded half up.
    window = Window(center=40, width=400)
    assert _display([-1000, -161, -160, 239, 239.01, 3000], window) == [0, 0, 0, 255, 255, 255]
    # x=39.5 -> 127.5 -> 128; x=0 -> 102.26 -> 102; x=100 -> 166.17 -> 166; x=-159 -> 0.64 -> 1
    assert _display([39.5, 0, 100, -159], window) == [128, 102, 166, 1]


def test_linear_width_one_is_a_threshold() -> None:
    assert _display([9.4, 9.5, 9.6, 11], Window(10, 1)) == [0, 0, 255, 255]


def test_linear_exact() -> None:
    # ((x - c) / w + 0.5) * 255 with c=40, w=400
    exact = Window(40, 400, "LINEAR_EXACT")
    assert _display([-161, -160, 0, 40, 240, 241], exact) == [0, 0, 102, 128, 255, 255]
    assert Window(0, 0.5, "linear-exact").function == "LINEAR_EXACT"


def test_sigmoid() -> None:
    # 255 / (1 + exp(-4 (x - c) / w)): c -> 127.5, c + w -> 250.33, c - w -> 4.67
    sigmoid = Window(40, 400, "SIGMOID")
    assert _display([40, 440, -360, -1e6, 1e6], sigmoid) == [128, 250, 5, 0, 255]


def test_monochrome1_inverts() -> None:
    window = Window(40, 400)
    normal = _display([-200, 0, 100, 300], window)
    assert _display([-200, 0, 100, 300], window, invert=True) == [255 - v for v in normal]


def test_no_window_stretches_the_data_range() -> None:
    assert _display([0, 50, 100], None) == [0, 128, 255]
    assert _display([7, 7], None) == [0, 0]
    assert _display([float("nan"), 0, 10, float("inf")], None) == [0, 0, 255, 255]


def _voi_lut_item(descriptor: list[int], data: list[int] | bytes) -> Dataset:
    item = Dataset()
    item.LUTDescriptor = descriptor
    item.LUTData = data
    return item


def test_voi_lut_maps_clamps_and_scales_to_8_bits() -> None:
    lut = VoiLut.from_item(_voi_lut_item([4, 10, 8], [0, 85, 170, 255]))
    assert _display([5, 10, 11, 13, 20], lut) == [0, 0, 85, 255, 255]
    wide = VoiLut.from_item(_voi_lut_item([3, -5, 16], [0, 32768, 65535]))
    assert _display([-9, -4, 0], wide) == [0, 128, 255]
    as_ow = VoiLut.from_item(
        _voi_lut_item([3, 0, 16], np.array([0, 32768, 65535], "<u2").tobytes())
    )
    assert _display([0, 1, 2], as_ow) == [0, 128, 255]


def test_file_window_takes_the_first_of_several_and_its_function() -> None:
    ds = ct_slice(np.zeros((2, 2), np.uint16), window=None)
    assert file_window(ds) is None
    ds.WindowCenter, ds.WindowWidth = [40, 300], [400, 1500]
    assert file_window(ds) == Window(40, 400)
    ds.VOILUTFunction = "SIGMOID"
    assert file_window(ds) == Window(40, 400, "SIGMOID")
    ds.VOILUTFunction = "GAMMA"  # unknown functions are read as LINEAR
    assert file_window(ds) == Window(40, 400)
    ds.WindowWidth = 0  # invalid for LINEAR: ignored
    assert file_window(ds) is None


def test_file_voi_prefers_the_window_then_the_voi_lut() -> None:
    ds = ct_slice(np.zeros((2, 2), np.uint16), window=(40, 400))
    ds.VOILUTSequence = DicomSequence([_voi_lut_item([2, 0, 8], [0, 255])])
    assert file_voi(ds) == Window(40, 400)
    del ds.WindowCenter, ds.WindowWidth
    lut = file_voi(ds)
    assert isinstance(lut, VoiLut) and lut.display.tolist() == [0, 255]
    ds.VOILUTSequence = DicomSequence([_voi_lut_item([2, 0, 8], [])])
    assert file_voi_lut(ds) is None and file_voi(ds) is None


def test_invalid_windows_are_query_errors_naming_the_parameter() -> None:
    for center, width, function in ((0, 0, "LINEAR"), (0, 0.5, "LINEAR"), (0, 100, "GAMMA")):
        with pytest.raises(QueryError) as caught:
            Window(center, width, function)
        assert caught.value.parameter == "window"
    with pytest.raises(QueryError):
        Window(float("nan"), 100)


def test_presets_are_the_documented_windows() -> None:
    assert {p.value: (w.width, w.center) for p, w in PRESETS.items()} == {
        "lung": (1500, -600),
        "mediastinum": (350, 50),
        "bone": (2000, 500),
        "brain": (80, 40),
        "abdomen": (400, 50),
    }
    assert set(PRESETS) == set(WindowPreset)


def test_precedence_explicit_then_preset_then_file() -> None:
    file_default = Window(1, 2)
    assert RenderOptions().window(file_default) == file_default
    assert RenderOptions(preset=WindowPreset.LUNG).window(file_default) == Window(-600, 1500)
    explicit = RenderOptions(window_center=10, window_width=20, preset=WindowPreset.LUNG)
    assert explicit.window(file_default) == Window(10, 20)
    assert RenderOptions().window(None) is None
