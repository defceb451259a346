"""What a federated statistics round hands the harmonization report.

The round (``coordinator/serverapp`` + ``node/stats``) collects, per label of
one guideline version, the summable sufficient statistics of
:mod:`shared.agreement` — pooled over every site under secure aggregation, and
per site where a site's policy releases them (noised, charged to its budget).
It returns them as a :class:`RoundResult`; the report
(:mod:`coordinator.harmonize`) takes a list of them and never sees a case.

::

    RoundResult(guideline, version, round_id, completed_at,
                pooled={label: LabelStatistics},          # the noised totals
                sites={site: SiteStatistics},             # per-site releases, may be {}
                participants=(site, ...), failed=(site, ...),
                noised=True, diversity=DiversityHistograms | None)

    LabelStatistics(label, kind, tasks,
                    confusion=ConfusionStats | None,      # reader pairs, guideline category order
                    coincidence=CoincidenceStats | None,  # one unit per task, value domain 0..k-1
                    overlap=OverlapStats | None,          # masks, label 1
                    detection=DetectionStats | None)      # boxes, polygons, keypoints, lengths

:class:`LabelStatistics` adds with ``+`` (and ``sum()``), so pooled figures are
the sum of the sites' statistics. Everything serializes to JSON-safe data with
``to_json()`` / ``from_json()`` for storage and transport.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np

from shared.agreement import CoincidenceStats, ConfusionStats, DetectionStats, OverlapStats
from shared.agreement.summable import Summable
from shared.errors import InvalidInputError
from shared.schemas.guideline import LabelKind

__all__ = [
    "DiversityHistograms",
    "LabelStatistics",
    "RoundResult",
    "RoundResultError",
    "SiteStatistics",
]

_STATS: Mapping[str, Any] = {
    "confusion": ConfusionStats,
    "coincidence": CoincidenceStats,
    "overlap": OverlapStats,
    "detection": DetectionStats,
}


class RoundResultError(InvalidInputError):
    """Round statistics that cannot be combined or read back."""


def _add(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _arrays_to_json(arrays: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in arrays.items():
        array = np.asarray(value)
        out[key] = array.tolist()
    return out


def _arrays_from_json(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: np.asarray(value) for key, value in data.items()}


@dataclass(frozen=True)
class LabelStatistics(Summable):
    """Summable agreement statistics of one label (over tasks, at one site or many).

    Attributes
    ----------
    label
        The guideline label's name.
    kind
        Its :class:`~shared.schemas.LabelKind`; says which statistic is set.
    tasks
        Tasks with at least one comparable reader pair.
    confusion
        Classification: reader-pair confusion counts over the label's category
        codes in guideline order (Cohen's kappa; the disagreement matrix).
    coincidence
        Classification: Krippendorff coincidences, one unit per task, values
        ``0..k-1`` (the category's index in guideline order).
    overlap
        Mask: overlap sums under label ``1`` (pooled Dice).
    detection
        Box, polygon, keypoint and length: matched-object counts (pooled F1).
    """

    label: str
    kind: LabelKind
    tasks: int = 0
    confusion: ConfusionStats | None = None
    coincidence: CoincidenceStats | None = None
    overlap: OverlapStats | None = None
    detection: DetectionStats | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", LabelKind(self.kind))
        if self.tasks < 0:
            raise RoundResultError(f"label {self.label!r}: tasks must be >= 0, got {self.tasks}")

    def __add__(self, other: object) -> Self:
        if not isinstance(other, LabelStatistics):
            return NotImplemented
        if (other.label, other.kind) != (self.label, self.kind):
            raise RoundResultError(
                f"cannot add statistics of {other.label!r} ({other.kind}) to {self.label!r} "
                f"({self.kind}); add each label's statistics to its own"
            )
        return type(self)(
            self.label,
            self.kind,
            self.tasks + other.tasks,
            _add(self.confusion, other.confusion),
            _add(self.coincidence, other.coincidence),
            _add(self.overlap, other.overlap),
            _add(self.detection, other.detection),
        )

    @property
    def empty(self) -> bool:
        """Whether no statistic was collected."""
        return all(getattr(self, name) is None for name in _STATS)

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form (statistics as their ``to_arrays()`` lists)."""
        data: dict[str, Any] = {"label": self.label, "kind": self.kind.value, "tasks": self.tasks}
        for name in _STATS:
            stats = getattr(self, name)
            data[name] = None if stats is None else _arrays_to_json(stats.to_arrays())
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LabelStatistics:
        """Read back :meth:`to_json` output."""
        try:
            values: dict[str, Any] = {}
            for name, stats_type in _STATS.items():
                raw = data.get(name)
                values[name] = (
                    None if raw is None else stats_type.from_arrays(_arrays_from_json(raw))
                )
            return cls(str(data["label"]), LabelKind(data["kind"]), int(data["tasks"]), **values)
        except (KeyError, TypeError, ValueError) as exc:
            raise RoundResultError(f"label statistics cannot be read back: {exc}") from None


@dataclass(frozen=True)
class SiteStatistics:
    """One site's per-label statistics (a per-site DP release, or a calibration tally)."""

    site: str
    labels: Mapping[str, LabelStatistics] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "site": self.site,
            "labels": {name: stats.to_json() for name, stats in sorted(self.labels.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SiteStatistics:
        """Read back :meth:`to_json` output."""
        labels = {
            str(name): LabelStatistics.from_json(stats)
            for name, stats in dict(data.get("labels", {})).items()
        }
        return cls(str(data["site"]), labels)


@dataclass(frozen=True)
class DiversityHistograms:
    """Pooled dataset-diversity histograms: name → bin → (noised) count.

    Names follow the ``diversity_statistics`` egress kind: ``modality``,
    ``manufacturer``, ``age_years``, ``sex``, ``slice_thickness_mm``,
    ``label_prevalence``.
    """

    histograms: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, dict[str, float]]:
        """JSON-safe form."""
        return {
            name: {str(k): float(v) for k, v in bins.items()}
            for name, bins in sorted(self.histograms.items())
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DiversityHistograms:
        """Read back :meth:`to_json` output."""
        return cls({str(n): {str(k): float(v) for k, v in b.items()} for n, b in data.items()})


@dataclass(frozen=True)
class RoundResult:
    """The outcome of one federated agreement-statistics round for one guideline version.

    Attributes
    ----------
    guideline, version
        The guideline version whose labels were measured.
    round_id
        The round's identifier (as ledgered by the nodes).
    completed_at
        ISO 8601 time the round completed.
    pooled
        Label → statistics summed over the participating sites (noised totals).
    sites
        Site → its own statistics, only for sites whose policy releases them.
    participants, failed
        Sites that answered, and sites that were asked but did not.
    noised
        Whether the statistics carry DP noise (confidence intervals then
        understate the uncertainty; the report says so).
    epsilon
        The per-site epsilon spent, when noised.
    diversity
        Pooled diversity histograms, when the round asked for them.
    """

    guideline: str
    version: str
    round_id: str
    completed_at: str
    pooled: Mapping[str, LabelStatistics]
    sites: Mapping[str, SiteStatistics] = field(default_factory=dict)
    participants: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    noised: bool = False
    epsilon: float | None = None
    diversity: DiversityHistograms | None = None

    def __post_init__(self) -> None:
        if self.epsilon is not None and not (math.isfinite(self.epsilon) and self.epsilon > 0):
            raise RoundResultError(f"epsilon must be a positive number, got {self.epsilon!r}")

    @classmethod
    def from_sites(
        cls,
        guideline: str,
        version: str,
        round_id: str,
        completed_at: str,
        sites: Mapping[str, SiteStatistics],
        **extra: Any,
    ) -> RoundResult:
        """A result whose pooled statistics are the sum of ``sites`` (no secure aggregation)."""
        pooled: dict[str, LabelStatistics] = {}
        for site in sites.values():
            for name, stats in site.labels.items():
                pooled[name] = pooled[name] + stats if name in pooled else stats
        extra.setdefault("participants", tuple(sorted(sites)))
        return cls(guideline, version, round_id, completed_at, pooled, dict(sites), **extra)

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "guideline": self.guideline,
            "version": self.version,
            "round_id": self.round_id,
            "completed_at": self.completed_at,
            "pooled": {name: s.to_json() for name, s in sorted(self.pooled.items())},
            "sites": {name: s.to_json() for name, s in sorted(self.sites.items())},
            "participants": list(self.participants),
            "failed": list(self.failed),
            "noised": self.noised,
            "epsilon": self.epsilon,
            "diversity": None if self.diversity is None else self.diversity.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RoundResult:
        """Read back :meth:`to_json` output."""
        try:
            diversity = data.get("diversity")
            return cls(
                guideline=str(data["guideline"]),
                version=str(data["version"]),
                round_id=str(data["round_id"]),
                completed_at=str(data["completed_at"]),
                pooled={
                    str(k): LabelStatistics.from_json(v) for k, v in dict(data["pooled"]).items()
                },
                sites={
                    str(k): SiteStatistics.from_json(v)
                    for k, v in dict(data.get("sites", {})).items()
                },
                participants=tuple(data.get("participants", ())),
                failed=tuple(data.get("failed", ())),
                noised=bool(data.get("noised", False)),
                epsilon=None if data.get("epsilon") is None else float(data["epsilon"]),
                diversity=None if diversity is None else DiversityHistograms.from_json(diversity),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise RoundResultError(f"round result cannot be read back: {exc}") from None
