"""Calibration sets on the coordinator: publish them signed, receive the sites' annotations.

:meth:`CalibrationSets.publish` validates a :class:`~shared.calibration.CalibrationSet`
(its guideline version must be published), signs it as a ``calibration-set``
envelope with the guideline-signing key and stores both in one transaction.
:meth:`CalibrationSets.store_upload` takes what a node's egress gate released
(kind ``calibration_annotations``), checks it again here — the set, its cases,
reader pseudonyms, annotation shape, labels and category codes of the
guideline, no free text — and replaces the site's previous upload for the set.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from coordinator.errors import (
    CalibrationSetError,
    CalibrationSetExistsError,
    CalibrationUploadError,
    NotFoundError,
)
from coordinator.guidelines import GuidelineReleases
from coordinator.store.harmonization_tables import (
    CalibrationAnnotationRow,
    CalibrationSetRow,
    CalibrationUploadRow,
)
from shared.calibration import RELEASE_KIND, CalibrationError, CalibrationSet
from shared.crypto import sign
from shared.schemas import AnnotationSchemaError, Guideline, parse_annotation

__all__ = ["CalibrationAnnotation", "CalibrationSetInfo", "CalibrationSets"]

_READER = re.compile(r"^r[0-9]{1,3}$")
MAX_ANNOTATIONS = 20_000
"""Most annotations one upload may carry."""


@dataclass(frozen=True)
class CalibrationSetInfo:
    """A published calibration set, without its envelope."""

    set_id: str
    title: str
    guideline: str
    guideline_version: str
    cases: int
    key_id: str
    signed_at: str
    published_by: str

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "set_id": self.set_id,
            "title": self.title,
            "guideline": {"name": self.guideline, "version": self.guideline_version},
            "cases": self.cases,
            "key_id": self.key_id,
            "signed_at": self.signed_at,
            "published_by": self.published_by,
        }


@dataclass(frozen=True)
class CalibrationAnnotation:
    """One reader's annotation of one calibration case, as a site uploaded it."""

    set_id: str
    site: str
    reader: str
    case_id: str
    payload: Mapping[str, Any]

    @property
    def rater(self) -> str:
        """``site/reader``: the reader's identity across the consortium."""
        return f"{self.site}/{self.reader}"

    @property
    def label(self) -> str:
        """The annotation's label."""
        return str(self.payload["label"])


def _info(row: CalibrationSetRow) -> CalibrationSetInfo:
    cases = len(json.loads(row.content).get("cases", []))
    return CalibrationSetInfo(
        row.set_id,
        row.title,
        row.guideline,
        row.guideline_version,
        cases,
        row.key_id,
        row.signed_at,
        row.published_by,
    )


class CalibrationSets:
    """Published calibration sets and the annotations sites uploaded for them."""

    def __init__(
        self,
        engine: Engine,
        signing_key: ed25519.Ed25519PrivateKey,
        guidelines: GuidelineReleases,
    ) -> None:
        self.engine = engine
        self._key = signing_key
        self._guidelines = guidelines

    def publish(self, document: object, *, published_by: str) -> CalibrationSetInfo:
        """Validate, sign and store a calibration set.

        Raises
        ------
        CalibrationSetError
            The document breaks the schema, or its guideline version is not published.
        CalibrationSetExistsError
            The set id is taken.
        """
        try:
            calibration = CalibrationSet.from_json(document)
        except CalibrationError as exc:
            raise CalibrationSetError(str(exc)) from None
        try:
            self._guidelines.guideline(calibration.guideline, calibration.guideline_version)
        except NotFoundError:
            raise CalibrationSetError(
                f"calibration set {calibration.set_id} names guideline "
                f"{calibration.guideline}@{calibration.guideline_version}, which is not "
                "published; publish the guideline first"
            ) from None
        payload = calibration.to_json()
        with Session(self.engine) as session, session.begin():
            taken = session.execute(
                select(CalibrationSetRow.id).where(CalibrationSetRow.set_id == calibration.set_id)
            ).first()
            if taken is not None:
                raise CalibrationSetExistsError(
                    f"calibration set {calibration.set_id} is already published; sets are "
                    "immutable: publish the changed set under a new id"
                )
            envelope = sign(payload, kind=RELEASE_KIND, version=calibration.set_id, key=self._key)
            row = CalibrationSetRow(
                set_id=calibration.set_id,
                guideline=calibration.guideline,
                guideline_version=calibration.guideline_version,
                title=calibration.title[:256],
                content=json.dumps(payload, sort_keys=True),
                envelope=json.dumps(envelope, sort_keys=True),
                key_id=envelope["key_id"],
                signed_at=envelope["signed_at"],
                published_by=published_by[:128],
                created_at=datetime.now(UTC),
            )
            session.add(row)
            session.flush()
            return _info(row)

    def published(self, guideline: str | None = None) -> list[CalibrationSetInfo]:
        """Every published set (of ``guideline``, when given), oldest first."""
        query = select(CalibrationSetRow).order_by(CalibrationSetRow.id)
        if guideline is not None:
            query = query.where(CalibrationSetRow.guideline == guideline)
        with Session(self.engine) as session:
            return [_info(row) for row in session.execute(query).scalars()]

    def _row(self, session: Session, set_id: str) -> CalibrationSetRow:
        row = session.execute(
            select(CalibrationSetRow).where(CalibrationSetRow.set_id == set_id)
        ).scalar_one_or_none()
        if row is None:
            raise NotFoundError(
                f"no calibration set {set_id!r}; 'GET /api/v1/calibration' lists them"
            )
        return row

    def envelope(self, set_id: str) -> dict[str, Any]:
        """The signed envelope of a set, exactly as stored."""
        with Session(self.engine) as session:
            envelope: dict[str, Any] = json.loads(self._row(session, set_id).envelope)
        return envelope

    def get(self, set_id: str) -> CalibrationSet:
        """The set ``set_id``."""
        with Session(self.engine) as session:
            content = self._row(session, set_id).content
        return CalibrationSet.from_json(json.loads(content))

    def store_upload(self, site: str, set_id: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Check and store a site's calibration annotations; replaces its previous upload.

        Raises
        ------
        NotFoundError
            No such set.
        CalibrationUploadError
            The upload does not fit the set or its guideline.
        """
        calibration = self.get(set_id)
        guideline = self._guidelines.guideline(calibration.guideline, calibration.guideline_version)
        items, roster = _check_upload(payload, calibration, guideline)
        body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(CalibrationUploadRow)
                .where(CalibrationUploadRow.set_id == set_id, CalibrationUploadRow.site == site)
                .values(superseded=True)
            )
            upload = CalibrationUploadRow(
                set_id=set_id,
                site=site,
                guideline_version=calibration.guideline_version,
                uploaded_at=datetime.now(UTC),
                sha256=hashlib.sha256(body).hexdigest(),
                annotations=len(items),
                readers=json.dumps(roster, sort_keys=True),
                superseded=False,
            )
            session.add(upload)
            session.flush()
            session.add_all(
                CalibrationAnnotationRow(
                    upload_id=upload.id,
                    case_id=case,
                    reader=reader,
                    label=str(annotation["label"]),
                    payload=json.dumps(annotation, sort_keys=True),
                )
                for case, reader, annotation in items
            )
            return {
                "set_id": set_id,
                "site": site,
                "annotations": len(items),
                "readers": len(
                    {reader for _, reader, _ in items}
                    | {reader for names in roster.values() for reader in names}
                ),
                "sha256": upload.sha256,
            }

    def readers(self, set_id: str) -> dict[str, set[str]]:
        """Case → the raters (``site/reader``) who completed it, from the current uploads."""
        query = select(CalibrationUploadRow.site, CalibrationUploadRow.readers).where(
            CalibrationUploadRow.set_id == set_id, CalibrationUploadRow.superseded.is_(False)
        )
        out: dict[str, set[str]] = {}
        with Session(self.engine) as session:
            for site, roster in session.execute(query).all():
                for case, names in json.loads(roster or "{}").items():
                    out.setdefault(case, set()).update(f"{site}/{name}" for name in names)
        return out

    def annotations(self, set_id: str) -> list[CalibrationAnnotation]:
        """Every site's current upload of ``set_id``."""
        query = (
            select(CalibrationUploadRow.site, CalibrationAnnotationRow)
            .join(
                CalibrationUploadRow, CalibrationAnnotationRow.upload_id == CalibrationUploadRow.id
            )
            .where(
                CalibrationUploadRow.set_id == set_id, CalibrationUploadRow.superseded.is_(False)
            )
            .order_by(CalibrationAnnotationRow.id)
        )
        with Session(self.engine) as session:
            rows = session.execute(query).all()
        return [
            CalibrationAnnotation(set_id, site, row.reader, row.case_id, json.loads(row.payload))
            for site, row in rows
        ]


def _check_upload(
    payload: Mapping[str, Any], calibration: CalibrationSet, guideline: Guideline
) -> tuple[list[tuple[str, str, dict[str, Any]]], dict[str, list[str]]]:
    def refuse(where: str, problem: str) -> CalibrationUploadError:
        return CalibrationUploadError(
            f"calibration upload refused: {where} {problem}; nothing was stored"
        )

    if not isinstance(payload, Mapping):
        raise refuse("the body", "must be a JSON object")
    keys = set(payload)
    if (
        not {"calibration_set", "guideline", "annotations"}
        <= keys
        <= {
            "calibration_set",
            "guideline",
            "annotations",
            "readers",
        }
    ):
        raise refuse(
            "the body", "must hold calibration_set, guideline, annotations and optionally readers"
        )
    if payload["calibration_set"] != calibration.set_id:
        raise refuse("calibration_set", "does not name the set of the URL")
    expected = {"name": calibration.guideline, "version": calibration.guideline_version}
    if payload["guideline"] != expected:
        raise refuse("guideline", f"must be {expected}, the set's guideline version")
    items = payload["annotations"]
    if not isinstance(items, list) or len(items) > MAX_ANNOTATIONS:
        raise refuse("annotations", f"must be a list of at most {MAX_ANNOTATIONS}")
    out: list[tuple[str, str, dict[str, Any]]] = []
    for index, item in enumerate(items):
        where = f"annotations[{index}]"
        if not isinstance(item, Mapping) or set(item) != {"case", "reader", "annotation"}:
            raise refuse(where, "must hold exactly case, reader and annotation")
        if item["case"] not in calibration.case_ids:
            raise refuse(f"{where}.case", "is not a case of the set")
        if not isinstance(item["reader"], str) or not _READER.match(item["reader"]):
            raise refuse(f"{where}.reader", "must be a reader pseudonym (r1, r2, ...)")
        try:
            annotation = parse_annotation(item["annotation"])
        except AnnotationSchemaError as exc:
            raise refuse(f"{where}.annotation", f"is malformed ({exc})") from None
        label = guideline.label(annotation.label)
        if label is None or label.kind.value != annotation.kind:
            raise refuse(
                f"{where}.annotation.label", "is not a label of that kind in the guideline"
            )
        if annotation.comment:
            raise refuse(f"{where}.annotation.comment", "must be empty (free text stays home)")
        value = getattr(annotation.geometry, "value", None)
        if value is not None and label.category(value) is None:
            raise refuse(f"{where}.annotation.geometry.value", "is not a category of the label")
        out.append((str(item["case"]), str(item["reader"]), annotation.model_dump(mode="json")))
    roster_in = payload.get("readers", {})
    if not isinstance(roster_in, Mapping):
        raise refuse("readers", "must map case ids to reader pseudonyms")
    roster: dict[str, list[str]] = {}
    for case, names in roster_in.items():
        if case not in calibration.case_ids:
            raise refuse("readers", "names a case that is not in the set")
        if not isinstance(names, list) or not all(
            isinstance(n, str) and _READER.match(n) for n in names
        ):
            raise refuse(f"readers.{case}", "must be a list of reader pseudonyms (r1, r2, ...)")
        roster[str(case)] = sorted(set(names))
    return out, roster
