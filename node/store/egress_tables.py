"""SQL tables of the egress ledger: every release (and refusal) at the node's one gate.

Changing a table means adding an Alembic revision (these arrived in 0004, their
MACs in 0005).
``egress_ledger`` is append-only: database triggers refuse UPDATE and DELETE;
``egress_head`` holds the newest entry's sequence number and hash under an HMAC,
so that a removed tail or a chain rewritten from scratch is detected, and its
row lock serialises writers (see :mod:`node.egress.ledger`).
"""

from __future__ import annotations

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from node.store.schema import Base

__all__ = ["EgressHeadRow", "EgressLedgerRow"]


class EgressLedgerRow(Base):
    """One outbound message released through the gate, or refused by it.

    ``spent_epsilon``/``spent_delta`` are the purpose's cumulative spending
    after this entry (released entries only); ``privacy`` columns are null for
    kinds that carry no privacy cost.
    """

    __tablename__ = "egress_ledger"
    __table_args__ = (Index("ix_egress_ledger_site_purpose", "site", "purpose", "outcome"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    recorded_at: Mapped[str] = mapped_column(String(40))
    site: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(64))
    destination: Mapped[str] = mapped_column(String(256))
    byte_count: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    round_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    purpose: Mapped[str | None] = mapped_column(String(16), nullable=True)
    mechanism: Mapped[str | None] = mapped_column(String(64), nullable=True)
    epsilon: Mapped[float | None] = mapped_column(Float, nullable=True)
    delta: Mapped[float | None] = mapped_column(Float, nullable=True)
    spent_epsilon: Mapped[float | None] = mapped_column(Float, nullable=True)
    spent_delta: Mapped[float | None] = mapped_column(Float, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64), default="")


class EgressHeadRow(Base):
    """The single row naming the ledger's newest entry."""

    __tablename__ = "egress_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    entry_hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64), default="")
