"""SQL tables of the node's store (SQLAlchemy 2 declarative mapping).

Every identifier stored here is already de-identified: the UIDs are the
node's keyed pseudonyms, never the hospital's originals. Changing a table
means adding an Alembic revision under ``migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["ApiToken", "Base", "InstanceRow", "ReidentificationLink", "SeriesRow", "StudyRow"]

UID = String(64)


class Base(DeclarativeBase):
    """Declarative base of every node table."""


class StudyRow(Base):
    """One de-identified study and the study-level attributes QIDO-RS matches on."""

    __tablename__ = "studies"

    study_instance_uid: Mapped[str] = mapped_column(UID, primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64), index=True, default="")
    patient_name: Mapped[str] = mapped_column(String(324), default="")
    patient_birth_date: Mapped[str] = mapped_column(String(8), default="")
    patient_sex: Mapped[str] = mapped_column(String(16), default="")
    study_date: Mapped[str] = mapped_column(String(8), index=True, default="")
    study_time: Mapped[str] = mapped_column(String(16), default="")
    accession_number: Mapped[str] = mapped_column(String(16), default="")
    study_id: Mapped[str] = mapped_column(String(16), default="")
    study_description: Mapped[str] = mapped_column(String(64), default="")
    referring_physician_name: Mapped[str] = mapped_column(String(324), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SeriesRow(Base):
    """One de-identified series."""

    __tablename__ = "series"

    series_instance_uid: Mapped[str] = mapped_column(UID, primary_key=True)
    study_instance_uid: Mapped[str] = mapped_column(
        UID, ForeignKey("studies.study_instance_uid"), index=True
    )
    modality: Mapped[str] = mapped_column(String(16), index=True, default="")
    series_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    series_description: Mapped[str] = mapped_column(String(64), default="")
    body_part_examined: Mapped[str] = mapped_column(String(16), default="")
    performed_procedure_step_start_date: Mapped[str] = mapped_column(String(8), default="")
    frame_of_reference_uid: Mapped[str] = mapped_column(UID, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class InstanceRow(Base):
    """One stored instance: its identity, where its file is, and its quarantine state."""

    __tablename__ = "instances"
    __table_args__ = (
        Index("ix_instances_series_number", "series_instance_uid", "instance_number"),
    )

    sop_instance_uid: Mapped[str] = mapped_column(UID, primary_key=True)
    series_instance_uid: Mapped[str] = mapped_column(
        UID, ForeignKey("series.series_instance_uid"), index=True
    )
    study_instance_uid: Mapped[str] = mapped_column(UID, index=True)
    sop_class_uid: Mapped[str] = mapped_column(UID)
    transfer_syntax_uid: Mapped[str] = mapped_column(UID)
    instance_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rows: Mapped[int | None] = mapped_column(Integer, nullable=True)
    columns: Mapped[int | None] = mapped_column(Integer, nullable=True)
    bits_allocated: Mapped[int | None] = mapped_column(Integer, nullable=True)
    number_of_frames: Mapped[int | None] = mapped_column(Integer, nullable=True)
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(256))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    quarantine_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    released_by: Mapped[str | None] = mapped_column(String(128), nullable=True)

    @property
    def quarantined(self) -> bool:
        """Whether the instance waits for an admin to release it."""
        return self.quarantine_reason is not None and self.released_at is None


class ApiToken(Base):
    """A bearer API token; only a hash of its secret is kept.

    A token with ``user_id`` acts for that user (see ``node.auth.principals``).
    """

    __tablename__ = "api_tokens"

    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    user_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("users.id", name="fk_api_tokens_user_id"), nullable=True
    )


class ReidentificationLink(Base):
    """A pseudonym's original identities, sealed to hospital IT's public key."""

    __tablename__ = "reidentification_links"
    __table_args__ = (UniqueConstraint("patient_pseudonym", "study_instance_uid"),)

    link_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    study_instance_uid: Mapped[str] = mapped_column(UID)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
