"""The harmonization report: per label, how well sites agree, where, and what to revise.

:func:`build_report` takes a guideline version, the statistics-round results
(:class:`~shared.schemas.harmonization.RoundResult`) and the cross-site
calibration figures, and gives per label:

* ``within_site`` — pooled within-site agreement of the newest round of the
  version, with its interval, and per site where sites released their own;
* ``cross_site`` — agreement on the calibration cases (all readers, site
  pairs, per site and reader) from the newest calibration set of the version;
* ``sites_below_target`` — sites whose within-site (round) or calibration
  figures (within the site, or against the other sites) fall below the
  label's ``agreement_target``, with the reasons;
* ``trend`` — the within-site and cross-site figure of every guideline version;
* ``disagreement`` — the category pairs that disagree most (the pooled
  confusion matrix of the round, else of the calibration readers) and the
  calibration cases with the lowest agreement;
* ``flagged`` — whether the label falls below target and needs revision.

:class:`HarmonizationService` gathers the inputs from the coordinator's stores.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from coordinator.guidelines import GuidelineReleases, parse_version
from coordinator.harmonize.calibration import CalibrationSets
from coordinator.harmonize.crosssite import CrossSiteLabel, cross_site_label
from coordinator.harmonize.figures import AgreementFigure, disagreement_cells, label_figure
from coordinator.harmonize.rounds import RoundResultStore
from shared.schemas import Guideline, Label
from shared.schemas.harmonization import RoundResult

__all__ = [
    "CSV_COLUMNS",
    "HarmonizationReport",
    "HarmonizationService",
    "LabelReport",
    "build_report",
]


@dataclass(frozen=True)
class LabelReport:
    """Everything the report says about one label."""

    label: str
    kind: str
    target: float
    within_site: AgreementFigure
    within_by_site: dict[str, AgreementFigure]
    cross_site: CrossSiteLabel | None
    sites_below_target: list[dict[str, Any]]
    trend: list[dict[str, Any]]
    categories: list[dict[str, Any]]
    cases: list[dict[str, Any]]
    flagged: bool
    reasons: list[str]

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "label": self.label,
            "kind": self.kind,
            "target": self.target,
            "flagged": self.flagged,
            "reasons": self.reasons,
            "within_site": {
                "pooled": self.within_site.to_json(),
                "sites": {s: f.to_json() for s, f in sorted(self.within_by_site.items())},
            },
            "cross_site": None if self.cross_site is None else self.cross_site.to_json(),
            "sites_below_target": self.sites_below_target,
            "trend": self.trend,
            "disagreement": {"categories": self.categories, "cases": self.cases},
        }


@dataclass(frozen=True)
class HarmonizationReport:
    """The report of one guideline version."""

    guideline: str
    version: str
    labels: list[LabelReport]
    rounds: list[dict[str, Any]] = field(default_factory=list)
    calibration_sets: list[str] = field(default_factory=list)
    diversity: dict[str, dict[str, float]] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def flagged_labels(self) -> list[str]:
        """Labels below target, to revise."""
        return [label.label for label in self.labels if label.flagged]

    @property
    def sites_below_target(self) -> dict[str, list[str]]:
        """Site → the labels it falls below target on."""
        out: dict[str, list[str]] = {}
        for label in self.labels:
            for entry in label.sites_below_target:
                out.setdefault(entry["site"], []).append(label.label)
        return {site: sorted(labels) for site, labels in sorted(out.items())}

    def to_json(self) -> dict[str, Any]:
        """JSON form (the API's answer)."""
        return {
            "guideline": self.guideline,
            "version": self.version,
            "flagged_labels": self.flagged_labels,
            "sites_below_target": self.sites_below_target,
            "labels": [label.to_json() for label in self.labels],
            "rounds": self.rounds,
            "calibration_sets": self.calibration_sets,
            "diversity": self.diversity,
            "notes": self.notes,
        }

    def to_csv(self) -> str:
        """One row per label and scope (pooled, site, calibration figures)."""
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in _csv_rows(self):
            writer.writerow(row)
        return buffer.getvalue()


CSV_COLUMNS = [
    "guideline",
    "version",
    "label",
    "scope",
    "site",
    "reader",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "target",
    "below_target",
    "flagged",
]
"""Columns of :meth:`HarmonizationReport.to_csv`."""


def _csv_rows(report: HarmonizationReport) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def add(
        label: LabelReport, scope: str, figure: AgreementFigure, site: str = "", reader: str = ""
    ) -> None:
        data = figure.to_json()
        rows.append(
            {
                "guideline": report.guideline,
                "version": report.version,
                "label": label.label,
                "scope": scope,
                "site": site,
                "reader": reader,
                "metric": figure.metric,
                "value": "" if data["value"] is None else data["value"],
                "ci_low": "" if data["ci_low"] is None else data["ci_low"],
                "ci_high": "" if data["ci_high"] is None else data["ci_high"],
                "n": figure.n,
                "target": label.target,
                "below_target": figure.below(label.target),
                "flagged": label.flagged,
            }
        )

    for label in report.labels:
        add(label, "within_site", label.within_site)
        for site, figure in sorted(label.within_by_site.items()):
            add(label, "within_site", figure, site)
        cross = label.cross_site
        if cross is None:
            continue
        add(label, "calibration_all_readers", cross.all_readers)
        for a, b, figure in cross.site_pairs:
            add(label, "calibration_site_pair", figure, f"{a}|{b}")
        for site, entry in sorted(cross.sites.items()):
            add(label, "calibration_within_site", entry.within, site)
            add(label, "calibration_cross_site", entry.cross, site)
            for reader, figure in sorted(entry.readers.items()):
                add(label, "calibration_reader", figure, site, reader)
    return rows


def _newest(results: Sequence[RoundResult], version: str) -> RoundResult | None:
    matching = [r for r in results if r.version == version]
    return matching[-1] if matching else None


def _label_report(
    label: Label,
    version: str,
    results: Sequence[RoundResult],
    cross: Mapping[str, CrossSiteLabel],
    cross_by_version: Mapping[str, Mapping[str, CrossSiteLabel]],
) -> LabelReport:
    target = label.agreement_target
    newest = _newest(results, version)
    pooled_stats = None if newest is None else newest.pooled.get(label.name)
    within = label_figure(pooled_stats, label)
    by_site: dict[str, AgreementFigure] = {}
    if newest is not None:
        for site, stats in newest.sites.items():
            by_site[site] = label_figure(stats.labels.get(label.name), label)
    below: dict[str, list[str]] = {}
    for site, figure in by_site.items():
        if figure.below(target):
            below.setdefault(site, []).append(f"within-site {figure.metric} {figure.value:.3f}")
    calibration = cross.get(label.name)
    if calibration is not None:
        for site, entry in calibration.sites.items():
            if entry.within.below(target):
                below.setdefault(site, []).append(
                    f"calibration readers within the site {entry.within.metric} "
                    f"{entry.within.value:.3f}"
                )
            if entry.cross.below(target) and len(calibration.sites) > 1:
                below.setdefault(site, []).append(
                    f"calibration against the other sites {entry.cross.metric} "
                    f"{entry.cross.value:.3f}"
                )
    reasons = []
    if within.below(target):
        reasons.append(f"pooled within-site {within.metric} {within.value:.3f} < {target}")
    if calibration is not None and calibration.all_readers.below(target):
        figure = calibration.all_readers
        reasons.append(f"calibration all-reader {figure.metric} {figure.value:.3f} < {target}")
    trend = []
    versions = {r.version for r in results} | set(cross_by_version)
    for each in sorted(versions, key=parse_version):
        result = _newest(results, each)
        point: dict[str, Any] = {"version": each, "within_site": None, "cross_site": None}
        if result is not None and label.name in result.pooled:
            point["within_site"] = label_figure(result.pooled[label.name], label).to_json()
            point["round_id"] = result.round_id
        version_cross = cross_by_version.get(each, {}).get(label.name)
        if version_cross is not None:
            point["cross_site"] = version_cross.all_readers.to_json()
            point["set_id"] = version_cross.set_id
        trend.append(point)
    categories = disagreement_cells(pooled_stats)
    if not categories and calibration is not None:
        categories = calibration.categories
    cases = (
        []
        if calibration is None
        else [{"case": c, "value": round(v, 6)} for c, v in calibration.cases[:5]]
    )
    return LabelReport(
        label=label.name,
        kind=label.kind.value,
        target=target,
        within_site=within,
        within_by_site=by_site,
        cross_site=calibration,
        sites_below_target=[{"site": site, "reasons": why} for site, why in sorted(below.items())],
        trend=trend,
        categories=categories,
        cases=cases,
        flagged=bool(reasons),
        reasons=reasons,
    )


def build_report(
    guideline: Guideline,
    results: Sequence[RoundResult],
    cross_by_version: Mapping[str, Mapping[str, CrossSiteLabel]],
) -> HarmonizationReport:
    """The report of ``guideline`` (its labels and targets) from rounds and calibration.

    Parameters
    ----------
    guideline
        The guideline version reported on.
    results
        Statistics-round results of the guideline (any version), oldest first.
    cross_by_version
        Guideline version → label → cross-site calibration figures.
    """
    version = guideline.version
    cross = cross_by_version.get(version, {})
    newest = _newest(results, version)
    notes = []
    if newest is None:
        notes.append(
            f"no statistics round of {guideline.key} yet: within-site figures are empty; run one"
        )
    elif newest.noised:
        notes.append(
            "the round's statistics carry differential-privacy noise; intervals do not include it"
        )
    if newest is not None and newest.failed:
        notes.append(f"sites that did not answer the round: {', '.join(newest.failed)}")
    if newest is not None:
        withheld = sorted(set(newest.participants) - set(newest.sites))
        if withheld:
            notes.append(
                "per-site figures were not released by "
                f"{', '.join(withheld)} (their policy allows only the secure totals), so the "
                "within-site figures and sites below target cover "
                f"{', '.join(sorted(newest.sites)) or 'no site'} only"
            )
    if not cross:
        notes.append(f"no calibration annotations of {guideline.key} yet")
    return HarmonizationReport(
        guideline=guideline.name,
        version=version,
        labels=[
            _label_report(label, version, results, cross, cross_by_version)
            for label in guideline.labels
        ],
        rounds=[
            {
                "round_id": r.round_id,
                "version": r.version,
                "completed_at": r.completed_at,
                "participants": list(r.participants),
                "failed": list(r.failed),
                "noised": r.noised,
            }
            for r in results
        ],
        calibration_sets=sorted(
            {c.set_id for labels in cross_by_version.values() for c in labels.values()}
        ),
        diversity=None
        if newest is None or newest.diversity is None
        else newest.diversity.to_json(),
        notes=notes,
    )


class HarmonizationService:
    """Builds reports from the coordinator's guideline, calibration and round stores."""

    def __init__(
        self,
        guidelines: GuidelineReleases,
        calibration: CalibrationSets,
        rounds: RoundResultStore,
    ) -> None:
        self.guidelines = guidelines
        self.calibration = calibration
        self.rounds = rounds

    def report(self, name: str, version: str | None = None) -> HarmonizationReport:
        """The report of ``name@version`` (the newest published version by default).

        Raises
        ------
        NotFoundError
            No such guideline version is published.
        """
        if version is None:
            versions = self.guidelines.versions(name)
            version = versions[-1] if versions else ""
        guideline = self.guidelines.guideline(name, version)
        cross_by_version: dict[str, dict[str, CrossSiteLabel]] = {}
        for info in self.calibration.published(name):
            annotations = self.calibration.annotations(info.set_id)
            if not annotations:
                continue
            calibration = self.calibration.get(info.set_id)
            labels_of = self.guidelines.guideline(name, info.guideline_version)
            readers = self.calibration.readers(info.set_id)
            cross_by_version[info.guideline_version] = {
                label.name: cross_site_label(label, calibration, annotations, readers)
                for label in labels_of.labels
            }
        return build_report(guideline, self.rounds.results(name), cross_by_version)
