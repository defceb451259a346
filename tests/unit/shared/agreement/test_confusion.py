import math

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa

from shared.agreement import (
    AgreementInputError,
    ConfusionStats,
    EmptyInputError,
    ShapeMismatchError,
    cohen_kappa,
)


def _pair(seed: int, n: int = 120, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, k, n)
    b = np.where(rng.random(n) < 0.6, a, rng.integers(0, k, n))
    return a, b


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kappa_matches_sklearn_and_statsmodels_se(weights: str | None, seed: int) -> None:
    a, b = _pair(seed)
    est = cohen_kappa(a, b, weights)
    assert est.value == pytest.approx(cohen_kappa_score(a, b, weights=weights), abs=1e-12)
    table = ConfusionStats.from_labels(a, b).counts
    ref = sm_cohens_kappa(table, wt=weights) if weights else sm_cohens_kappa(table)
    assert est.se == pytest.approx(ref.std_kappa, rel=1e-9)
    z = 1.959963984540054
    assert est.ci_low == pytest.approx(est.value - z * est.se)
    assert est.ci_high == pytest.approx(est.value + z * est.se)
    assert "Fleiss-Cohen-Everitt" in est.method


def test_string_labels_and_explicit_category_order() -> None:
    a = ["low", "mid", "high", "mid", "low", "high"]
    b = ["low", "high", "high", "mid", "mid", "high"]
    order = ["low", "mid", "high"]
    est = cohen_kappa(a, b, "linear", categories=order)
    ref = cohen_kappa_score(a, b, weights="linear", labels=order)
    assert est.value == pytest.approx(ref)


def test_textbook_example() -> None:
    # Cohen (1960)-style 2x2 example (Wikipedia "Cohen's kappa"): 20/5/10/15 -> kappa 0.4
    stats = ConfusionStats(["yes", "no"], [[20, 5], [10, 15]])
    assert stats.kappa().value == pytest.approx(0.4)
    assert stats.percent_agreement().value == pytest.approx(0.7)


def test_perfect_agreement_two_categories_is_one() -> None:
    assert cohen_kappa([0, 1, 0, 1], [0, 1, 0, 1]).value == pytest.approx(1.0)


def test_single_category_kappa_is_nan_with_reason() -> None:
    est = cohen_kappa([2, 2, 2], [2, 2, 2])
    assert math.isnan(est.value) and math.isnan(est.ci_low)
    assert "undefined" in est.note
    assert ConfusionStats.from_labels([2, 2], [2, 2]).percent_agreement().value == 1.0


def test_percent_agreement_wilson_interval() -> None:
    stats = ConfusionStats.from_labels([0, 1, 1, 0, 1], [0, 1, 0, 0, 1])
    est = stats.percent_agreement()
    assert est.value == pytest.approx(0.8)
    assert 0.0 <= est.ci_low < 0.8 < est.ci_high <= 1.0


def test_validation_errors() -> None:
    with pytest.raises(EmptyInputError, match="empty"):
        cohen_kappa([], [])
    with pytest.raises(ShapeMismatchError, match="shape"):
        cohen_kappa([0, 1], [0, 1, 1])
    with pytest.raises(AgreementInputError, match="NaN"):
        cohen_kappa([0.0, float("nan")], [0.0, 1.0])
    with pytest.raises(AgreementInputError, match="not among categories"):
        cohen_kappa([0, 3], [0, 1], categories=[0, 1])
    with pytest.raises(AgreementInputError, match="weights"):
        cohen_kappa([0, 1], [0, 1], "cubic")  # type: ignore[arg-type]
    with pytest.raises(AgreementInputError, match="None/NaN"):
        cohen_kappa(["a", None], ["a", "b"])  # type: ignore[list-item]
    with pytest.raises(AgreementInputError, match="1-D"):
        cohen_kappa([[0, 1]], [[0, 1]])
    with pytest.raises(AgreementInputError, match="confidence"):
        cohen_kappa([0, 1, 1], [0, 1, 0], confidence=1.5)


def test_counts_matrix_validation() -> None:
    with pytest.raises(AgreementInputError, match="2×2"):
        ConfusionStats([0, 1], [[1, 2, 3]])
    with pytest.raises(AgreementInputError, match="negative"):
        ConfusionStats([0, 1], [[1, -2], [0, 1]])
    with pytest.raises(EmptyInputError):
        ConfusionStats([0, 1], [[0, 0], [0, 0]]).kappa()


@pytest.mark.parametrize(
    ("a", "b", "categories"),
    [
        (["low", "high", "mid", "low"], ["high", "high", "mid", "mid"], ["low", "mid", "high"]),
        ([1.0, 2.0, 3.0, 2.0], [1, 3, 3, 2], [3, 1, 2]),
        ([True, False, True, True], [True, True, False, True], [True, False]),
        (np.array(["b", "a", "c", "a"], dtype=object), ["a", "a", "c", "b"], ["c", "a", "b"]),
    ],
    ids=["strings", "floats-vs-int-categories", "bools", "object-array"],
)
def test_counts_follow_the_given_category_order(a: list, b: list, categories: list) -> None:
    stats = ConfusionStats.from_labels(a, b, categories)
    index = {c: i for i, c in enumerate(categories)}
    expected = np.zeros((len(categories),) * 2, dtype=np.int64)
    for x, y in zip(list(a), list(b), strict=True):
        expected[index[x], index[y]] += 1
    np.testing.assert_array_equal(stats.counts, expected)
