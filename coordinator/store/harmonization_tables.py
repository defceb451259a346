"""Tables of the harmonization loop: calibration sets, uploaded calibration annotations, rounds.

Migration ``0002`` creates them. Calibration annotations are the only per-case
annotations a node ever sends (pseudonymous readers, no free text); each
upload replaces the site's previous upload for that set.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from coordinator.store.tables import TS, Base

__all__ = [
    "CalibrationAnnotationRow",
    "CalibrationSetRow",
    "CalibrationUploadRow",
    "RoundResultRow",
]


class CalibrationSetRow(Base):
    """A published calibration set and its signed ``calibration-set`` envelope."""

    __tablename__ = "calibration_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    set_id: Mapped[str] = mapped_column(String(64), unique=True)
    guideline: Mapped[str] = mapped_column(String(64), index=True)
    guideline_version: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(256))
    content: Mapped[str] = mapped_column(Text)
    envelope: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[str] = mapped_column(String(40))
    published_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(TS)


class CalibrationUploadRow(Base):
    """One site's upload of its readers' annotations of a calibration set.

    ``readers`` is the JSON roster case → pseudonyms of the readers who completed the case
    (so a reader who found nothing still counts as having read it).
    """

    __tablename__ = "calibration_uploads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    set_id: Mapped[str] = mapped_column(String(64), index=True)
    site: Mapped[str] = mapped_column(String(63), index=True)
    guideline_version: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(TS)
    sha256: Mapped[str] = mapped_column(String(64))
    annotations: Mapped[int] = mapped_column(Integer)
    readers: Mapped[str] = mapped_column(Text, default="{}")
    superseded: Mapped[bool] = mapped_column(default=False)


class CalibrationAnnotationRow(Base):
    """One reader's annotation of one calibration case (the payload as JSON)."""

    __tablename__ = "calibration_annotations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    upload_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("calibration_uploads.id"), index=True
    )
    case_id: Mapped[str] = mapped_column(String(64))
    reader: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)


class RoundResultRow(Base):
    """A federated statistics round's result (:class:`shared.schemas.harmonization.RoundResult`)."""

    __tablename__ = "round_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    round_id: Mapped[str] = mapped_column(String(128), unique=True)
    guideline: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(64))
    completed_at: Mapped[str] = mapped_column(String(40))
    content: Mapped[str] = mapped_column(Text)
