import json

import numpy as np

from coordinator.rounds import (
    RoundStore,
    SiteStatistics,
    harmonization_result,
    label_figures,
    pool_agreement,
    pool_histograms,
    pooled_json,
)
from shared.agreement import CoincidenceStats, ConfusionStats

CODES = ["1", "2", "3"]


def _site(name: str, counts: list[list[int]], ratings: list[list[float]]) -> SiteStatistics:
    confusion = ConfusionStats(CODES, np.asarray(counts))
    coincidence = CoincidenceStats.from_reliability_data(np.asarray(ratings), [0, 1, 2])
    return SiteStatistics(
        name,
        [
            ("rads", "confusion", confusion.to_arrays()),
            ("rads", "coincidence", coincidence.to_arrays()),
        ],
        {"sex": {"categories": np.array(["F", "M"]), "counts": np.array([2, 1])}},
        ("lung", "1.0"),
    )


def test_pooled_figures_are_the_figures_of_the_summed_statistics() -> None:
    a = _site("a", [[2, 1, 0], [0, 1, 0], [0, 0, 1]], [[0, 1, 2], [0, 1, 2]])
    b = _site("b", [[0, 0, 0], [1, 2, 0], [0, 1, 3]], [[1, 2, 2, 0], [1, 1, 2, 0]])
    figures = label_figures(pool_agreement([a, b]))["rads"]
    whole = ConfusionStats(CODES, np.asarray([[2, 1, 0], [1, 3, 0], [0, 1, 4]]))
    alpha = CoincidenceStats.from_reliability_data(
        np.asarray([[0, 1, 2, 1, 2, 2, 0], [0, 1, 2, 1, 1, 2, 0]], dtype=float), [0, 1, 2]
    ).alpha("nominal")
    assert figures["kappa"] == whole.kappa(None).value
    assert figures["percent_agreement"] == whole.percent_agreement().value
    assert figures["alpha"] == alpha.value
    assert figures["n_pairs"] == 12


def test_histograms_add_bin_by_bin() -> None:
    a = _site("a", [[1, 0, 0]] * 3, [[0], [0]])
    pooled = pool_histograms([a, a])
    assert pooled == {"sex": {"categories": ["F", "M"], "counts": [4, 2]}}


def test_a_result_is_stored_and_becomes_a_harmonization_round(tmp_path) -> None:
    a = _site("a", [[2, 1, 0], [0, 1, 0], [0, 0, 1]], [[0, 1, 2], [0, 1, 2]])
    pooled = pool_agreement([a])
    result = {
        "round_id": "stats-1",
        "guideline": "lung",
        "version": "1.0",
        "started_at": "2026-11-28T08:00:00+00:00",
        "noise": False,
        "answered": ["a"],
        "missing": ["b"],
        "sites": {"a": {"status": "answered", "epsilon": []}, "b": {"status": "missing"}},
        "figures": label_figures(pooled),
        "pooled": pooled_json(pooled),
        "histograms": pool_histograms([a]),
        "per_site_pooled": {"a": pooled_json(pooled)},  # only a's policy releases per site
    }
    store = RoundStore(tmp_path)
    store.save(json.loads(json.dumps(result)))
    assert store.list() == ["stats-1"]
    assert store.get("stats-1")["figures"] == result["figures"]
    harmonized = harmonization_result(store.get("stats-1"))
    assert harmonized is not None
    assert harmonized.participants == ("a",)
    assert harmonized.failed == ("b",)
    confusion = harmonized.pooled["rads"].confusion
    assert confusion is not None
    assert confusion.kappa(None).value == result["figures"]["rads"]["kappa"]
    assert set(harmonized.sites) == {"a"}
    assert harmonized.sites["a"].labels["rads"].confusion == confusion


def test_secure_totals_are_post_processed_into_valid_statistics() -> None:
    from coordinator.rounds import SECURE_TOTAL, secure_totals

    agreement = [
        (
            "grade",
            "confusion",
            {"categories": np.asarray(["1", "2"]), "counts": np.asarray([[3.2, -1.4], [0.6, 5.0]])},
        ),
        (
            "grade",
            "coincidence",
            {
                "values": np.asarray([0.0, 1.0]),
                "coincidences": np.asarray([[2.0, 1.0], [-0.5, 3.0]]),
            },
        ),
        (
            "box",
            "detection",
            {
                "score": np.asarray("iou"),
                "n_cases": np.asarray(0.4),  # a label no site had data for, up to noise
                "n_a": np.asarray(1.0),
                "n_b": np.asarray(1.0),
                "n_matched": np.asarray(1.0),
                "score_sum": np.asarray(0.1),
                "case_f1_sum": np.asarray(0.2),
            },
        ),
    ]
    histograms = {"sex": {"categories": np.asarray(["F", "M"]), "counts": np.asarray([2.6, -3.0])}}
    totals = secure_totals(("g", "1"), agreement, histograms)
    assert totals.site == SECURE_TOTAL and totals.guideline == ("g", "1")
    by_name = {(label, statistic): arrays for label, statistic, arrays in totals.agreement}
    assert set(by_name) == {("grade", "confusion"), ("grade", "coincidence")}
    assert by_name[("grade", "confusion")]["counts"].tolist() == [[3, 0], [1, 5]]
    coincidences = by_name[("grade", "coincidence")]["coincidences"]
    assert np.allclose(coincidences, coincidences.T) and coincidences.min() >= 0
    assert totals.histograms["sex"]["counts"].tolist() == [3, 0]
    figures = label_figures(pool_agreement([totals]))
    assert figures["grade"]["n_pairs"] == 9.0
