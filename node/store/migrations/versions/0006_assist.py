"""AI assistance: pre-annotation proposals, their resolutions, active-learning scores.

* ``assist_settings``: per project, whether readers see AI drafts and whether the
  active-learning ranking sets task priority (both off until an admin turns them on);
* ``assist_runs``: one inference run of one model version over a project's tasks;
* ``assist_proposals``: what the model proposed for a task (label, kind, geometry in the
  annotation payload's form, probability);
* ``assist_resolutions``: each reader's accept / edit / reject of a proposal, with the
  resulting annotation revision and the edit size (Dice, IoU). Append-only: triggers refuse
  UPDATE and DELETE (SQLite and PostgreSQL);
* ``assist_scores``: a run's uncertainty, predicted disagreement and priority per task.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
USER = sa.String(128)

_APPEND_ONLY = "proposal resolutions are append-only: a reader resolves a proposal once"


def upgrade() -> None:
    op.create_table(
        "assist_settings",
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), primary_key=True),
        sa.Column("preannotation", sa.Boolean, nullable=False),
        sa.Column("active_learning", sa.Boolean, nullable=False),
        sa.Column("anchoring_acknowledged", sa.Boolean, nullable=False),
        sa.Column("changed_by", USER, nullable=False),
        sa.Column("changed_at", TS, nullable=False),
    )
    op.create_table(
        "assist_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("parameters", sa.Text, nullable=False),
        sa.Column("started_by", USER, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("tasks_predicted", sa.Integer, nullable=False),
    )
    op.create_index("ix_assist_runs_project", "assist_runs", ["project_id"])
    op.create_table(
        "assist_proposals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("assist_runs.id"), nullable=False),
        sa.Column("task_id", sa.Integer, sa.ForeignKey("tasks.id"), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("probability", sa.Float, nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_assist_proposals_task_run", "assist_proposals", ["task_id", "run_id"])
    op.create_table(
        "assist_resolutions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("proposal_id", sa.Integer, sa.ForeignKey("assist_proposals.id"), nullable=False),
        sa.Column("reader", USER, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("annotation_id", sa.Integer, sa.ForeignKey("annotations.id"), nullable=True),
        sa.Column("revision", sa.Integer, nullable=True),
        sa.Column("dice", sa.Float, nullable=True),
        sa.Column("iou", sa.Float, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("resolved_at", TS, nullable=False),
        sa.UniqueConstraint("proposal_id", "reader"),
    )
    op.create_table(
        "assist_scores",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("assist_runs.id"), nullable=False),
        sa.Column("task_id", sa.Integer, sa.ForeignKey("tasks.id"), nullable=False),
        sa.Column("uncertainty", sa.Float, nullable=False),
        sa.Column("disagreement", sa.Float, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.UniqueConstraint("run_id", "task_id"),
    )
    op.create_index("ix_assist_scores_task", "assist_scores", ["task_id"])
    _append_only_triggers()


def _append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER assist_resolutions_no_{event.lower()} "
                f"BEFORE {event} ON assist_resolutions "
                f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION assist_resolutions_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER assist_resolutions_append_only BEFORE UPDATE OR DELETE "
            "ON assist_resolutions FOR EACH ROW "
            "EXECUTE FUNCTION assist_resolutions_append_only()"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS assist_resolutions_no_update")
        op.execute("DROP TRIGGER IF EXISTS assist_resolutions_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS assist_resolutions_append_only ON assist_resolutions")
        op.execute("DROP FUNCTION IF EXISTS assist_resolutions_append_only()")
    op.drop_index("ix_assist_scores_task", table_name="assist_scores")
    op.drop_table("assist_scores")
    op.drop_table("assist_resolutions")
    op.drop_index("ix_assist_proposals_task_run", table_name="assist_proposals")
    op.drop_table("assist_proposals")
    op.drop_index("ix_assist_runs_project", table_name="assist_runs")
    op.drop_table("assist_runs")
    op.drop_table("assist_settings")
