"""Annotation domain: guideline versions, projects, tasks, annotations and revisions, results.

Revisions are append-only: triggers refuse UPDATE and DELETE on
``annotation_revisions`` (SQLite and PostgreSQL).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UID = sa.String(64)
TS = sa.DateTime(timezone=True)
USER = sa.String(128)

_APPEND_ONLY = "annotation revisions are append-only: save a new revision instead"


def upgrade() -> None:
    op.create_table(
        "guideline_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("loaded_by", USER, nullable=False),
        sa.Column("loaded_at", TS, nullable=False),
        sa.UniqueConstraint("name", "version"),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column(
            "guideline_version_id",
            sa.Integer,
            sa.ForeignKey("guideline_versions.id"),
            nullable=False,
        ),
        sa.Column("readers_per_task", sa.Integer, nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("created_by", USER, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "project_members",
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("username", USER, primary_key=True),
        sa.Column("role", sa.String(16), primary_key=True),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("series_instance_uid", UID, nullable=False),
        sa.Column("study_instance_uid", UID, nullable=False),
        sa.Column("modality", sa.String(16), nullable=False),
        sa.Column("description", sa.String(64), nullable=False),
        sa.Column("slices", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("completed_at", TS, nullable=True),
        sa.UniqueConstraint("project_id", "series_instance_uid"),
    )
    op.create_index("ix_tasks_project_id", "tasks", ["project_id"])
    op.create_index("ix_tasks_status", "tasks", ["status"])
    op.create_table(
        "task_readers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.Integer, sa.ForeignKey("tasks.id"), nullable=False),
        sa.Column("username", USER, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("review_status", sa.String(16), nullable=False),
        sa.Column("review_reason", sa.Text, nullable=False),
        sa.Column("reviewed_by", USER, nullable=True),
        sa.Column("reviewed_at", TS, nullable=True),
        sa.Column("completed_at", TS, nullable=True),
        sa.UniqueConstraint("task_id", "username"),
    )
    op.create_index("ix_task_readers_task_id", "task_readers", ["task_id"])
    op.create_index("ix_task_readers_username_status", "task_readers", ["username", "status"])
    op.create_table(
        "annotations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.Integer, sa.ForeignKey("tasks.id"), nullable=False),
        sa.Column("reader", USER, nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("head_revision", sa.Integer, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("geometry_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_annotations_task_reader", "annotations", ["task_id", "reader"])
    op.create_table(
        "annotation_revisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("annotation_id", sa.Integer, sa.ForeignKey("annotations.id"), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column(
            "guideline_version_id",
            sa.Integer,
            sa.ForeignKey("guideline_versions.id"),
            nullable=False,
        ),
        sa.Column("author", USER, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("tombstone", sa.Boolean, nullable=False),
        sa.UniqueConstraint("annotation_id", "revision"),
    )
    op.create_index(
        "ix_annotation_revisions_annotation_id", "annotation_revisions", ["annotation_id"]
    )
    op.create_table(
        "consensus",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.Integer, sa.ForeignKey("tasks.id"), nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_by", USER, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_consensus_task_round", "consensus", ["task_id", "round"])
    op.create_table(
        "agreement_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("task_id", sa.Integer, sa.ForeignKey("tasks.id"), nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("reader_a", USER, nullable=True),
        sa.Column("reader_b", USER, nullable=True),
        sa.Column("readers", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column(
            "guideline_version_id",
            sa.Integer,
            sa.ForeignKey("guideline_versions.id"),
            nullable=False,
        ),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index(
        "ix_agreement_results_project_label", "agreement_results", ["project_id", "label"]
    )
    op.create_index("ix_agreement_results_task_round", "agreement_results", ["task_id", "round"])
    _append_only_triggers()


def _append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER annotation_revisions_no_{event.lower()} "
                f"BEFORE {event} ON annotation_revisions "
                f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION annotation_revisions_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER annotation_revisions_append_only BEFORE UPDATE OR DELETE "
            "ON annotation_revisions FOR EACH ROW "
            "EXECUTE FUNCTION annotation_revisions_append_only()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS annotation_revisions_no_update")
        op.execute("DROP TRIGGER IF EXISTS annotation_revisions_no_delete")
    elif dialect == "postgresql":
        op.execute(
            "DROP TRIGGER IF EXISTS annotation_revisions_append_only ON annotation_revisions"
        )
        op.execute("DROP FUNCTION IF EXISTS annotation_revisions_append_only()")
    for table in (
        "agreement_results",
        "consensus",
        "annotation_revisions",
        "annotations",
        "task_readers",
        "tasks",
        "project_members",
        "projects",
        "guideline_versions",
    ):
        op.drop_table(table)
