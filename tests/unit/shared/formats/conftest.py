from __future__ import annotations

import pytest
from pydicom.dataset import FileDataset

from shared.phantoms import SITE_STYLES, PhantomSeries, PhantomSpec, generate_series


@pytest.fixture(scope="module")
def phantom() -> PhantomSeries:
    spec = PhantomSpec(
        modality="CT", rows=64, columns=64, slices=8, seed=3, style=SITE_STYLES["siemens-like"]
    )
    return generate_series(spec)


@pytest.fixture(scope="module")
def sources(phantom: PhantomSeries) -> list[FileDataset]:
    return list(phantom.datasets())
