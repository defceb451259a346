"""Running a model over a project's open tasks: proposals, ranking, worklist priority.

One :meth:`AssistRunner.run` keeps one loaded :class:`~node.assist.predictor.Predictor`
for the whole run and goes task by task, each task in its own transaction (a
crash leaves whole tasks done, never half a task):

1. the task's volume in its slice order (:func:`~node.assist.volumes.task_volume`);
2. the model's probabilities, then the task's uncertainty and predicted
   disagreement (:mod:`node.assist.ranking`), stored as its score;
3. proposals (:func:`~node.assist.geometry.proposals_from`), each checked by
   the same rules as a reader's save, stored only while nobody has annotated
   the task yet ("studies not yet annotated");
4. with the project's ``active_learning`` on, the task's priority becomes the
   score's (highest first in every reader's worklist).

Tasks this model version has already scored are skipped unless ``refresh``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select

from node.annotate.guidelines import GuidelineRegistry
from node.annotate.records import TaskSlice, TaskStatus
from node.annotate.unit_of_work import UnitOfWork
from node.annotate.validation import check_annotation, parse_payload
from node.assist.errors import ModelMismatchError
from node.assist.geometry import DraftPayload, ProposalOptions, proposals_from
from node.assist.predictor import ModelOutput, Predictor
from node.assist.project_settings import project_row, settings_of
from node.assist.ranking import (
    LabelFigures,
    RankingWeights,
    class_disagreement,
    class_uncertainty,
    mask_disagreement,
    mask_uncertainty,
    score_task,
)
from node.assist.records import ModelRef, RunRecord, TaskScore
from node.assist.tables import (
    AssistSettingsRow,
    ProposalRow,
    ResolutionRow,
    RunRow,
    ScoreRow,
)
from node.assist.volumes import task_volume
from node.errors import NodeError, ValidationFailedError
from node.store import InstanceStore
from node.store.annotation_tables import AnnotationRow, ProjectRow, TaskRow
from shared.schemas import Guideline, LabelKind

__all__ = ["AssistRunner", "RunOptions", "RunSummary", "label_figures"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    """How a run turns probabilities into proposals and priorities."""

    proposals: ProposalOptions = field(default_factory=ProposalOptions)
    weights: RankingWeights = field(default_factory=RankingWeights)
    refresh: bool = False
    limit: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form, stored with the run."""
        return {
            "threshold": self.proposals.threshold,
            "min_voxels": self.proposals.min_voxels,
            "max_per_label": self.proposals.max_per_label,
            "boxes_from": dict(self.proposals.boxes_from or {}),
            "weights": asdict(self.weights),
            "refresh": self.refresh,
            "limit": self.limit,
        }


@dataclass(frozen=True)
class RunSummary:
    """What a run did."""

    run: RunRecord
    scores: tuple[TaskScore, ...]
    proposals: int
    skipped: dict[str, int]
    prioritised: bool

    def to_json(self) -> dict[str, Any]:
        """JSON form (the CLI prints it)."""
        return {
            "run": self.run.to_json(),
            "proposals": self.proposals,
            "skipped": self.skipped,
            "prioritised": self.prioritised,
            "scores": [s.to_json() for s in self.scores],
        }


def label_figures(output: ModelOutput, guideline: Guideline) -> list[LabelFigures]:
    """Uncertainty and predicted disagreement of every guideline label the model predicted."""
    method = "mutual_information" if output.mc_passes > 1 else "entropy"
    figures = []
    for name, probability in output.masks.items():
        label = guideline.label(name)
        if label is None or label.kind is not LabelKind.MASK:
            continue
        figures.append(
            LabelFigures(
                name,
                "mask",
                mask_uncertainty(probability, output.mask_mean_entropy.get(name)),
                mask_disagreement(probability),
                method,
            )
        )
    for name, probabilities in output.classes.items():
        label = guideline.label(name)
        if label is None or label.kind is not LabelKind.CLASSIFICATION:
            continue
        p = [float(probabilities.get(code, 0.0)) for code in label.category_codes]
        if sum(p) <= 0:
            continue
        figures.append(
            LabelFigures(
                name,
                "classification",
                class_uncertainty(p, output.class_mean_entropy.get(name)),
                class_disagreement(p),
                method,
            )
        )
    return figures


def _check_output(output: ModelOutput, shape: tuple[int, ...], model: ModelRef) -> None:
    for name, probability in output.masks.items():
        if tuple(np.shape(probability)) != shape:
            raise ModelMismatchError(
                f"model {model.key} returned probabilities of shape {np.shape(probability)} "
                f"for {name!r} on a task of shape {shape}; the predictor must resample to "
                "the series' matrix"
            )


class AssistRunner:
    """Runs a predictor over a project's open tasks."""

    def __init__(
        self, work: UnitOfWork, store: InstanceStore, guidelines: GuidelineRegistry
    ) -> None:
        self._work = work
        self._store = store
        self._guidelines = guidelines

    def _plan(
        self, project: str, model: ModelRef, options: RunOptions
    ) -> tuple[int, Guideline, list[int], dict[str, int]]:
        with self._work.read() as session:
            row = project_row(session, project)
            guideline = self._guidelines.by_id(session, row.guideline_version_id).guideline
            open_tasks = list(
                session.execute(
                    select(TaskRow.id)
                    .where(TaskRow.project_id == row.id, TaskRow.status == TaskStatus.OPEN.value)
                    .order_by(TaskRow.id)
                ).scalars()
            )
            done: set[int] = set()
            if not options.refresh:
                done = set(
                    session.execute(
                        select(ScoreRow.task_id)
                        .join(RunRow, RunRow.id == ScoreRow.run_id)
                        .where(
                            RunRow.project_id == row.id,
                            RunRow.model_sha256 == model.sha256,
                            ScoreRow.task_id.in_(open_tasks),
                        )
                    ).scalars()
                )
            todo = [t for t in open_tasks if t not in done]
            skipped = {"already_scored": len(open_tasks) - len(todo)}
            if options.limit is not None and len(todo) > options.limit:
                skipped["over_limit"] = len(todo) - options.limit
                todo = todo[: options.limit]
            return row.id, guideline, todo, skipped

    def pending(self, project: str, model: ModelRef) -> int:
        """How many open tasks of ``project`` this model version has not scored yet."""
        return len(self._plan(project, model, RunOptions())[2])

    def projects_with_drafts(self) -> list[tuple[str, str]]:
        """``(project, guideline name)`` of every project whose drafts are on."""
        with self._work.read() as session:
            rows = session.execute(
                select(ProjectRow.name, ProjectRow.guideline_version_id)
                .join(AssistSettingsRow, AssistSettingsRow.project_id == ProjectRow.id)
                .where(AssistSettingsRow.preannotation.is_(True))
                .order_by(ProjectRow.id)
            ).all()
            return [
                (name, self._guidelines.by_id(session, version_id).guideline.name)
                for name, version_id in rows
            ]

    def run(
        self,
        project: str,
        predictor: Predictor,
        *,
        actor: str,
        options: RunOptions | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> RunSummary:
        """Predict every open task of ``project`` not yet scored by this model version.

        Raises
        ------
        ModelMismatchError
            When the model predicts none of the project guideline's labels, or
            returns probabilities that do not fit a task's matrix.
        """
        options = options or RunOptions()
        model = predictor.model
        project_id, guideline, todo, skipped = self._plan(project, model, options)
        known = [name for name in predictor.labels if guideline.label(name) is not None]
        if not known:
            raise ModelMismatchError(
                f"model {model.key} predicts {', '.join(predictor.labels) or 'no label'}, none "
                f"of which is a label of guideline {guideline.key}; pick a model trained for it"
            )
        run_id = self._start(project_id, model, options, actor, len(todo))
        scores: list[TaskScore] = []
        proposals = 0
        skipped.setdefault("unreadable", 0)
        prioritised = False
        try:
            for number, task_id in enumerate(todo, start=1):
                try:
                    score, stored, prioritised = self._task(
                        run_id, task_id, guideline, predictor, options
                    )
                except ModelMismatchError:
                    raise
                except NodeError as exc:  # an unreadable series: skip it, say why
                    _log.warning("task %d skipped: %s", task_id, exc)
                    skipped["unreadable"] += 1
                    continue
                scores.append(score)
                proposals += stored
                if progress is not None:
                    progress(number, len(todo))
        finally:
            record = self._finish(run_id, project, len(scores), proposals, actor)
        return RunSummary(record, tuple(scores), proposals, skipped, prioritised)

    def _start(
        self, project_id: int, model: ModelRef, options: RunOptions, actor: str, planned: int
    ) -> int:
        with self._work.write() as session:
            row = RunRow(
                project_id=project_id,
                model_name=model.name,
                model_version=model.version,
                model_sha256=model.sha256,
                parameters=json.dumps(options.to_json(), sort_keys=True),
                started_by=actor[:128],
                started_at=self._work.now(),
                finished_at=None,
                tasks_predicted=0,
            )
            session.add(row)
            session.flush()
            self._work.record(
                session,
                actor=actor,
                action="created",
                target_type="assist_run",
                target_id=row.id,
                detail={"project_id": project_id, "model": model.key, "tasks": planned},
            )
            return row.id

    def _task(
        self,
        run_id: int,
        task_id: int,
        guideline: Guideline,
        predictor: Predictor,
        options: RunOptions,
    ) -> tuple[TaskScore, int, bool]:
        with self._work.read() as session:
            task = session.get(TaskRow, task_id)
            assert task is not None
            slices = tuple(TaskSlice.from_json(s) for s in json.loads(task.slices))
        volume = task_volume(self._store, slices)
        output = predictor.predict(volume)
        _check_output(output, volume.shape, predictor.model)
        score = score_task(task_id, label_figures(output, guideline), options.weights)
        drafts = [
            d
            for d in proposals_from(output, guideline, options.proposals)
            if _valid(d, guideline, slices)
        ]
        with self._work.write() as session:
            task = session.get(TaskRow, task_id)
            assert task is not None
            project = session.get(ProjectRow, task.project_id)
            assert project is not None
            settings = settings_of(session, project)
            session.add(
                ScoreRow(
                    run_id=run_id,
                    task_id=task_id,
                    uncertainty=score.uncertainty,
                    disagreement=score.disagreement,
                    score=score.score,
                    priority=score.priority,
                    detail=json.dumps(score.detail, sort_keys=True),
                )
            )
            stored = 0
            if not _annotated(session, task_id):
                now = self._work.now()
                for draft in drafts:
                    session.add(
                        ProposalRow(
                            run_id=run_id,
                            task_id=task_id,
                            label=draft.label,
                            kind=draft.kind,
                            payload=json.dumps(draft.payload(), sort_keys=True),
                            probability=draft.probability,
                            created_at=now,
                        )
                    )
                    stored += 1
            prioritise = settings.active_learning and task.status == TaskStatus.OPEN.value
            if prioritise:
                task.priority = score.priority
            return score, stored, prioritise

    def _finish(
        self, run_id: int, project: str, predicted: int, proposals: int, actor: str
    ) -> RunRecord:
        with self._work.write() as session:
            row = session.get(RunRow, run_id)
            assert row is not None
            row.finished_at = self._work.now()
            row.tasks_predicted = predicted
            self._work.record(
                session,
                actor=actor,
                action="changed",
                target_type="assist_run",
                target_id=run_id,
                detail={"tasks_predicted": predicted, "proposals": proposals},
            )
            return RunRecord(
                id=row.id,
                project=project,
                model=ModelRef(row.model_name, row.model_version, row.model_sha256),
                parameters=json.loads(row.parameters),
                started_by=row.started_by,
                started_at=row.started_at,
                finished_at=row.finished_at,
                tasks_predicted=predicted,
                proposals=proposals,
            )


def _annotated(session: Any, task_id: int) -> bool:
    """Whether any reader has saved anything on the task, or resolved an earlier draft."""
    if session.execute(
        select(AnnotationRow.id).where(AnnotationRow.task_id == task_id).limit(1)
    ).first():
        return True
    return (
        session.execute(
            select(ResolutionRow.id)
            .join(ProposalRow, ProposalRow.id == ResolutionRow.proposal_id)
            .where(ProposalRow.task_id == task_id)
            .limit(1)
        ).first()
        is not None
    )


def _valid(draft: DraftPayload, guideline: Guideline, slices: tuple[TaskSlice, ...]) -> bool:
    """Whether a reader could save the draft as it stands (the same rules as a save)."""
    payload = {"label": draft.label, "kind": draft.kind, "geometry": draft.geometry}
    try:
        check_annotation(parse_payload(payload), guideline, slices)
    except ValidationFailedError as exc:
        _log.warning("proposal for %s dropped: %s", draft.label, exc)
        return False
    return True
