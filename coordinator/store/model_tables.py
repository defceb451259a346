"""Tables of the model registry: trained model versions and training runs.

Migration ``0003`` creates them. A version's weights live content-addressed
in the data directory (:class:`coordinator.models.WeightStore`); the row keeps
their SHA-256 and the facts its model card is generated from (plan, guideline
version, contributing sites, privacy spent per site, metrics). JSON columns
are text written by :mod:`coordinator.models.registry`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from coordinator.store.tables import TS, Base

__all__ = ["ModelVersionRow", "TrainingRunRow"]


class TrainingRunRow(Base):
    """One ``round train`` run: its state is recorded whether it completes or not."""

    __tablename__ = "training_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(128), unique=True)
    model: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))
    plan: Mapped[str] = mapped_column(Text)
    config: Mapped[str] = mapped_column(Text)
    rounds_requested: Mapped[int] = mapped_column(Integer)
    rounds_completed: Mapped[int] = mapped_column(Integer)
    history: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(TS)
    ended_at: Mapped[datetime | None] = mapped_column(TS, nullable=True)
    model_version: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ModelVersionRow(Base):
    """A registered global model version (immutable once written)."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_model_versions_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(TS)
    plan: Mapped[str] = mapped_column(Text)
    guideline: Mapped[str] = mapped_column(String(64))
    guideline_version: Mapped[str] = mapped_column(String(64))
    aggregation: Mapped[str] = mapped_column(String(32))
    secure_aggregation: Mapped[bool] = mapped_column(Boolean)
    rounds: Mapped[int] = mapped_column(Integer)
    sites: Mapped[str] = mapped_column(Text)
    privacy: Mapped[str] = mapped_column(Text)
    metrics: Mapped[str] = mapped_column(Text)
    weights_sha256: Mapped[str] = mapped_column(String(64))
    weights_bytes: Mapped[int] = mapped_column(Integer)
    parameters: Mapped[int] = mapped_column(Integer)
