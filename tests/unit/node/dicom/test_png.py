"""The fast PNG encoder round-trips through Pillow."""

from __future__ import annotations

from io import BytesIO

import numpy as np
import pytest
from PIL import Image

from node.dicom.png import encode_png


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (512, 512), (5, 3, 3), (64, 33, 3)])
def test_round_trip(shape: tuple[int, ...]) -> None:
    pixels = np.random.default_rng(len(shape)).integers(0, 256, shape, dtype=np.uint8)
    image = Image.open(BytesIO(encode_png(pixels)))
    assert image.format == "PNG" and image.mode == ("L" if len(shape) == 2 else "RGB")
    assert np.array_equal(np.asarray(image), pixels)


def test_levels_trade_size_for_time() -> None:
    smooth = np.tile(np.arange(256, dtype=np.uint8), (64, 1))
    assert len(encode_png(smooth, level=9)) <= len(encode_png(smooth, level=0))


@pytest.mark.parametrize(
    "bad",
    [np.zeros((2, 2), np.uint16), np.zeros((2, 2, 4), np.uint8), np.zeros((0, 3), np.uint8)],
)
def test_only_uint8_grayscale_or_rgb(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8"):
        encode_png(bad)
