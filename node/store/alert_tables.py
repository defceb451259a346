"""SQL table of the node's alerts: what an administrator must see in the UI until dismissed.

Changing the table means adding an Alembic revision (it arrived in 0005).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from node.store.schema import Base

__all__ = ["AlertRow"]


class AlertRow(Base):
    """One open or dismissed alert; a repeat of an open one counts up ``occurrences``."""

    __tablename__ = "node_alerts"
    __table_args__ = (Index("ix_node_alerts_open", "kind", "subject", "dismissed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(256))
    message: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    occurrences: Mapped[int] = mapped_column(Integer)
    dismissed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    dismissed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
