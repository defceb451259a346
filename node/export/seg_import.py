"""A DICOM SEG a reader sends back (3D Slicer, OHIF) becomes mask annotation revisions.

When a user sends a Segmentation by STOW-RS, :meth:`SegImporter.ingest`

1. plans the import before anything is written: the series the SEG references
   must be a task of the sender's (the reference may carry the node's
   de-identified UIDs, as a viewer that loaded the series from this node sends
   them, or the original UIDs, which the node's pseudonyms resolve); every
   segment label must be a mask label of the task's guideline; every frame must
   fall on a slice of the series (by its source image, else its position);
2. stores the SEG like any instance (de-identified, through the ingest path);
3. saves one mask annotation per segment label by the sender: a new revision
   of the sender's live mask of that label, or a new annotation.

A plan that fails rejects the SEG with the reason in the STOW response, and
nothing is stored or saved. A SEG the node already holds is not imported twice.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from node.dicom.outcome import IngestOutcome, IngestStatus, rejected
from node.errors import AnnotationError, SegmentationImportError
from node.store.annotation_tables import (
    AnnotationRow,
    GuidelineVersionRow,
    ProjectRow,
    TaskReaderRow,
    TaskRow,
)
from shared.formats import SEGMENTATION_STORAGE, FormatError, ReadSegment, read_segmentation
from shared.formats.rle import rle_encode

__all__ = ["SegImportPlan", "SegImporter", "is_segmentation"]

_POSITION_TOLERANCE_MM = 0.05


class RevisionWriter(Protocol):
    """What the importer needs of the annotation domain's revision service."""

    def create(self, task_id: int, reader: str, data: object) -> object:
        """Save a new annotation."""
        ...

    def revise(self, annotation_id: int, reader: str, base_revision: int, data: object) -> object:
        """Append a revision on top of ``base_revision``."""
        ...


@dataclass(frozen=True)
class SegImportPlan:
    """What importing one SEG will save: per label, a payload and the annotation it revises."""

    task_id: int
    reader: str
    sop_instance_uid: str
    payloads: tuple[dict[str, Any], ...]
    revises: Mapping[str, tuple[int, int]]


def is_segmentation(data: bytes) -> bool:
    """Whether ``data`` is a DICOM Segmentation (reads only the SOP Class UID)."""
    try:
        ds = pydicom.dcmread(
            io.BytesIO(data), stop_before_pixels=True, specific_tags=["SOPClassUID"]
        )
    except (InvalidDicomError, OSError, ValueError, KeyError, EOFError, TypeError):
        return False
    meta = getattr(ds, "file_meta", None)
    sop_class = ds.get("SOPClassUID") or (meta.get("MediaStorageSOPClassUID") if meta else None)
    return str(sop_class or "") == SEGMENTATION_STORAGE


class SegImporter:
    """Turns DICOM SEG instances from readers into mask annotation revisions.

    Parameters
    ----------
    engine
        The node's database (tasks, guidelines, annotations).
    pseudonymize_uid
        The node's UID pseudonym function, to resolve references to original UIDs.
    revisions
        The annotation domain's revision service (validation, transactions, audit).
    """

    def __init__(
        self,
        engine: Engine,
        pseudonymize_uid: Callable[[str], str],
        revisions: RevisionWriter,
    ) -> None:
        self._engine = engine
        self._pseudonymize = pseudonymize_uid
        self._revisions = revisions

    def ingest(
        self,
        data: bytes,
        reader: str,
        store: Callable[[], IngestOutcome],
        *,
        store_if_not_a_task: bool = False,
    ) -> IngestOutcome:
        """Plan the import, store the SEG with ``store``, then save the revisions.

        Never raises for a SEG that cannot be imported: the outcome is rejected
        with the reason, as the STOW response reports it. With
        ``store_if_not_a_task`` (a sender allowed to store any instance), a SEG
        of a series that is not one of the sender's tasks is stored as a plain
        instance instead.
        """
        try:
            plan = self.plan(data, reader)
        except _NotATaskError as exc:
            return store() if store_if_not_a_task else rejected(exc)
        except SegmentationImportError as exc:
            return rejected(exc)
        outcome = store()
        if outcome.status is not IngestStatus.STORED:
            return outcome  # rejected by ingest, or a duplicate that was imported before
        try:
            self.apply(plan)
        except SegmentationImportError as exc:
            return replace(
                outcome,
                status=IngestStatus.REJECTED,
                failure_reason=exc.failure_reason,
                message=f"the SEG was stored but not imported as annotations: {exc}",
            )
        return outcome

    def plan(self, data: bytes | Dataset, reader: str) -> SegImportPlan:
        """Check everything and build the payloads; writes nothing.

        Raises
        ------
        SegmentationImportError
            With a message naming what to change.
        """
        ds = data if isinstance(data, Dataset) else _parse(data)
        uid = str(ds.get("SOPInstanceUID", ""))
        try:
            content = read_segmentation(ds)
        except FormatError as exc:
            raise _error(str(exc), uid) from None
        with Session(self._engine) as session:
            task = self._task(session, content.referenced_series_instance_uid, reader, uid)
            mask_labels = _mask_labels(session, task)
            unknown = [label for label in content.segments if label not in mask_labels]
            if unknown:
                raise _error(
                    f"segment label(s) {', '.join(repr(u) for u in unknown)} are not mask labels "
                    f"of the task's guideline; name each segment after one of: "
                    f"{', '.join(sorted(mask_labels)) or '(the guideline has no mask label)'}",
                    uid,
                )
            slices = json.loads(task.slices)
            payloads = []
            for label, segment in content.segments.items():
                encoded = self._place(segment, slices, uid)
                if encoded:
                    payloads.append(_payload(label, encoded, ds))
            if not payloads:
                raise _error("every segment of the SEG is empty; paint at least one pixel", uid)
            revises = _live_masks(session, task.id, reader, [p["label"] for p in payloads])
        return SegImportPlan(task.id, reader, uid, tuple(payloads), revises)

    def apply(self, plan: SegImportPlan) -> None:
        """Save the planned revisions (each label in its own transaction, with its audit entry).

        Raises
        ------
        SegmentationImportError
            When the annotation domain refuses a payload (its message is kept).
        """
        for payload in plan.payloads:
            label = payload["label"]
            try:
                if label in plan.revises:
                    annotation_id, head = plan.revises[label]
                    self._revisions.revise(annotation_id, plan.reader, head, payload)
                else:
                    self._revisions.create(plan.task_id, plan.reader, payload)
            except AnnotationError as exc:
                raise _error(f"label {label!r}: {exc}", plan.sop_instance_uid) from None

    def _task(self, session: Session, series_uid: str, reader: str, uid: str) -> TaskRow:
        candidates = {series_uid, self._pseudonymize(series_uid)}
        rows = session.execute(
            select(TaskRow, TaskReaderRow.status)
            .join(TaskReaderRow, TaskReaderRow.task_id == TaskRow.id)
            .where(TaskRow.series_instance_uid.in_(candidates), TaskReaderRow.username == reader)
            .order_by(TaskRow.id.desc())
        ).all()
        if not rows:
            raise _NotATaskError(
                f"the SEG references series {series_uid}, which is not a task of {reader!r} "
                "in any project on this node; open the series from your worklist and "
                "segment that",
                sop_class_uid=SEGMENTATION_STORAGE,
                sop_instance_uid=uid or None,
            )
        open_rows = [task for task, status in rows if status != "done"]
        if not open_rows:
            raise _error(
                f"{reader!r} has completed task {rows[0][0].id} of this series, so it takes no "
                "more annotations; ask a reviewer to reopen your part, then send the SEG again",
                uid,
            )
        task: TaskRow = open_rows[0]
        return task

    def _place(
        self, segment: ReadSegment, slices: Sequence[Mapping[str, Any]], uid: str
    ) -> dict[str, dict[str, Any]]:
        by_key = {(str(s["sop_instance_uid"]), s.get("frame")): s for s in slices}
        positions = [
            (np.asarray(s["position"], dtype=np.float64), s) for s in slices if s.get("position")
        ]
        volume: dict[int, npt.NDArray[np.bool_]] = {}
        source_frames = segment.source_frame_numbers or (None,) * len(segment.positions)
        for frame, (source, source_frame, position) in enumerate(
            zip(segment.source_sop_instance_uids, source_frames, segment.positions, strict=True)
        ):
            target = None
            if source is not None:
                target = by_key.get((source, source_frame)) or by_key.get(
                    (self._pseudonymize(source), source_frame)
                )
            if target is None and position is not None and positions:
                distances = [float(np.abs(p - position).max()) for p, _ in positions]
                best = int(np.argmin(distances))
                if distances[best] <= _POSITION_TOLERANCE_MM:
                    target = positions[best][1]
            if target is None:
                raise _error(
                    f"frame {frame + 1} of segment {segment.label!r} lies on no slice of the "
                    "series (neither its source image nor its position matches); segment the "
                    "series as the node serves it",
                    uid,
                )
            mask = segment.masks[frame]
            if mask.shape != (int(target["rows"]), int(target["columns"])):
                raise _error(
                    f"frame {frame + 1} of segment {segment.label!r} is {mask.shape[0]}x"
                    f"{mask.shape[1]} but its slice is {target['rows']}x{target['columns']}",
                    uid,
                )
            index = int(target["index"])
            volume[index] = volume[index] | mask if index in volume else mask.copy()
        return {str(k): dict(rle_encode(m)) for k, m in sorted(volume.items()) if m.any()}


class _NotATaskError(SegmentationImportError):
    """The referenced series is not a task of the sender's."""


def _error(message: str, uid: str | None = None) -> SegmentationImportError:
    return SegmentationImportError(
        message, sop_class_uid=SEGMENTATION_STORAGE, sop_instance_uid=uid or None
    )


def _parse(data: bytes) -> Dataset:
    try:
        return pydicom.dcmread(io.BytesIO(data))
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise _error(f"the SEG cannot be read: {exc}") from None


def _mask_labels(session: Session, task: TaskRow) -> set[str]:
    project = session.get(ProjectRow, task.project_id)
    guideline = session.get(GuidelineVersionRow, project.guideline_version_id) if project else None
    labels = json.loads(guideline.content).get("labels", []) if guideline else []
    return {str(item["name"]) for item in labels if item.get("kind") == "mask"}


def _live_masks(
    session: Session, task_id: int, reader: str, labels: Sequence[str]
) -> dict[str, tuple[int, int]]:
    rows = session.execute(
        select(AnnotationRow)
        .where(
            AnnotationRow.task_id == task_id,
            AnnotationRow.reader == reader,
            AnnotationRow.kind == "mask",
            AnnotationRow.deleted.is_(False),
            AnnotationRow.label.in_(list(labels)),
        )
        .order_by(AnnotationRow.id)
    ).scalars()
    return {row.label: (row.id, row.head_revision) for row in rows}


def _payload(label: str, encoded: dict[str, dict[str, Any]], ds: Dataset) -> dict[str, Any]:
    name = str(ds.get("SeriesDescription") or ds.get("ContentLabel") or "DICOM SEG")
    return {
        "label": label,
        "kind": "mask",
        "confidence": None,
        "comment": f"imported from DICOM SEG ({name})"[:4000],
        "cannot_assess": False,
        "geometry": {"slices": encoded, "key_slices": [], "interpolate": False},
    }
