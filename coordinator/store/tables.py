"""SQL tables of the coordinator (SQLAlchemy 2 declarative mapping).

Changing a table means adding an Alembic revision under ``migrations/versions``.
Secrets are never stored: enrollment and admin tokens are kept as SHA-256
digests of the whole token (they carry 256 bits of entropy, so a fast hash
is safe).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AdminTokenRow",
    "AdminUserRow",
    "Base",
    "CertificateRow",
    "EnrollmentTokenRow",
    "GuidelineReleaseRow",
    "GuidelineVersionRow",
    "SiteRow",
]

TS = DateTime(timezone=True)


class Base(DeclarativeBase):
    """Declarative base of every coordinator table."""


class SiteRow(Base):
    """A consortium member. ``revoked_at`` set: it may no longer enroll or call the site API."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    created_at: Mapped[datetime] = mapped_column(TS)
    created_by: Mapped[str] = mapped_column(String(128))
    enrolled_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    supernode_public_key_pem: Mapped[str | None] = mapped_column(Text, nullable=True)
    supernode_key_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)


class EnrollmentTokenRow(Base):
    """A one-time enrollment token for one site; ``used_at`` set once it enrolled a node."""

    __tablename__ = "enrollment_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(Integer, ForeignKey("sites.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(TS)
    created_by: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(TS)
    used_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)


class CertificateRow(Base):
    """A certificate the consortium CA issued to a site (serial as lower-case hex)."""

    __tablename__ = "certificates"

    serial: Mapped[str] = mapped_column(String(40), primary_key=True)
    site_id: Mapped[int] = mapped_column(Integer, ForeignKey("sites.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column(TS)
    not_after: Mapped[datetime] = mapped_column(TS)
    revoked_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    certificate_pem: Mapped[str] = mapped_column(Text)


class GuidelineVersionRow(Base):
    """One guideline version's content (canonical JSON) as authored."""

    __tablename__ = "guideline_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(256))
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TS)
    created_by: Mapped[str] = mapped_column(String(128))


class GuidelineReleaseRow(Base):
    """A signed release of a guideline version: the Ed25519 envelope nodes verify."""

    __tablename__ = "guideline_releases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("guideline_versions.id"), unique=True
    )
    envelope: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[str] = mapped_column(String(40))
    published_by: Mapped[str] = mapped_column(String(128))


class AdminUserRow(Base):
    """A coordinator administrator, guideline editor or viewer."""

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TS)


class AdminTokenRow(Base):
    """A bearer token acting as one admin user, with that user's role."""

    __tablename__ = "admin_tokens"

    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("admin_users.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
