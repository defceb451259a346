"""Reading back a project's runs and its latest active-learning ranking."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from node.annotate.records import TaskStatus
from node.annotate.unit_of_work import UnitOfWork
from node.assist.project_settings import project_row
from node.assist.records import ModelRef, RunRecord, TaskScore
from node.assist.tables import ProposalRow, RunRow, ScoreRow
from node.store.annotation_tables import TaskRow

__all__ = ["ScoreService"]


class ScoreService:
    """A project's inference runs, and each open task's latest score."""

    def __init__(self, work: UnitOfWork) -> None:
        self._work = work

    def runs(self, project: str) -> list[RunRecord]:
        """Every run of the project, newest first."""
        with self._work.read() as session:
            row = project_row(session, project)
            counts = dict(
                session.execute(
                    select(ProposalRow.run_id, func.count())
                    .join(RunRow, RunRow.id == ProposalRow.run_id)
                    .where(RunRow.project_id == row.id)
                    .group_by(ProposalRow.run_id)
                ).all()
            )
            runs = session.execute(
                select(RunRow).where(RunRow.project_id == row.id).order_by(RunRow.id.desc())
            ).scalars()
            return [
                RunRecord(
                    id=r.id,
                    project=row.name,
                    model=ModelRef(r.model_name, r.model_version, r.model_sha256),
                    parameters=json.loads(r.parameters),
                    started_by=r.started_by,
                    started_at=r.started_at,
                    finished_at=r.finished_at,
                    tasks_predicted=r.tasks_predicted,
                    proposals=int(counts.get(r.id, 0)),
                )
                for r in runs
            ]

    def ranking(self, project: str) -> list[tuple[TaskScore, ModelRef, int]]:
        """Each open task's newest score with its model and the task's priority, best first."""
        with self._work.read() as session:
            row = project_row(session, project)
            newest = (
                select(ScoreRow.task_id, func.max(ScoreRow.id).label("score_id"))
                .join(TaskRow, TaskRow.id == ScoreRow.task_id)
                .where(TaskRow.project_id == row.id, TaskRow.status == TaskStatus.OPEN.value)
                .group_by(ScoreRow.task_id)
                .subquery()
            )
            found = session.execute(
                select(ScoreRow, RunRow, TaskRow.priority)
                .join(newest, newest.c.score_id == ScoreRow.id)
                .join(RunRow, RunRow.id == ScoreRow.run_id)
                .join(TaskRow, TaskRow.id == ScoreRow.task_id)
            ).all()
            ranked = [
                (
                    TaskScore(
                        task_id=s.task_id,
                        uncertainty=s.uncertainty,
                        disagreement=s.disagreement,
                        score=s.score,
                        priority=s.priority,
                        detail=json.loads(s.detail),
                    ),
                    ModelRef(r.model_name, r.model_version, r.model_sha256),
                    int(priority),
                )
                for s, r, priority in found
            ]
            ranked.sort(key=lambda item: (-item[0].score, item[0].task_id))
            return ranked
