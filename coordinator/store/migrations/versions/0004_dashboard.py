"""Dashboard sessions of admins, and what sites report (last seen, software version, health).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "admin_sessions",
        sa.Column("id_sha256", sa.String(64), primary_key=True),
        sa.Column(
            "token_id",
            sa.String(32),
            sa.ForeignKey("admin_tokens.token_id"),
            nullable=False,
            index=True,
        ),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )
    op.create_table(
        "site_activity",
        sa.Column("site_id", sa.Integer, sa.ForeignKey("sites.id"), primary_key=True),
        sa.Column("last_seen_at", TS, nullable=True),
        sa.Column("software_version", sa.String(64), nullable=True),
        sa.Column("version_source", sa.String(16), nullable=True),
        sa.Column("reported_at", TS, nullable=True),
        sa.Column("health", sa.Text, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("site_activity")
    op.drop_table("admin_sessions")
