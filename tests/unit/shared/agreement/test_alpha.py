import math

import krippendorff
import numpy as np
import pytest

from shared.agreement import (
    AgreementInputError,
    CoincidenceStats,
    EmptyInputError,
    krippendorff_alpha,
)

NAN = np.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C:
# 4 observers, 12 units, missing values.
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
)
LEVELS = ["nominal", "ordinal", "interval", "ratio"]


def test_published_example_nominal() -> None:
    assert krippendorff_alpha(KRIPPENDORFF_2011, n_boot=0).value == pytest.approx(0.743, abs=5e-4)
    est = krippendorff_alpha(KRIPPENDORFF_2011, "interval", n_boot=0)
    assert est.value == pytest.approx(0.849, abs=5e-4)


@pytest.mark.parametrize("level", LEVELS)
def test_matches_krippendorff_package_on_published_example(level: str) -> None:
    ref = krippendorff.alpha(reliability_data=KRIPPENDORFF_2011, level_of_measurement=level)
    assert krippendorff_alpha(KRIPPENDORFF_2011, level, n_boot=0).value == pytest.approx(ref)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_krippendorff_package_with_missing(level: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 6, 40).astype(float)
    data = np.where(rng.random((5, 40)) < 0.7, truth, rng.integers(1, 6, (5, 40))).astype(float)
    data[rng.random(data.shape) < 0.25] = np.nan
    ref = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    assert krippendorff_alpha(data, level, n_boot=0).value == pytest.approx(ref, abs=1e-10)


def test_bootstrap_interval_seeded() -> None:
    one = krippendorff_alpha(KRIPPENDORFF_2011, n_boot=200, seed=3)
    two = krippendorff_alpha(KRIPPENDORFF_2011, n_boot=200, seed=3)
    assert (one.ci_low, one.ci_high) == (two.ci_low, two.ci_high)
    assert one.ci_low <= one.value <= one.ci_high
    assert "bootstrap" in one.method


def test_value_domain_unused_values_do_not_change_nominal_alpha() -> None:
    plain = krippendorff_alpha(KRIPPENDORFF_2011, n_boot=0).value
    wider = krippendorff_alpha(KRIPPENDORFF_2011, value_domain=[1, 2, 3, 4, 5, 6], n_boot=0)
    assert wider.value == pytest.approx(plain)


def test_single_value_everywhere_is_undefined() -> None:
    est = krippendorff_alpha([[1, 1, 1], [1, 1, 1]])
    assert math.isnan(est.value) and "undefined" in est.note


def test_errors() -> None:
    with pytest.raises(EmptyInputError, match="two or more ratings"):
        krippendorff_alpha([[1, NAN], [NAN, 2]])
    with pytest.raises(AgreementInputError, match="level"):
        krippendorff_alpha([[1, 2], [1, 2]], "cardinal")  # type: ignore[arg-type]
    with pytest.raises(AgreementInputError, match="readers × items"):
        krippendorff_alpha([1, 2, 3])
    with pytest.raises(AgreementInputError, match="not in value_domain"):
        krippendorff_alpha([[1, 2], [1, 7]], value_domain=[1, 2, 3])
    with pytest.raises(EmptyInputError):
        krippendorff_alpha(np.zeros((0, 0)))
    with pytest.raises(AgreementInputError):
        CoincidenceStats([1.0, 2.0], np.zeros((3, 3)))
