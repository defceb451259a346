"""Model registry: trained model versions and the training runs that made them.

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

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "training_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(128), nullable=False, unique=True),
        sa.Column("model", sa.String(64), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("plan", sa.Text, nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("rounds_requested", sa.Integer, nullable=False),
        sa.Column("rounds_completed", sa.Integer, nullable=False),
        sa.Column("history", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("model_version", sa.Integer, nullable=True),
    )
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("run_id", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("plan", sa.Text, nullable=False),
        sa.Column("guideline", sa.String(64), nullable=False),
        sa.Column("guideline_version", sa.String(64), nullable=False),
        sa.Column("aggregation", sa.String(32), nullable=False),
        sa.Column("secure_aggregation", sa.Boolean, nullable=False),
        sa.Column("rounds", sa.Integer, nullable=False),
        sa.Column("sites", sa.Text, nullable=False),
        sa.Column("privacy", sa.Text, nullable=False),
        sa.Column("metrics", sa.Text, nullable=False),
        sa.Column("weights_sha256", sa.String(64), nullable=False),
        sa.Column("weights_bytes", sa.Integer, nullable=False),
        sa.Column("parameters", sa.Integer, nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_model_versions_name_version"),
    )


def downgrade() -> None:
    op.drop_table("model_versions")
    op.drop_table("training_runs")
