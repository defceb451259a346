"""The node's registry of guideline versions (loaded from files by an admin, for now).

A version is immutable once loaded: loading the same ``name@version`` again
with identical content is a no-op, with different content a
:class:`~node.errors.GuidelineConflictError` (publish a new version instead).
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from node.annotate.records import GuidelineVersion
from node.annotate.unit_of_work import UnitOfWork
from node.errors import GuidelineConflictError, InvalidGuidelineError, NotFoundError
from node.store.annotation_tables import GuidelineVersionRow
from shared.schemas import Guideline, GuidelineError

__all__ = ["GuidelineRegistry", "parse_guideline"]


def parse_guideline(text: str | bytes, *, media_type: str = "application/json") -> Guideline:
    """Parse a guideline document sent as JSON or YAML.

    Raises
    ------
    InvalidGuidelineError
        Naming what is malformed, for the HTTP layer to answer 422.
    """
    is_yaml = "yaml" in media_type.lower()
    try:
        if is_yaml:
            return Guideline.from_yaml(text, source="the guideline")
        return Guideline.from_json(text, source="the guideline")
    except GuidelineError as exc:
        raise InvalidGuidelineError(str(exc)) from None


def _version(row: GuidelineVersionRow) -> GuidelineVersion:
    return GuidelineVersion(
        id=row.id,
        guideline=Guideline.model_validate(json.loads(row.content)),
        sha256=row.sha256,
        loaded_by=row.loaded_by,
        loaded_at=row.loaded_at,
    )


class GuidelineRegistry:
    """Loads, lists and looks up guideline versions."""

    def __init__(self, work: UnitOfWork) -> None:
        self._work = work
        self._parsed: dict[int, GuidelineVersion] = {}

    def load(self, guideline: Guideline, *, loaded_by: str) -> tuple[GuidelineVersion, bool]:
        """Store a guideline version; returns it and whether it was new."""
        content = guideline.canonical_json().decode()
        digest = guideline.sha256
        with self._work.write() as session:
            existing = session.execute(
                select(GuidelineVersionRow).where(
                    GuidelineVersionRow.name == guideline.name,
                    GuidelineVersionRow.version == guideline.version,
                )
            ).scalar_one_or_none()
            if existing is not None:
                if existing.sha256 != digest:
                    raise GuidelineConflictError(
                        f"guideline {guideline.key} is already loaded with different content "
                        f"(sha256 {existing.sha256[:12]}…); versions are immutable: give the "
                        "changed guideline a new version"
                    )
                return _version(existing), False
            row = GuidelineVersionRow(
                name=guideline.name,
                version=guideline.version,
                title=guideline.title,
                content=content,
                sha256=digest,
                loaded_by=loaded_by[:128],
                loaded_at=self._work.now(),
            )
            session.add(row)
            try:
                session.flush()
            except IntegrityError:  # another process loaded it between our check and insert
                raise GuidelineConflictError(
                    f"guideline {guideline.key} was loaded by someone else just now; "
                    "list the guidelines and compare its sha256"
                ) from None
            self._work.record(
                session,
                actor=loaded_by,
                action="created",
                target_type="guideline",
                target_id=guideline.key,
                detail={"sha256": digest},
            )
            return _version(row), True

    def get(self, name: str, version: str) -> GuidelineVersion:
        """One version, or :class:`NotFoundError`."""
        with self._work.read() as session:
            row = session.execute(
                select(GuidelineVersionRow).where(
                    GuidelineVersionRow.name == name, GuidelineVersionRow.version == version
                )
            ).scalar_one_or_none()
            if row is None:
                raise NotFoundError(
                    f"no guideline {name}@{version} on this node; load it first "
                    "(POST /api/guidelines or 'harmonia-node guideline load')"
                )
            return _version(row)

    def by_id(self, session: Session, version_id: int) -> GuidelineVersion:
        """The version with this id, read in ``session`` (parsed once: versions never change)."""
        cached = self._parsed.get(version_id)
        if cached is not None:
            return cached
        row = session.get(GuidelineVersionRow, version_id)
        if row is None:
            raise NotFoundError(f"no guideline version with id {version_id}")
        version = _version(row)
        self._parsed[version_id] = version
        return version

    def list(self) -> list[GuidelineVersion]:
        """Every loaded version, by name then load time."""
        with self._work.read() as session:
            rows = session.execute(
                select(GuidelineVersionRow).order_by(
                    GuidelineVersionRow.name, GuidelineVersionRow.loaded_at
                )
            ).scalars()
            return [_version(row) for row in rows]
