from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import ndimage

from shared.phantoms import SITE_STYLES, PhantomSpec, generate_series
from shared.phantoms.render import smooth


@pytest.mark.parametrize("sigma", [0.6, 0.9, 1.2, 2.0])
def test_smoothing_is_close_to_a_gaussian(sigma: float) -> None:
    image = np.zeros((64, 64), dtype=np.float32)
    image[20:40, 25:45] = 100.0
    expected = ndimage.gaussian_filter(image, sigma, mode="nearest")
    result = smooth(image.copy(), sigma)
    assert np.abs(result - expected).max() < 3.0
    assert result.sum() == pytest.approx(image.sum(), rel=1e-5)


@pytest.mark.parametrize("sigma", [0.3, 0.6, 1.2, 2.0])
def test_smoothing_impulse_response_has_variance_sigma_squared(sigma: float) -> None:
    impulse = np.zeros((41, 41), dtype=np.float32)
    impulse[20, 20] = 1.0
    response = smooth(impulse, sigma)
    offsets = np.arange(41) - 20
    profile = response.sum(axis=0)
    assert profile.sum() == pytest.approx(1.0, rel=1e-5)
    assert (profile * offsets**2).sum() == pytest.approx(sigma**2, rel=1e-4)


def test_noise_has_the_style_sigma() -> None:
    noisy_style = dataclasses.replace(SITE_STYLES["reference"], noise_sigma=20.0)
    clean_spec = PhantomSpec(rows=128, columns=128, slices=1, lesions=[])
    clean = generate_series(clean_spec).pixel_slice(0).astype(float)
    noisy = generate_series(dataclasses.replace(clean_spec, style=noisy_style))
    body = clean > 900  # fat and denser: far from the clipping at stored value 0
    difference = noisy.pixel_slice(0).astype(float)[body] - clean[body]
    assert abs(difference.mean()) < 1.0
    assert difference.std() == pytest.approx(20.0, rel=0.05)


def test_mr_bias_field_and_rician_noise_keep_values_in_range() -> None:
    series = generate_series(
        PhantomSpec(modality="MR", rows=64, columns=64, slices=2, style=SITE_STYLES["ge-like"])
    )
    pixels = series.pixel_slice(1)
    assert pixels.dtype == np.uint16
    assert pixels.max() <= 4095
    assert pixels[:4, :4].mean() > 0  # Rician noise floor in air
