"""SQL tables of AI assistance (created by migration 0006).

``assist_resolutions`` is append-only: the database refuses UPDATE and DELETE
on it, and ``UNIQUE(proposal_id, reader)`` lets each reader resolve each
proposal once. JSON documents are canonical text, as in the annotation tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from node.store.schema import Base

__all__ = [
    "AssistSettingsRow",
    "ProposalRow",
    "ResolutionRow",
    "RunRow",
    "ScoreRow",
]

TS = DateTime(timezone=True)
USER = String(128)


class AssistSettingsRow(Base):
    """Whether a project's readers see AI drafts, and whether the ranking sets priority."""

    __tablename__ = "assist_settings"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    preannotation: Mapped[bool] = mapped_column(Boolean)
    active_learning: Mapped[bool] = mapped_column(Boolean)
    anchoring_acknowledged: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = mapped_column(USER)
    changed_at: Mapped[datetime] = mapped_column(TS)


class RunRow(Base):
    """One inference run of one model version over a project's tasks."""

    __tablename__ = "assist_runs"
    __table_args__ = (Index("ix_assist_runs_project", "project_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    model_name: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(64))
    model_sha256: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[str] = mapped_column(Text)
    started_by: Mapped[str] = mapped_column(USER)
    started_at: Mapped[datetime] = mapped_column(TS)
    finished_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    tasks_predicted: Mapped[int] = mapped_column(Integer, default=0)


class ProposalRow(Base):
    """What a run proposed for a task: one label's geometry, in the annotation payload's form."""

    __tablename__ = "assist_proposals"
    __table_args__ = (Index("ix_assist_proposals_task_run", "task_id", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("assist_runs.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    label: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[str] = mapped_column(Text)
    probability: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[datetime] = mapped_column(TS)


class ResolutionRow(Base):
    """One reader's accept, edit or reject of a proposal; never updated, never deleted."""

    __tablename__ = "assist_resolutions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("assist_proposals.id"))
    reader: Mapped[str] = mapped_column(USER)
    outcome: Mapped[str] = mapped_column(String(16))
    annotation_id: Mapped[int | None] = mapped_column(ForeignKey("annotations.id"), nullable=True)
    revision: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dice: Mapped[float | None] = mapped_column(Float, nullable=True)
    iou: Mapped[float | None] = mapped_column(Float, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[datetime] = mapped_column(TS)


class ScoreRow(Base):
    """A run's active-learning figures for one task."""

    __tablename__ = "assist_scores"
    __table_args__ = (Index("ix_assist_scores_task", "task_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("assist_runs.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    uncertainty: Mapped[float] = mapped_column(Float)
    disagreement: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    priority: Mapped[int] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="{}")
