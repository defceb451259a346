"""The egress ledger keyed like the audit log (entry and head MACs); the node's alerts.

``egress_ledger.mac`` and ``egress_head.mac`` hold HMACs under a key derived
from the site secret (see :mod:`node.egress.ledger`). Entries written before
this revision keep an empty MAC and their head none: such a ledger (only
development nodes wrote one) cannot be proven intact and fails verification.

``node_alerts`` holds what an administrator must see in the UI (a refused
guideline release), until one of them dismisses it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "egress_ledger", sa.Column("mac", sa.String(64), nullable=False, server_default="")
    )
    op.add_column("egress_head", sa.Column("mac", sa.String(64), nullable=False, server_default=""))
    op.create_table(
        "node_alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("occurrences", sa.Integer, nullable=False),
        sa.Column("dismissed_at", TS, nullable=True),
        sa.Column("dismissed_by", sa.String(128), nullable=True),
    )
    op.create_index("ix_node_alerts_open", "node_alerts", ["kind", "subject", "dismissed_at"])


def downgrade() -> None:
    op.drop_index("ix_node_alerts_open", table_name="node_alerts")
    op.drop_table("node_alerts")
    op.drop_column("egress_head", "mac")
    op.drop_column("egress_ledger", "mac")
