import math

import numpy as np
import pytest
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from shared.agreement import (
    AgreementInputError,
    CategoryCountStats,
    EmptyInputError,
    fleiss_kappa,
)

# Worked example from the "Fleiss' kappa" literature (10 items, 14 raters, 5 categories;
# P̄ = 0.378, P̄e = 0.213, κ = 0.210), as reproduced in Wikipedia.
WORKED = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)


def _fnl_se(counts: np.ndarray) -> float:
    n, m = counts.shape[0], counts.sum(axis=1)[0]
    p = counts.sum(axis=0) / (n * m)
    q = 1 - p
    pq = (p * q).sum()
    return (
        math.sqrt(2)
        / (pq * math.sqrt(n * m * (m - 1)))
        * math.sqrt(pq**2 - (p * q * (q - p)).sum())
    )


def test_worked_example() -> None:
    est = fleiss_kappa(WORKED)
    assert est.value == pytest.approx(0.210, abs=5e-4)
    assert est.value == pytest.approx(sm_fleiss_kappa(WORKED))
    stats = CategoryCountStats.from_counts(WORKED)
    assert stats.percent_agreement() == pytest.approx(0.378, abs=5e-4)
    assert est.se == pytest.approx(_fnl_se(WORKED))
    assert "H0" in est.method and "Fleiss-Nee-Landis" in est.method


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_matches_statsmodels_on_random_tables(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, 40)
    ratings = np.where(rng.random((40, 5)) < 0.7, truth[:, None], rng.integers(0, 4, (40, 5)))
    table, _ = aggregate_raters(ratings, n_cat=4)
    assert fleiss_kappa(table).value == pytest.approx(sm_fleiss_kappa(table), abs=1e-12)


def test_bootstrap_ci_is_seeded_and_brackets_value() -> None:
    one = fleiss_kappa(WORKED, ci="bootstrap", n_boot=300, seed=7)
    two = fleiss_kappa(WORKED, ci="bootstrap", n_boot=300, seed=7)
    other = fleiss_kappa(WORKED, ci="bootstrap", n_boot=300, seed=8)
    assert (one.ci_low, one.ci_high) == (two.ci_low, two.ci_high)
    assert (one.ci_low, one.ci_high) != (other.ci_low, other.ci_high)
    assert one.ci_low < one.value < one.ci_high
    assert one.method.startswith("bootstrap")


def test_all_one_category_is_undefined() -> None:
    est = fleiss_kappa([[3, 0], [3, 0]])
    assert math.isnan(est.value) and "undefined" in est.note


def test_perfect_agreement_is_one() -> None:
    assert fleiss_kappa([[3, 0], [0, 3], [3, 0]]).value == pytest.approx(1.0)


def test_validation() -> None:
    with pytest.raises(AgreementInputError, match="same number of ratings"):
        fleiss_kappa([[2, 1], [1, 1]])
    with pytest.raises(AgreementInputError, match="at least 2 ratings"):
        fleiss_kappa([[1, 0], [0, 1]])
    with pytest.raises(EmptyInputError):
        fleiss_kappa(np.zeros((0, 3)))
    with pytest.raises(AgreementInputError, match="no NaN"):
        fleiss_kappa([[1.0, float("nan")]])
    with pytest.raises(AgreementInputError, match="ci must be"):
        fleiss_kappa(WORKED, ci="jackknife")  # type: ignore[arg-type]
