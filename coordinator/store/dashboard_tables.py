"""Tables of the coordinator dashboard: admins' browser sessions and what sites report.

Migration ``0004`` creates them. A session row holds only a SHA-256 of the
cookie's random id; it acts as the admin token it was opened with, so revoking
that token (or disabling its user) ends the session too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from coordinator.store.tables import TS, Base

__all__ = ["AdminSessionRow", "SiteActivityRow"]


class AdminSessionRow(Base):
    """A dashboard session opened with an admin token."""

    __tablename__ = "admin_sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("admin_tokens.token_id"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TS)
    last_seen_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime] = mapped_column(TS)


class SiteActivityRow(Base):
    """When a site last called the site API, and the versions it last reported."""

    __tablename__ = "site_activity"

    site_id: Mapped[int] = mapped_column(Integer, ForeignKey("sites.id"), primary_key=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    software_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    version_source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reported_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    health: Mapped[str | None] = mapped_column(Text, nullable=True)
