from __future__ import annotations

import pytest

from shared.phantoms import SITE_STYLES, PhantomSeries, PhantomSpec, generate_series


@pytest.fixture(scope="module")
def small_ct() -> PhantomSeries:
    """A small noise-free CT: 96x96, 16 slices of 1 mm, default lesions."""
    spec = PhantomSpec(
        modality="CT", rows=96, columns=96, slices=16, seed=7, style=SITE_STYLES["reference"]
    )
    return generate_series(spec)


@pytest.fixture(scope="module")
def noisy_ct() -> PhantomSeries:
    """A noisy, smoothed CT large enough for lesion statistics."""
    spec = PhantomSpec(
        modality="CT", rows=128, columns=128, slices=40, seed=3, style=SITE_STYLES["siemens-like"]
    )
    return generate_series(spec)
