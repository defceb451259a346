"""How readers received a project's AI drafts: acceptance rate and edit size per model version.

Each (proposal, reader) pair of a task's current drafts counts once:
``accepted`` (kept unchanged), ``edited`` (kept after changes), ``rejected``,
``ignored`` (the reader completed the task without deciding) or ``pending``.
The **edit Dice** compares the proposal with the reader's *final* annotation —
its head revision now, so an accepted draft changed later counts as edited
with that later Dice, and one deleted later counts as ``discarded``. Rates
are over decided pairs (accepted + edited + rejected + discarded).
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from node.annotate.records import ReaderStatus, TaskSlice
from node.annotate.unit_of_work import UnitOfWork
from node.assist.geometry import edit_overlap
from node.assist.project_settings import project_row, settings_of
from node.assist.records import ModelRef
from node.assist.tables import ProposalRow, ResolutionRow, RunRow
from node.store.annotation_tables import (
    AnnotationRevisionRow,
    AnnotationRow,
    TaskReaderRow,
    TaskRow,
)

__all__ = ["DICE_BINS", "ModelTracking", "TrackingService"]

DICE_BINS = tuple(i / 10 for i in range(11))
"""Edges of the edit-Dice histogram: [0, 0.1), ..., [0.9, 1.0), and 1.0 (unchanged) apart."""


def _histogram(values: Iterable[float]) -> list[dict[str, Any]]:
    counts = [0] * 11
    for value in values:
        counts[10 if value >= 1.0 else min(9, int(value * 10))] += 1
    bins = [{"from": DICE_BINS[i], "to": DICE_BINS[i + 1], "count": counts[i]} for i in range(10)]
    bins.append({"from": 1.0, "to": 1.0, "count": counts[10]})
    return bins


@dataclass
class ModelTracking:
    """The figures of one model version (optionally of one label)."""

    model: ModelRef
    label: str | None = None
    accepted: int = 0
    edited: int = 0
    rejected: int = 0
    discarded: int = 0
    ignored: int = 0
    pending: int = 0
    dice: list[float] = field(default_factory=list)

    @property
    def decided(self) -> int:
        """Pairs a reader decided (accepted, edited, rejected, or kept then deleted)."""
        return self.accepted + self.edited + self.rejected + self.discarded

    def _rate(self, n: int) -> float | None:
        return n / self.decided if self.decided else None

    def to_json(self) -> dict[str, Any]:
        """JSON form with the rates and the edit-Dice summary and histogram."""
        return {
            "model": self.model.to_json(),
            "model_key": self.model.key,
            "label": self.label,
            "accepted": self.accepted,
            "edited": self.edited,
            "rejected": self.rejected,
            "discarded": self.discarded,
            "ignored": self.ignored,
            "pending": self.pending,
            "decided": self.decided,
            "acceptance_rate": self._rate(self.accepted),
            "kept_rate": self._rate(self.accepted + self.edited),
            "rejection_rate": self._rate(self.rejected),
            "edit_dice_mean": statistics.fmean(self.dice) if self.dice else None,
            "edit_dice_median": statistics.median(self.dice) if self.dice else None,
            "edit_dice_n": len(self.dice),
            "edit_dice_histogram": _histogram(self.dice),
        }


class TrackingService:
    """Computes a project's AI-draft figures from the proposals, resolutions and annotations."""

    def __init__(self, work: UnitOfWork) -> None:
        self._work = work

    def project(self, name: str) -> dict[str, Any]:
        """Per model version, and per model version and label, for the project ``name``."""
        with self._work.read() as session:
            project = project_row(session, name)
            enabled = settings_of(session, project).preannotation
            tasks = {
                t.id: t
                for t in session.execute(select(TaskRow).where(TaskRow.project_id == project.id))
                .scalars()
                .all()
            }
            runs = {
                r.id: r
                for r in session.execute(select(RunRow).where(RunRow.project_id == project.id))
                .scalars()
                .all()
            }
            proposals = (
                session.execute(
                    select(ProposalRow)
                    .where(ProposalRow.run_id.in_(list(runs)))
                    .order_by(ProposalRow.id)
                )
                .scalars()
                .all()
            )
            current: dict[int, int] = {}
            for p in proposals:
                current[p.task_id] = max(current.get(p.task_id, 0), p.run_id)
            resolutions = {
                (r.proposal_id, r.reader): r
                for r in session.execute(
                    select(ResolutionRow).where(
                        ResolutionRow.proposal_id.in_([p.id for p in proposals])
                    )
                ).scalars()
            }
            parts: dict[int, list[TaskReaderRow]] = defaultdict(list)
            for part in session.execute(
                select(TaskReaderRow).where(TaskReaderRow.task_id.in_(list(tasks)))
            ).scalars():
                parts[part.task_id].append(part)
            finals = self._finals(session, [r.annotation_id for r in resolutions.values()])
            overall: dict[str, ModelTracking] = {}
            by_label: dict[tuple[str, str], ModelTracking] = {}
            for p in proposals:
                run = runs[p.run_id]
                model = ModelRef(run.model_name, run.model_version, run.model_sha256)
                rows = (
                    overall.setdefault(model.key, ModelTracking(model)),
                    by_label.setdefault((model.key, p.label), ModelTracking(model, p.label)),
                )
                slices = tuple(TaskSlice.from_json(s) for s in json.loads(tasks[p.task_id].slices))
                for part in parts[p.task_id]:
                    outcome, dice = self._outcome(
                        p, resolutions.get((p.id, part.username)), finals, slices
                    )
                    if outcome is None:
                        if p.run_id != current[p.task_id] or not enabled:
                            continue  # superseded, or never shown
                        outcome = "ignored" if part.status == ReaderStatus.DONE else "pending"
                    for row in rows:
                        setattr(row, outcome, getattr(row, outcome) + 1)
                        if dice is not None:
                            row.dice.append(dice)
        return {
            "project": project.name,
            "preannotation": enabled,
            "models": [t.to_json() for t in overall.values()],
            "labels": [t.to_json() for t in by_label.values()],
        }

    @staticmethod
    def _finals(
        session: Any, annotation_ids: Iterable[int | None]
    ) -> dict[int, tuple[int, bool, dict[str, Any]]]:
        """Annotation id → (head revision, deleted, head geometry)."""
        ids = [i for i in annotation_ids if i is not None]
        if not ids:
            return {}
        rows = session.execute(
            select(AnnotationRow, AnnotationRevisionRow.payload)
            .join(
                AnnotationRevisionRow,
                (AnnotationRevisionRow.annotation_id == AnnotationRow.id)
                & (AnnotationRevisionRow.revision == AnnotationRow.head_revision),
            )
            .where(AnnotationRow.id.in_(ids))
        )
        return {
            a.id: (a.head_revision, a.deleted, json.loads(payload).get("geometry", {}))
            for a, payload in rows
        }

    @staticmethod
    def _outcome(
        proposal: ProposalRow,
        resolution: ResolutionRow | None,
        finals: dict[int, tuple[int, bool, dict[str, Any]]],
        slices: tuple[TaskSlice, ...],
    ) -> tuple[str | None, float | None]:
        if resolution is None:
            return None, None
        if resolution.outcome == "rejected" or resolution.annotation_id is None:
            return "rejected", None
        head, deleted, geometry = finals[resolution.annotation_id]
        if deleted:
            return "discarded", None
        if head == resolution.revision:
            return resolution.outcome, resolution.dice
        proposed = json.loads(proposal.payload)["geometry"]
        dice, _iou = edit_overlap(proposal.kind, proposed, geometry, slices)
        return ("accepted" if dice == 1.0 else "edited"), dice
