import numpy as np
import pytest

from coordinator.serverapp.training_aggregation import (
    Aggregation,
    AggregationSettings,
    aggregate_updates,
    check_aggregation,
)
from shared.errors import ConfigurationError


def _site(value: float, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        np.full((3, 3), value, dtype=np.float32) + rng.normal(0, 0.01, (3, 3)).astype(np.float32),
        np.full(4, value, dtype=np.float32),
    ]


def test_fedavg_weights_by_examples() -> None:
    merged = aggregate_updates(
        [([np.ones(2)], 3), ([np.zeros(2)], 1)], AggregationSettings(Aggregation.FEDAVG)
    )
    np.testing.assert_allclose(merged[0], [0.75, 0.75])
    assert merged[0].dtype == np.float32


@pytest.mark.parametrize(
    "rule", [Aggregation.FEDMEDIAN, Aggregation.TRIMMED_MEAN, Aggregation.KRUM]
)
def test_one_corrupted_site_cannot_wreck_a_robust_aggregate(rule: Aggregation) -> None:
    honest = [(_site(1.0, 1), 10), (_site(1.02, 2), 10)]
    corrupted = ([np.full((3, 3), 1e4, dtype=np.float32), np.full(4, -1e4, dtype=np.float32)], 10)
    results = [honest[0], corrupted, honest[1]]
    robust = aggregate_updates(results, AggregationSettings(rule))
    wrecked = aggregate_updates(results, AggregationSettings(Aggregation.FEDAVG))
    for merged in robust:
        assert np.all(np.abs(merged - 1.01) < 0.1), merged
    assert np.all(np.abs(wrecked[0] - 1.01) > 1000)


def test_trimmed_mean_cuts_at_least_one_of_three_and_keeps_the_mean_of_more() -> None:
    results = [([np.array([v])], 1) for v in (0.0, 1.0, 100.0)]
    trimmed = aggregate_updates(results, AggregationSettings(Aggregation.TRIMMED_MEAN))
    assert float(trimmed[0][0]) == 1.0
    five = [([np.array([v])], 1) for v in (-50.0, 1.0, 2.0, 3.0, 50.0)]
    assert (
        float(aggregate_updates(five, AggregationSettings(Aggregation.TRIMMED_MEAN))[0][0]) == 2.0
    )


def test_robust_rules_refuse_secure_aggregation() -> None:
    check_aggregation(Aggregation.FEDAVG, secure_aggregation=True)
    for rule in (Aggregation.FEDMEDIAN, Aggregation.TRIMMED_MEAN, Aggregation.KRUM):
        check_aggregation(rule, secure_aggregation=False)
        with pytest.raises(ConfigurationError, match="individual update"):
            check_aggregation(rule, secure_aggregation=True)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="no site update"):
        aggregate_updates([], AggregationSettings())
    with pytest.raises(ConfigurationError, match="different shapes"):
        aggregate_updates([([np.ones(2)], 1), ([np.ones(3)], 1)], AggregationSettings())
    with pytest.raises(ConfigurationError, match="trim"):
        AggregationSettings(trim_fraction=0.5)
    with pytest.raises(ConfigurationError, match="krum"):
        AggregationSettings(krum_malicious=-1)
