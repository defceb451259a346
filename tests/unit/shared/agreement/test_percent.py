import numpy as np
import pytest

from shared.agreement import (
    AgreementInputError,
    CategoryCountStats,
    EmptyInputError,
    percent_agreement,
)


def test_two_readers_is_share_of_identical_items_with_wilson() -> None:
    est = percent_agreement([[1, 2, 3, 3], [1, 2, 3, 4]])
    assert est.value == 0.75
    assert "Wilson" in est.method


def test_many_readers_equals_fleiss_p_bar_and_bootstraps() -> None:
    rng = np.random.default_rng(0)
    ratings = rng.integers(0, 3, (4, 25))
    counts = np.stack([(ratings == c).sum(axis=0) for c in range(3)], axis=1)
    est = percent_agreement(ratings, n_boot=200)
    assert est.value == pytest.approx(CategoryCountStats.from_counts(counts).percent_agreement())
    assert est.ci_low <= est.value <= est.ci_high
    assert est.method.startswith("bootstrap")


def test_missing_ratings_are_skipped() -> None:
    nan = np.nan
    assert percent_agreement([[1, 2, nan], [1, 3, 2]]).value == 0.5


def test_errors() -> None:
    with pytest.raises(EmptyInputError):
        percent_agreement([[1, np.nan], [np.nan, 2]])
    with pytest.raises(AgreementInputError, match="numeric"):
        percent_agreement([["a", "b"], ["a", "c"]])
    with pytest.raises(AgreementInputError, match="readers × items"):
        percent_agreement([1, 2])
