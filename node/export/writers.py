"""One file per task and contributor (a reader, or the consensus), in each export format.

=========== ============================ =============================================
format      file                         what goes in
=========== ============================ =============================================
dicom-seg   ``<series>/<who>.dcm``       masks, one segment per label (DICOM SEG)
dicom-sr    ``<series>/<who>.dcm``       boxes, polygons, keypoints, lengths,
                                         classifications (SR TID 1500)
nifti       ``<series>/<who>.nii.gz``    masks as one label map, plus a ``.json``
                                         sidecar naming the label values
coco        ``<series>/<who>.json``      everything drawn: boxes, polygons, masks (RLE),
                                         keypoints, lengths; classifications listed
=========== ============================ =============================================

``<who>`` is ``reader-<username>`` or ``consensus``. A contributor with nothing
the format can hold gets no file; the manifest says why.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset

from node.export.content import Contribution, LabelInfo, TaskContent
from node.export.payloads import coco_annotations, findings, mask_volumes
from shared.formats import (
    CocoImage,
    ObserverKind,
    derived_uid,
    write_coco,
    write_measurement_report,
    write_nifti,
    write_segmentation,
)

__all__ = ["ExportFormat", "Skipped", "Written", "contributor_name", "write_contribution"]

SourceLoader = Callable[[TaskContent], Sequence[Dataset]]
"""Returns a task's source instances (headers) in slice order."""


class ExportFormat(enum.StrEnum):
    """The formats a project can be exported to."""

    DICOM_SEG = "dicom-seg"
    DICOM_SR = "dicom-sr"
    NIFTI = "nifti"
    COCO = "coco"


@dataclass(frozen=True)
class Written:
    """A file the export wrote (``path`` relative to the output folder)."""

    path: str
    task_id: int
    series_instance_uid: str
    who: str
    consensus_method: str
    labels: tuple[str, ...]
    annotations: int


@dataclass(frozen=True)
class Skipped:
    """A task and contributor the export wrote nothing for, and why."""

    task_id: int
    series_instance_uid: str
    who: str
    reason: str


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def contributor_name(contribution: Contribution) -> str:
    """``consensus`` or ``reader-<username>`` (characters unsafe in file names replaced)."""
    if contribution.is_consensus:
        return "consensus"
    return "reader-" + (_SAFE.sub("_", contribution.who).strip("._") or "unnamed")


def write_contribution(
    fmt: ExportFormat,
    task: TaskContent,
    contribution: Contribution,
    labels: Sequence[LabelInfo],
    out_dir: Path,
    sources: SourceLoader,
) -> Written | Skipped:
    """Write one contributor's annotations of one task in ``fmt`` under ``out_dir``."""
    name = contributor_name(contribution)
    folder = out_dir / task.series_instance_uid
    frames = [s.frame for s in task.slices]
    digest = hashlib.sha256(
        json.dumps(contribution.payloads, sort_keys=True).encode("utf-8")
    ).hexdigest()

    def skipped(reason: str) -> Skipped:
        return Skipped(task.task_id, task.series_instance_uid, contribution.who, reason)

    def written(path: Path, drawn_labels: Sequence[str], count: int) -> Written:
        return Written(
            path=path.relative_to(out_dir).as_posix(),
            task_id=task.task_id,
            series_instance_uid=task.series_instance_uid,
            who=contribution.who,
            consensus_method=contribution.method_of(drawn_labels),
            labels=tuple(sorted(set(drawn_labels))),
            annotations=count,
        )

    if fmt is ExportFormat.COCO:
        items = coco_annotations(
            contribution.payloads, contribution.who, task.slices, task.series_instance_uid
        )
        if not items:
            return skipped("no drawn annotation")
        images = [
            CocoImage(
                s.sop_instance_uid, s.rows, s.columns, task.series_instance_uid, s.index, s.frame
            )
            for s in task.slices
        ]
        document = write_coco(
            images,
            items,
            [label.name for label in labels],
            description=f"Harmonia task {task.task_id}, {name}",
        )
        path = folder / f"{name}.json"
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        return written(path, [i.finding.label for i in items], len(items))
    if fmt in (ExportFormat.DICOM_SEG, ExportFormat.NIFTI):
        volumes = mask_volumes(contribution.payloads, task.slices)
        if not volumes:
            return skipped("no mask annotation")
        folder.mkdir(parents=True, exist_ok=True)
        if fmt is ExportFormat.NIFTI:
            path = write_nifti(folder / f"{name}.nii.gz", volumes, sources(task), frames=frames)
            return written(path, list(volumes), len(volumes))
        creator = "consensus" if contribution.is_consensus else contribution.who
        seg = write_segmentation(
            sources(task),
            volumes,
            series_description=_description("SEG", contribution, volumes),
            content_creator=creator,
            sop_instance_uid=derived_uid("seg", task.series_instance_uid, name, digest),
            series_instance_uid=derived_uid("seg-series", task.series_instance_uid, name, digest),
            frames=frames,
        )
        path = folder / f"{name}.dcm"
        seg.save_as(path, enforce_file_format=True)
        return written(path, list(volumes), len(volumes))
    items_sr = findings(contribution.payloads, contribution.who)
    if not items_sr:
        return skipped("no box, polygon, keypoint, length or classification")
    folder.mkdir(parents=True, exist_ok=True)
    method = contribution.method_of(f.label for f in items_sr)
    observer, kind = (
        (f"Harmonia consensus ({method})", ObserverKind.DEVICE)
        if contribution.is_consensus
        else (contribution.who, ObserverKind.PERSON)
    )
    report = write_measurement_report(
        sources(task),
        items_sr,
        observer=observer,
        observer_kind=kind,
        series_description=_description("SR", contribution, [f.label for f in items_sr]),
        sop_instance_uid=derived_uid("sr", task.series_instance_uid, name, digest),
        series_instance_uid=derived_uid("sr-series", task.series_instance_uid, name, digest),
        frames=frames,
    )
    path = folder / f"{name}.dcm"
    report.save_as(path, enforce_file_format=True)
    return written(path, [f.label for f in items_sr], len(items_sr))


def _description(what: str, contribution: Contribution, labels: Iterable[str]) -> str:
    if contribution.is_consensus:
        return f"Harmonia {what} consensus ({contribution.method_of(labels)})"[:64]
    return f"Harmonia {what} reader {contribution.who}"[:64]
