from __future__ import annotations

import numpy as np
import pytest

from coordinator.errors import RoundResultExistsError
from coordinator.harmonize import InMemoryRoundResults, SqlRoundResults, label_figure
from coordinator.runtime import CoordinatorRuntime
from shared.agreement import CoincidenceStats, ConfusionStats, OverlapStats
from shared.schemas import Guideline, LabelKind
from shared.schemas.harmonization import (
    DiversityHistograms,
    LabelStatistics,
    RoundResult,
    SiteStatistics,
)
from tests.unit.coordinator.harmonize.conftest import CHEST


def _grade(counts: list[list[int]]) -> LabelStatistics:
    return LabelStatistics(
        "grade",
        LabelKind.CLASSIFICATION,
        tasks=int(np.sum(counts)),
        confusion=ConfusionStats(("1", "2", "3"), counts),
        coincidence=CoincidenceStats([0.0, 1.0, 2.0], np.diag([2.0, 2.0, 2.0])),
    )


def _round(version: str, round_id: str, good: bool) -> RoundResult:
    disagree = [[8, 0, 0], [0, 8, 0], [0, 0, 8]] if good else [[4, 4, 0], [4, 2, 3], [0, 3, 4]]
    mask = OverlapStats.from_masks(np.eye(8, dtype=bool), np.eye(8, dtype=bool))
    sites = {
        "site-a": SiteStatistics(
            "site-a",
            {
                "grade": _grade([[8, 0, 0], [0, 8, 0], [0, 0, 8]]),
                "lesion": LabelStatistics("lesion", LabelKind.MASK, 1, overlap=mask),
            },
        ),
        "site-b": SiteStatistics("site-b", {"grade": _grade(disagree)}),
    }
    return RoundResult.from_sites(
        "chest",
        version,
        round_id,
        "2026-11-28T08:00:00Z",
        sites,
        diversity=DiversityHistograms({"modality": {"CT": 10.0, "MR": 2.0}}),
    )


@pytest.mark.parametrize("factory", [InMemoryRoundResults, "sql"])
def test_round_result_stores(coordinator: CoordinatorRuntime, factory: object) -> None:
    store = SqlRoundResults(coordinator.engine) if factory == "sql" else InMemoryRoundResults()
    result = _round("1.0", "r-1", good=False)
    store.add(result)
    with pytest.raises(RoundResultExistsError):
        store.add(result)
    [back] = store.results("chest")
    assert back.to_json() == result.to_json()
    assert store.results("other") == []


def test_calibration_flags_the_label_and_the_site(
    published: CoordinatorRuntime, uploads: dict
) -> None:
    for site, payload in uploads.items():
        published.calibration.store_upload(site, "chest-cal-1", payload)
    report = published.harmonization.report("chest")
    assert report.version == "1.0"
    assert report.flagged_labels == ["lesion"]
    assert report.sites_below_target == {"site-b": ["lesion"]}
    lesion = next(label for label in report.labels if label.label == "lesion")
    cross = lesion.cross_site
    assert cross is not None
    assert cross.sites["site-a"].within.value > 0.9
    assert cross.sites["site-b"].within.value < 0.8
    # the voxel majority of site-b's readers is close to site-a's
    assert cross.site_pairs[0][2].value > 0.8
    readers_b = cross.sites["site-b"].readers
    assert readers_b["r3"].value > readers_b["r1"].value
    assert readers_b["r3"].value > readers_b["r2"].value
    assert len(lesion.cases) == 4
    grade = next(label for label in report.labels if label.label == "grade")
    assert grade.cross_site is not None and grade.cross_site.all_readers.value == 1.0
    assert not grade.flagged
    finding = next(label for label in report.labels if label.label == "finding")
    assert finding.cross_site is not None and finding.cross_site.all_readers.value > 0.6
    data = report.to_json()
    assert data["labels"][0]["cross_site"]["sites"]["site-b"]["readers"]["r1"]["metric"] == (
        "pooled_dice"
    )
    assert "no statistics round" in " ".join(data["notes"])


def test_rounds_feed_within_site_figures_trend_and_diversity(
    published: CoordinatorRuntime,
) -> None:
    published.round_results.add(_round("1.0", "r-1", good=False))
    report = published.harmonization.report("chest")
    grade = next(label for label in report.labels if label.label == "grade")
    assert grade.flagged
    assert grade.within_site.metric == "kappa"
    assert grade.within_site.ci_low < grade.within_site.value < grade.within_site.ci_high
    assert [s["site"] for s in grade.sites_below_target] == ["site-b"]
    assert grade.categories[0]["categories"] in (["1", "2"], ["2", "3"])
    assert report.diversity == {"modality": {"CT": 10.0, "MR": 2.0}}
    lesion = next(label for label in report.labels if label.label == "lesion")
    assert lesion.within_site.value == 1.0

    revised = {**CHEST, "version": "1.1"}
    published.guidelines.publish(Guideline.model_validate(revised), published_by="e")
    published.round_results.add(_round("1.1", "r-2", good=True))
    newer = published.harmonization.report("chest")
    assert newer.version == "1.1"
    grade = next(label for label in newer.labels if label.label == "grade")
    assert not grade.flagged
    values = [point["within_site"]["value"] for point in grade.trend]
    assert [p["version"] for p in grade.trend] == ["1.0", "1.1"]
    assert values[0] < values[1] == 1.0
    csv_text = newer.to_csv()
    assert csv_text.splitlines()[0].startswith("guideline,version,label,scope")
    assert "within_site,site-b" in csv_text


def test_label_figure_of_nothing_is_undefined_with_a_note() -> None:
    label = Guideline.model_validate(CHEST).labels[0]
    figure = label_figure(None, label)
    assert not figure.defined and figure.note
    assert figure.to_json()["value"] is None


def test_a_secure_round_without_per_site_releases_says_so(published: CoordinatorRuntime) -> None:
    full = _round("1.0", "r-secure", good=False)
    only_a = RoundResult(
        full.guideline,
        full.version,
        full.round_id,
        full.completed_at,
        full.pooled,
        sites={"site-a": full.sites["site-a"]},
        participants=("site-a", "site-b"),
        noised=True,
        epsilon=8.7,
    )
    published.round_results.add(only_a)
    report = published.harmonization.report("chest")
    grade = next(label for label in report.labels if label.label == "grade")
    assert set(grade.within_by_site) == {"site-a"}  # nothing per site from site-b
    assert grade.sites_below_target == []
    assert any("per-site figures were not released by site-b" in n for n in report.notes)
