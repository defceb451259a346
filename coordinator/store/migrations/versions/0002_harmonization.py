"""Calibration sets, calibration annotation uploads, statistics round results.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "calibration_sets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("set_id", sa.String(64), nullable=False, unique=True),
        sa.Column("guideline", sa.String(64), nullable=False, index=True),
        sa.Column("guideline_version", sa.String(64), nullable=False),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("envelope", sa.Text, nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signed_at", sa.String(40), nullable=False),
        sa.Column("published_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "calibration_uploads",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("set_id", sa.String(64), nullable=False, index=True),
        sa.Column("site", sa.String(63), nullable=False, index=True),
        sa.Column("guideline_version", sa.String(64), nullable=False),
        sa.Column("uploaded_at", TS, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("annotations", sa.Integer, nullable=False),
        sa.Column("readers", sa.Text, nullable=False),
        sa.Column("superseded", sa.Boolean, nullable=False),
    )
    op.create_table(
        "calibration_annotations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "upload_id",
            sa.Integer,
            sa.ForeignKey("calibration_uploads.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("case_id", sa.String(64), nullable=False),
        sa.Column("reader", sa.String(16), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
    )
    op.create_table(
        "round_results",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("round_id", sa.String(128), nullable=False, unique=True),
        sa.Column("guideline", sa.String(64), nullable=False, index=True),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("completed_at", sa.String(40), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("round_results")
    op.drop_table("calibration_annotations")
    op.drop_table("calibration_uploads")
    op.drop_table("calibration_sets")
