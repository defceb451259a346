import numpy as np
import pytest

from shared.agreement import CoincidenceStats, ConfusionStats, DetectionStats, OverlapStats
from shared.schemas import LabelKind
from shared.schemas.harmonization import (
    DiversityHistograms,
    LabelStatistics,
    RoundResult,
    RoundResultError,
    SiteStatistics,
)


def _classification(counts: list[list[int]]) -> LabelStatistics:
    return LabelStatistics(
        "birads",
        LabelKind.CLASSIFICATION,
        tasks=int(np.sum(counts)),
        confusion=ConfusionStats(("1", "2"), counts),
        coincidence=CoincidenceStats([0.0, 1.0], [[2.0, 1.0], [1.0, 2.0]]),
    )


def test_label_statistics_add_and_sum():
    a = _classification([[3, 1], [0, 2]])
    b = _classification([[1, 0], [1, 4]])
    total = sum([a, b])
    assert total.tasks == a.tasks + b.tasks
    assert total.confusion == a.confusion + b.confusion
    assert total.coincidence == a.coincidence + b.coincidence


def test_adding_different_labels_is_refused():
    a = _classification([[1, 0], [0, 1]])
    other = LabelStatistics("lesion", LabelKind.MASK)
    with pytest.raises(RoundResultError):
        _ = a + other


def test_none_statistics_add_as_missing():
    mask = OverlapStats.from_masks(np.ones((2, 2), bool), np.ones((2, 2), bool))
    a = LabelStatistics("lesion", LabelKind.MASK, 1, overlap=mask)
    b = LabelStatistics("lesion", LabelKind.MASK, 0)
    assert (a + b).overlap == mask
    assert b.empty and not a.empty


def test_round_result_json_roundtrip_and_from_sites():
    det = DetectionStats("iou", 2, 3, 3, 2, 1.5, 1.4)
    mask = OverlapStats.from_masks(np.eye(3, dtype=bool), np.ones((3, 3), bool))
    site_a = SiteStatistics(
        "a",
        {
            "birads": _classification([[3, 1], [0, 2]]),
            "box": LabelStatistics("box", LabelKind.BOX, 2, detection=det),
            "lesion": LabelStatistics("lesion", LabelKind.MASK, 1, overlap=mask),
        },
    )
    site_b = SiteStatistics("b", {"birads": _classification([[1, 0], [1, 4]])})
    result = RoundResult.from_sites(
        "chest",
        "1.0",
        "round-1",
        "2026-01-01T00:00:00Z",
        {"a": site_a, "b": site_b},
        diversity=DiversityHistograms({"modality": {"CT": 3.0}}),
    )
    assert result.participants == ("a", "b")
    assert result.pooled["birads"].confusion is not None
    assert result.pooled["birads"].confusion.n_items == 12
    back = RoundResult.from_json(result.to_json())
    assert back.to_json() == result.to_json()
    assert back.pooled["box"].detection == det
    assert back.pooled["lesion"].overlap == mask


def test_bad_json_is_a_typed_error():
    with pytest.raises(RoundResultError):
        RoundResult.from_json({"guideline": "x"})
