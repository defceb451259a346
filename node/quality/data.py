"""What the quality dashboard reads: plain records of one project's annotation work.

The dashboard never touches SQL rows directly: :mod:`node.quality.source` reads a
project's stored agreement figures, head annotations, consensus and task states
into these frozen records, and every figure is computed from them. Tests build
them by hand or through the annotation services.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from node.annotate.records import TaskSlice
from shared.schemas import Guideline, Label

__all__ = ["ConsensusLabel", "PairResult", "ProjectData", "ReaderAnnotation", "TaskState"]


@dataclass(frozen=True)
class PairResult:
    """One stored agreement figure of a label between two readers of a task.

    Attributes
    ----------
    task_id, round
        The task and the round whose completion measured it.
    label, kind, metric
        The label, its kind and the per-task metric (``dice``, ``f1``,
        ``agreement`` or ``weighted_agreement``).
    value
        The per-task figure, in [0, 1] (``None`` when it could not be measured).
    reader_a, reader_b
        The pair, in the order the figure was measured.
    detail
        The figure's sufficient detail: ``a``/``b`` (categories), ``voxels_a``/
        ``voxels_b`` (masks), ``matched``/``n_a``/``n_b`` (objects).
    guideline_version
        ``name@version`` the task was read under.
    measured_at
        When the round closed.
    """

    task_id: int
    round: int
    label: str
    kind: str
    metric: str
    value: float | None
    reader_a: str
    reader_b: str
    detail: Mapping[str, Any]
    guideline_version: str
    measured_at: datetime

    @property
    def both_empty(self) -> bool:
        """Whether neither reader marked anything (trivial agreement, no evidence on them)."""
        d = self.detail
        if self.kind == "classification":
            return d.get("a") is None and d.get("b") is None
        if self.kind == "mask":
            return not d.get("voxels_a") and not d.get("voxels_b")
        return not d.get("n_a") and not d.get("n_b")

    @property
    def pair(self) -> tuple[str, str]:
        """The two readers, sorted (pairs are unordered on the dashboard)."""
        a, b = sorted((self.reader_a, self.reader_b))
        return (a, b)


@dataclass(frozen=True)
class ReaderAnnotation:
    """One live annotation (head revision) of a reader."""

    annotation_id: int
    task_id: int
    reader: str
    label: str
    kind: str
    payload: Mapping[str, Any]
    updated_at: datetime

    @property
    def cannot_assess(self) -> bool:
        """Whether the reader marked the label 'cannot assess'."""
        return bool(self.payload.get("cannot_assess"))

    @property
    def confidence(self) -> int | None:
        """The reader's confidence, if given."""
        value = self.payload.get("confidence")
        return int(value) if isinstance(value, int | float) else None

    @property
    def geometry(self) -> Mapping[str, Any]:
        """The geometry (empty when 'cannot assess')."""
        geometry = self.payload.get("geometry")
        return geometry if isinstance(geometry, Mapping) else {}


@dataclass(frozen=True)
class TaskState:
    """A task's status and readers, and its slices (for sizes in mm and STAPLE)."""

    id: int
    status: str
    round: int
    readers: tuple[str, ...]
    slices: tuple[TaskSlice, ...]
    created_at: datetime
    completed_at: datetime | None

    @property
    def voxel_mm3(self) -> float:
        """Volume of one voxel in mm³ (1.0 per missing spacing)."""
        first = self.slices[0] if self.slices else None
        row, column = first.pixel_spacing if first and first.pixel_spacing else (1.0, 1.0)
        between = first.slice_thickness if first and first.slice_thickness else 1.0
        if len(self.slices) > 1 and self.slices[0].position and self.slices[1].position:
            a, b = self.slices[0].position, self.slices[1].position
            between = sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) ** 0.5 or between
        return float(row * column * between)


@dataclass(frozen=True)
class ConsensusLabel:
    """The consensus of one label in a task's latest round."""

    task_id: int
    label: str
    method: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class ProjectData:
    """Everything the dashboard needs of one project.

    Attributes
    ----------
    name
        The project.
    guideline
        The guideline version the project reads under (labels, targets).
    guidelines
        Every guideline version its figures were measured under, by ``name@version``.
    tasks
        Task states, by id.
    pairs
        Stored per-pair agreement figures of each task's latest completed round.
    annotations
        Live head annotations of every reader.
    consensus
        Consensus of each task's latest round, per label.
    """

    name: str
    guideline: Guideline
    guidelines: Mapping[str, Guideline] = field(default_factory=dict)
    tasks: Mapping[int, TaskState] = field(default_factory=dict)
    pairs: tuple[PairResult, ...] = ()
    annotations: tuple[ReaderAnnotation, ...] = ()
    consensus: tuple[ConsensusLabel, ...] = ()

    def label(self, name: str) -> Label | None:
        """The label ``name`` of the project's guideline (or of an older version)."""
        found = self.guideline.label(name)
        if found is not None:
            return found
        for guideline in self.guidelines.values():
            found = guideline.label(name)
            if found is not None:
                return found
        return None

    @property
    def readers(self) -> tuple[str, ...]:
        """Every reader of the project, sorted."""
        names = {r for t in self.tasks.values() for r in t.readers}
        names.update(a.reader for a in self.annotations)
        return tuple(sorted(names))
