import numpy as np
import pytest

from shared.agreement import bootstrap as bootstrap_module
from shared.agreement import krippendorff_alpha


def test_blocks_of_resamples_give_the_same_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    data = rng.integers(0, 4, (3, 60)).astype(float)
    data[rng.random(data.shape) < 0.1] = np.nan
    whole = krippendorff_alpha(data, "ordinal", n_boot=200, seed=5)
    monkeypatch.setattr(bootstrap_module, "_BLOCK_CELLS", 7 * 60)  # blocks of 7 resamples
    blocked = krippendorff_alpha(data, "ordinal", n_boot=200, seed=5)
    assert (blocked.ci_low, blocked.ci_high) == (whole.ci_low, whole.ci_high)
    assert blocked.method == whole.method
