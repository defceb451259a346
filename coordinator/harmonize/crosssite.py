"""Cross-site agreement on calibration cases: the same images, read at every site.

For one label of a calibration set, from the annotations the sites uploaded
(raters are ``site/reader``):

* ``all_readers`` — every pair of raters, pooled over cases;
* ``site_pairs`` — each pair of sites, comparing their consensus per case
  (classification: the majority category of the site's readers, ties left
  out; mask: the voxel majority); for boxes, polygons, keypoints and lengths
  no consensus is formed and the pairs of readers across the two sites are
  pooled instead;
* per site: ``within`` (pairs of the site's own readers), ``cross`` (the
  site's consensus against the other sites' consensus), and per reader the
  reader against the other sites' consensus (or readers);
* ``cases`` — each case's agreement over all rater pairs, worst first.

Every figure is a :func:`~coordinator.harmonize.figures.label_figure` of summed
:class:`~shared.schemas.harmonization.LabelStatistics`, as for the rounds.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from coordinator.harmonize.calibration import CalibrationAnnotation
from coordinator.harmonize.figures import AgreementFigure, disagreement_cells, label_figure
from shared.agreement import (
    CoincidenceStats,
    ConfusionStats,
    DetectionStats,
    OverlapStats,
    match_boxes,
    match_keypoints,
    match_polygons,
)
from shared.calibration import CalibrationSet
from shared.formats import rle_decode
from shared.schemas import Label, LabelKind
from shared.schemas.harmonization import LabelStatistics

__all__ = ["CrossSiteLabel", "SiteCalibration", "cross_site_label"]

Rater = str  # "site/reader"
_DICE_BINS = 20


@dataclass(frozen=True)
class SiteCalibration:
    """One site's figures on the calibration cases."""

    site: str
    within: AgreementFigure
    cross: AgreementFigure
    readers: dict[str, AgreementFigure] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "site": self.site,
            "within": self.within.to_json(),
            "cross": self.cross.to_json(),
            "readers": {r: f.to_json() for r, f in sorted(self.readers.items())},
        }


@dataclass(frozen=True)
class CrossSiteLabel:
    """One label's cross-site agreement on one calibration set."""

    label: str
    set_id: str
    guideline_version: str
    all_readers: AgreementFigure
    site_pairs: list[tuple[str, str, AgreementFigure]]
    sites: dict[str, SiteCalibration]
    cases: list[tuple[str, float]]
    categories: list[dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "label": self.label,
            "set_id": self.set_id,
            "guideline_version": self.guideline_version,
            "all_readers": self.all_readers.to_json(),
            "site_pairs": [{"sites": [a, b], "figure": f.to_json()} for a, b, f in self.site_pairs],
            "sites": {s: v.to_json() for s, v in sorted(self.sites.items())},
            "cases": [{"case": c, "value": round(v, 6)} for c, v in self.cases],
            "categories": self.categories,
        }


def _site(rater: Rater) -> str:
    return rater.split("/", 1)[0]


class _Kind(ABC):
    """How one label kind turns two raters' annotations of a case into statistics."""

    def __init__(self, label: Label, calibration: CalibrationSet) -> None:
        self.label = label
        self.calibration = calibration

    @abstractmethod
    def pair(self, case: str, a: Any, b: Any) -> LabelStatistics:
        """The statistics of two raters' annotations of ``case``."""

    def consensus(self, case: str, values: Sequence[Any]) -> Any:
        return None

    def case_value(self, stats: LabelStatistics) -> float:
        figure = label_figure(stats, self.label)
        return figure.extra.get("percent_agreement", figure.value)


class _Classification(_Kind):
    def _stats(self, a: str | None, b: str | None) -> LabelStatistics:
        codes = self.label.category_codes
        counts = np.zeros((len(codes), len(codes)), dtype=np.int64)
        coincidence = None
        if a is not None and b is not None:
            i, j = codes.index(a), codes.index(b)
            counts[i, j] += 1
            data = np.asarray([[float(i)], [float(j)]])
            coincidence = CoincidenceStats.from_reliability_data(data, list(range(len(codes))))
        return LabelStatistics(
            self.label.name,
            LabelKind.CLASSIFICATION,
            1,
            confusion=ConfusionStats(codes, counts),
            coincidence=coincidence,
        )

    def pair(self, case: str, a: Any, b: Any) -> LabelStatistics:
        return self._stats(a, b)

    def consensus(self, case: str, values: Sequence[Any]) -> Any:
        votes = Counter(v for v in values if v is not None)
        if not votes:
            return None
        ranked = votes.most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            return None
        return ranked[0][0]


class _Mask(_Kind):
    def shape(self, case: str) -> tuple[int, int, int]:
        spec = self.calibration.case(case)
        return (spec.slices, spec.rows, spec.columns)

    def pair(self, case: str, a: Any, b: Any) -> LabelStatistics:
        stats = OverlapStats.from_masks(a, b, n_bins=_DICE_BINS)
        return LabelStatistics(self.label.name, LabelKind.MASK, 1, overlap=stats)

    def consensus(self, case: str, values: Sequence[Any]) -> Any:
        if not values:
            return None
        votes = np.sum(np.stack(values), axis=0)
        return votes * 2 > len(values)

    def case_value(self, stats: LabelStatistics) -> float:
        return label_figure(stats, self.label).value


class _Detection(_Kind):
    def _spacing(self, case: str) -> tuple[float, float, float]:
        geometry = self.calibration.case(case).phantom_spec().geometry
        return (geometry.slice_spacing_mm, geometry.pixel_spacing_mm, geometry.pixel_spacing_mm)

    def pair(self, case: str, a: Any, b: Any) -> LabelStatistics:
        kind = self.label.kind
        if kind is LabelKind.BOX:
            boxes = [
                [[g["x0"], g["y0"], g["slice"], g["x1"], g["y1"], g["slice"] + 1] for g in side]
                for side in (a, b)
            ]
            result = match_boxes(
                np.reshape(boxes[0], (-1, 6)), np.reshape(boxes[1], (-1, 6)), self.label.match_iou
            )
            stats = DetectionStats.from_match(result)
        elif kind is LabelKind.POLYGON:
            stats = self._polygons(a, b)
        else:
            points = [[_point(g) for g in side] for side in (a, b)]
            result = match_keypoints(
                np.reshape(points[0], (-1, 3)),
                np.reshape(points[1], (-1, 3)),
                self._spacing(case),
                self.label.match_distance_mm,
            )
            stats = DetectionStats.from_match(result)
        return LabelStatistics(self.label.name, kind, 1, detection=stats)

    def _polygons(self, a: Sequence[Any], b: Sequence[Any]) -> DetectionStats:
        n_a, n_b, matched, score = len(a), len(b), 0, 0.0
        for index in {g["slice"] for g in (*a, *b)}:
            pa = [np.asarray(g["points"], dtype=float) for g in a if g["slice"] == index]
            pb = [np.asarray(g["points"], dtype=float) for g in b if g["slice"] == index]
            if pa and pb:
                result = match_polygons(pa, pb, self.label.match_iou)
                matched += result.n_matched
                score += float(result.scores.sum())
        f1 = 1.0 if n_a + n_b == 0 else 2.0 * matched / (n_a + n_b)
        return DetectionStats("iou", 1, n_a, n_b, matched, score, f1)

    def case_value(self, stats: LabelStatistics) -> float:
        return label_figure(stats, self.label).value


def _point(geometry: Mapping[str, Any]) -> list[float]:
    if "x" in geometry:
        x, y = float(geometry["x"]), float(geometry["y"])
    else:
        x = (float(geometry["x0"]) + float(geometry["x1"])) / 2.0
        y = (float(geometry["y0"]) + float(geometry["y1"])) / 2.0
    return [float(geometry["slice"]), y, x]


def _decode_mask(shape: tuple[int, int, int], payloads: Iterable[Mapping[str, Any]]) -> Any:
    volume: npt.NDArray[np.bool_] = np.zeros(shape, dtype=bool)
    for payload in payloads:
        geometry = payload.get("geometry") or {}
        for key, rle in dict(geometry.get("slices", {})).items():
            index = int(key)
            if 0 <= index < shape[0] and list(rle.get("size", [])) == [shape[1], shape[2]]:
                volume[index] |= rle_decode(rle)
    return volume


def _values(
    kind: _Kind,
    label: Label,
    annotations: Sequence[CalibrationAnnotation],
    readers: Mapping[str, Iterable[Rater]],
) -> dict[str, dict[Rater, Any]]:
    """Case → rater → the rater's reading of the label (every rater of the case appears)."""
    raters_of: dict[str, set[Rater]] = {case: set(raters) for case, raters in readers.items()}
    mine: dict[tuple[str, Rater], list[Mapping[str, Any]]] = {}
    for item in annotations:
        raters_of.setdefault(item.case_id, set()).add(item.rater)
        if item.label == label.name and not item.payload.get("cannot_assess"):
            mine.setdefault((item.case_id, item.rater), []).append(item.payload)
    out: dict[str, dict[Rater, Any]] = {}
    for case, raters in sorted(raters_of.items()):
        readings: dict[Rater, Any] = {}
        for rater in sorted(raters):
            payloads = mine.get((case, rater), [])
            if label.kind is LabelKind.CLASSIFICATION:
                readings[rater] = payloads[0]["geometry"]["value"] if payloads else None
            elif isinstance(kind, _Mask):
                readings[rater] = _decode_mask(kind.shape(case), payloads)
            else:
                readings[rater] = [p["geometry"] for p in payloads]
        out[case] = readings
    return out


def _empty(label: Label) -> LabelStatistics:
    return LabelStatistics(label.name, label.kind, 0)


PairsOf = Callable[[str, dict[Rater, Any]], list[tuple[Any, Any]]]


def _is(site: str) -> Callable[[str], bool]:
    return lambda other: other == site


def _is_not(site: str) -> Callable[[str], bool]:
    return lambda other: other != site


class _Pairing:
    """The pairs of readings each figure pools, for one label kind."""

    def __init__(self, kind: _Kind) -> None:
        self.kind = kind
        self.consensus_based = not isinstance(kind, _Detection)

    def _consensus(self, case: str, values: dict[Rater, Any], keep: Callable[[str], bool]) -> Any:
        return self.kind.consensus(case, [v for r, v in values.items() if keep(_site(r))])

    def all_pairs(self) -> PairsOf:
        return lambda _case, values: list(itertools.combinations(values.values(), 2))

    def within(self, site: str) -> PairsOf:
        keep = _is(site)
        return lambda _case, values: list(
            itertools.combinations([v for r, v in values.items() if keep(_site(r))], 2)
        )

    def between(self, first: Callable[[str], bool], second: Callable[[str], bool]) -> PairsOf:
        """Consensus against consensus, or (detection kinds) reader pairs across the groups."""
        if self.consensus_based:
            return lambda case, values: [
                (self._consensus(case, values, first), self._consensus(case, values, second))
            ]
        return lambda _case, values: [
            (values[x], values[y])
            for x in values
            for y in values
            if first(_site(x)) and second(_site(y))
        ]

    def reader(self, rater: Rater) -> PairsOf:
        """One reader against the other sites' consensus (or each of their readers)."""
        others = _is_not(_site(rater))

        def pairs(case: str, values: dict[Rater, Any]) -> list[tuple[Any, Any]]:
            if rater not in values:
                return []
            if self.consensus_based:
                return [(values[rater], self._consensus(case, values, others))]
            return [(values[rater], values[y]) for y in values if others(_site(y))]

        return pairs


def cross_site_label(
    label: Label,
    calibration: CalibrationSet,
    annotations: Sequence[CalibrationAnnotation],
    readers: Mapping[str, Iterable[Rater]] | None = None,
) -> CrossSiteLabel:
    """The cross-site agreement of ``label`` on one calibration set.

    ``readers`` (case → ``site/reader`` raters who completed it) adds the raters
    who read a case but annotated nothing on it: they found nothing.
    """
    kind: _Kind
    if label.kind is LabelKind.CLASSIFICATION:
        kind = _Classification(label, calibration)
    elif label.kind is LabelKind.MASK:
        kind = _Mask(label, calibration)
    else:
        kind = _Detection(label, calibration)
    readings = _values(kind, label, annotations, readers or {})
    sites = sorted({_site(r) for case in readings.values() for r in case})
    pairing = _Pairing(kind)

    def figure(pairs: PairsOf) -> AgreementFigure:
        return label_figure(pooled(pairs), label)

    def pooled(pairs: PairsOf) -> LabelStatistics:
        total = _empty(label)
        for case, values in readings.items():
            for a, b in pairs(case, values):
                if a is not None and b is not None:
                    total = total + kind.pair(case, a, b)
        return total

    all_stats = pooled(pairing.all_pairs())
    site_pairs = [
        (a, b, figure(pairing.between(_is(a), _is(b)))) for a, b in itertools.combinations(sites, 2)
    ]
    per_site: dict[str, SiteCalibration] = {}
    for site in sites:
        raters = sorted({r for v in readings.values() for r in v if _site(r) == site})
        per_site[site] = SiteCalibration(
            site,
            figure(pairing.within(site)),
            figure(pairing.between(_is(site), _is_not(site))),
            {rater.split("/", 1)[1]: figure(pairing.reader(rater)) for rater in raters},
        )
    cases = []
    for case, values in readings.items():
        stats = _empty(label)
        for a, b in itertools.combinations(values.values(), 2):
            if a is not None and b is not None:
                stats = stats + kind.pair(case, a, b)
        if not stats.empty:
            cases.append((case, float(kind.case_value(stats))))
    cases.sort(key=lambda item: (item[1], item[0]))
    return CrossSiteLabel(
        label.name,
        calibration.set_id,
        calibration.guideline_version,
        label_figure(all_stats, label),
        site_pairs,
        per_site,
        cases,
        disagreement_cells(all_stats),
    )
