import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.formula.api import ols

from shared.agreement import (
    AgreementInputError,
    ContinuousStats,
    EmptyInputError,
    ShapeMismatchError,
    bland_altman,
    icc,
)

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges.
SHROUT_FLEISS = np.array(
    [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]],
    dtype=float,
)
# Published ICCs (Shrout & Fleiss 1979, Table 4) and 95 % intervals as reported by
# pingouin.intraclass_corr for the same data.
PUBLISHED = {
    "1,1": (0.17, (-0.13, 0.72)),
    "2,1": (0.29, (0.02, 0.76)),
    "3,1": (0.71, (0.34, 0.95)),
    "1,k": (0.44, (-0.88, 0.91)),
    "2,k": (0.62, (0.07, 0.93)),
    "3,k": (0.91, (0.68, 0.99)),
}


@pytest.mark.parametrize("form", list(PUBLISHED))
def test_shrout_fleiss_published_values(form: str) -> None:
    est = icc(SHROUT_FLEISS, form)  # type: ignore[arg-type]
    value, (low, high) = PUBLISHED[form]
    assert est.value == pytest.approx(value, abs=0.006)
    assert est.ci_low == pytest.approx(low, abs=0.006)
    assert est.ci_high == pytest.approx(high, abs=0.006)


def test_anova_matches_statsmodels_and_hand_formulas() -> None:
    rng = np.random.default_rng(0)
    data = rng.normal(10, 2, (15, 1)) + rng.normal(0, 1, (15, 3)) + [0.0, 0.5, -0.3]
    n, k = data.shape
    frame = pd.DataFrame(
        {"y": data.ravel(), "item": np.repeat(np.arange(n), k), "reader": np.tile(np.arange(k), n)}
    )
    table = sm.stats.anova_lm(ols("y ~ C(item) + C(reader)", frame).fit())
    ms = table["sum_sq"] / table["df"]
    anova = ContinuousStats.from_ratings(data).anova()
    assert anova.ms_rows == pytest.approx(ms["C(item)"])
    assert anova.ms_cols == pytest.approx(ms["C(reader)"])
    assert anova.ms_error == pytest.approx(ms["Residual"])
    msr, msc, mse = ms["C(item)"], ms["C(reader)"], ms["Residual"]
    icc2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    icc3 = (msr - mse) / (msr + (k - 1) * mse)
    assert icc(data, "2,1").value == pytest.approx(icc2)
    assert icc(data, "3,1").value == pytest.approx(icc3)


def test_icc_edge_cases() -> None:
    same = np.tile(np.arange(5.0)[:, None], (1, 3))
    perfect = icc(same, "2,1")
    assert perfect.value == pytest.approx(1.0)
    assert math.isnan(perfect.ci_low) and "perfect" in perfect.note
    constant = icc(np.ones((4, 2)), "3,1")
    assert math.isnan(constant.value) and "undefined" in constant.note
    with pytest.raises(AgreementInputError, match="complete"):
        icc([[1.0, np.nan], [2.0, 3.0]])
    with pytest.raises(AgreementInputError, match="at least 2 items"):
        icc([[1.0, 2.0]])
    with pytest.raises(EmptyInputError):
        icc(np.zeros((0, 2)))
    with pytest.raises(AgreementInputError, match="form"):
        icc(SHROUT_FLEISS, "4,1")  # type: ignore[arg-type]


def test_bland_altman_against_direct_formulas() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(50, 10, 30)
    b = a + rng.normal(1.0, 2.0, 30)
    result = bland_altman(a, b)
    d = b - a
    sd = d.std(ddof=1)
    assert result.bias.value == pytest.approx(d.mean())
    assert result.sd == pytest.approx(sd)
    assert result.lower.value == pytest.approx(d.mean() - 1.959963984540054 * sd)
    assert result.upper.value == pytest.approx(d.mean() + 1.959963984540054 * sd)
    t = 2.045229642132703  # t(0.975, 29)
    assert result.bias.ci_low == pytest.approx(d.mean() - t * sd / np.sqrt(30))
    se_limit = sd * np.sqrt(1 / 30 + 1.959963984540054**2 / (2 * 29))
    assert result.upper.ci_high == pytest.approx(result.upper.value + t * se_limit)
    with pytest.raises(ShapeMismatchError):
        bland_altman([1.0, 2.0], [1.0])


def test_bland_altman_from_stats_any_reader_pair() -> None:
    data = SHROUT_FLEISS
    stats = ContinuousStats.from_ratings(data)
    direct = bland_altman(data[:, 1], data[:, 3])
    assert stats.bland_altman(1, 3).upper.value == pytest.approx(direct.upper.value)
    with pytest.raises(AgreementInputError, match="distinct columns"):
        stats.bland_altman(0, 0)
