"""SQL tables of the annotation domain: guidelines, projects, tasks, annotations, results.

Annotation revisions are append-only: the database itself refuses UPDATE and
DELETE on ``annotation_revisions`` (triggers created by migration 0003), and
``UNIQUE(annotation_id, revision)`` makes two concurrent saves on the same
base revision collide instead of both landing. JSON documents are stored as
text (canonical, sorted keys) so SQLite and PostgreSQL behave the same.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from node.store.schema import UID, Base

__all__ = [
    "AgreementResultRow",
    "AnnotationRevisionRow",
    "AnnotationRow",
    "ConsensusRow",
    "GuidelineVersionRow",
    "ProjectMemberRow",
    "ProjectRow",
    "TaskReaderRow",
    "TaskRow",
]

TS = DateTime(timezone=True)
USER = String(128)


class GuidelineVersionRow(Base):
    """One loaded guideline version, its canonical JSON and hash."""

    __tablename__ = "guideline_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_by: Mapped[str] = mapped_column(USER)
    loaded_at: Mapped[datetime] = mapped_column(TS)


class ProjectRow(Base):
    """An annotation project: a query over stored series, a guideline version, k readers."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    guideline_version_id: Mapped[int] = mapped_column(ForeignKey("guideline_versions.id"))
    readers_per_task: Mapped[int] = mapped_column(Integer)
    query: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(USER)
    created_at: Mapped[datetime] = mapped_column(TS)


class ProjectMemberRow(Base):
    """A user's part in a project: ``reader`` or ``reviewer``."""

    __tablename__ = "project_members"

    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), primary_key=True)
    username: Mapped[str] = mapped_column(USER, primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class TaskRow(Base):
    """One series of a project, read by k blinded readers.

    ``slices`` is the JSON list of the series' instances ordered along the
    slice normal, with their geometry; ``round`` counts how many times every
    reader has completed the task (a rejection reopens it for another round).
    """

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("project_id", "series_instance_uid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    series_instance_uid: Mapped[str] = mapped_column(UID)
    study_instance_uid: Mapped[str] = mapped_column(UID)
    modality: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(64))
    slices: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    round: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(TS)
    completed_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class TaskReaderRow(Base):
    """One reader's part of a task, and its review."""

    __tablename__ = "task_readers"
    __table_args__ = (
        UniqueConstraint("task_id", "username"),
        Index("ix_task_readers_username_status", "username", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    username: Mapped[str] = mapped_column(USER)
    status: Mapped[str] = mapped_column(String(16))
    review_status: Mapped[str] = mapped_column(String(16), default="pending")
    review_reason: Mapped[str] = mapped_column(Text, default="")
    reviewed_by: Mapped[str | None] = mapped_column(USER, nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class AnnotationRow(Base):
    """An annotation's identity; its content lives in its revisions.

    ``head_revision``, ``deleted`` and ``geometry_sha256`` mirror the newest
    revision so worklists, blinding and duplicate checks need not read revisions;
    they change in the same transaction that appends the revision.
    """

    __tablename__ = "annotations"
    __table_args__ = (Index("ix_annotations_task_reader", "task_id", "reader"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    reader: Mapped[str] = mapped_column(USER)
    label: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    head_revision: Mapped[int] = mapped_column(Integer)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    geometry_sha256: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(TS)


class AnnotationRevisionRow(Base):
    """One saved state of an annotation; never updated, never deleted."""

    __tablename__ = "annotation_revisions"
    __table_args__ = (UniqueConstraint("annotation_id", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotations.id"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text)
    guideline_version_id: Mapped[int] = mapped_column(ForeignKey("guideline_versions.id"))
    author: Mapped[str] = mapped_column(USER)
    created_at: Mapped[datetime] = mapped_column(TS)
    tombstone: Mapped[bool] = mapped_column(Boolean, default=False)


class ConsensusRow(Base):
    """The final annotation of a label in a task, and how it was reached."""

    __tablename__ = "consensus"
    __table_args__ = (Index("ix_consensus_task_round", "task_id", "round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    round: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(USER)
    created_at: Mapped[datetime] = mapped_column(TS)


class AgreementResultRow(Base):
    """One agreement figure: a label in a task, for a reader pair (or all readers)."""

    __tablename__ = "agreement_results"
    __table_args__ = (
        Index("ix_agreement_results_project_label", "project_id", "label"),
        Index("ix_agreement_results_task_round", "task_id", "round"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    round: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    metric: Mapped[str] = mapped_column(String(32))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    reader_a: Mapped[str | None] = mapped_column(USER, nullable=True)
    reader_b: Mapped[str | None] = mapped_column(USER, nullable=True)
    readers: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text, default="{}")
    guideline_version_id: Mapped[int] = mapped_column(ForeignKey("guideline_versions.id"))
    created_at: Mapped[datetime] = mapped_column(TS)
