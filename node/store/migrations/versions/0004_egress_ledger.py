"""Egress ledger: the append-only, hash-chained record of everything the gate let out or refused.

Triggers refuse UPDATE and DELETE on ``egress_ledger`` and any move backwards
or removal of ``egress_head`` (SQLite triggers; a plpgsql function on
PostgreSQL).

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

GENESIS = "0" * 64

_SQLITE_TRIGGERS = (
    """CREATE TRIGGER egress_ledger_no_update BEFORE UPDATE ON egress_ledger
    BEGIN SELECT RAISE(ABORT, 'egress_ledger is append-only'); END""",
    """CREATE TRIGGER egress_ledger_no_delete BEFORE DELETE ON egress_ledger
    BEGIN SELECT RAISE(ABORT, 'egress_ledger is append-only'); END""",
    """CREATE TRIGGER egress_head_no_delete BEFORE DELETE ON egress_head
    BEGIN SELECT RAISE(ABORT, 'egress_head cannot be removed'); END""",
    """CREATE TRIGGER egress_head_forward_only BEFORE UPDATE ON egress_head
    WHEN NEW.seq < OLD.seq
    BEGIN SELECT RAISE(ABORT, 'egress_head only moves forward'); END""",
)

_POSTGRES_TRIGGERS = (
    """CREATE FUNCTION harmonia_egress_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_TABLE_NAME = 'egress_head' AND TG_OP = 'UPDATE' AND NEW.seq >= OLD.seq THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER egress_ledger_append_only BEFORE UPDATE OR DELETE ON egress_ledger
    FOR EACH ROW EXECUTE FUNCTION harmonia_egress_append_only()""",
    """CREATE TRIGGER egress_head_forward_only BEFORE UPDATE OR DELETE ON egress_head
    FOR EACH ROW EXECUTE FUNCTION harmonia_egress_append_only()""",
)


def upgrade() -> None:
    op.create_table(
        "egress_ledger",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("site", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("destination", sa.String(256), nullable=False),
        sa.Column("byte_count", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("round_id", sa.String(128), nullable=True),
        sa.Column("purpose", sa.String(16), nullable=True),
        sa.Column("mechanism", sa.String(64), nullable=True),
        sa.Column("epsilon", sa.Float, nullable=True),
        sa.Column("delta", sa.Float, nullable=True),
        sa.Column("spent_epsilon", sa.Float, nullable=True),
        sa.Column("spent_delta", sa.Float, nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
    )
    op.create_index(
        "ix_egress_ledger_site_purpose", "egress_ledger", ["site", "purpose", "outcome"]
    )
    head = op.create_table(
        "egress_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "entry_hash": GENESIS}])
    dialect = op.get_bind().dialect.name
    triggers = {"sqlite": _SQLITE_TRIGGERS, "postgresql": _POSTGRES_TRIGGERS}.get(dialect, ())
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER egress_head_forward_only ON egress_head")
        op.execute("DROP TRIGGER egress_ledger_append_only ON egress_ledger")
        op.execute("DROP FUNCTION harmonia_egress_append_only()")
    op.drop_table("egress_head")
    op.drop_index("ix_egress_ledger_site_purpose", table_name="egress_ledger")
    op.drop_table("egress_ledger")
