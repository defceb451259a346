"""Export a project's annotations, per reader and consensus, into a folder or a zip.

:class:`ProjectExporter` reads the project (:func:`node.export.content.load_project`),
writes one file per task and contributor in the chosen format
(:mod:`node.export.writers`), then ``manifest.json`` listing every file written
and every task/contributor left out with the reason, and records one
``exported`` audit entry.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pydicom
from pydicom.dataset import Dataset
from sqlalchemy import Engine

from node.errors import ExportError, NotFoundError
from node.export.content import TaskContent, load_project
from node.export.writers import ExportFormat, Skipped, Written, write_contribution
from node.store import InstanceStore
from shared.formats import FormatError

__all__ = ["MANIFEST_NAME", "ExportManifest", "ProjectExporter", "zip_folder"]

MANIFEST_NAME = "manifest.json"


class AuditRecorder(Protocol):
    """What the exporter needs of the audit log."""

    def record(
        self,
        *,
        actor: str,
        action: str,
        target_type: str,
        target_id: str,
        detail: Mapping[str, Any] | None = None,
    ) -> object:
        """Write one entry in its own transaction."""
        ...


@dataclass(frozen=True)
class ExportManifest:
    """What one export wrote, and what it left out and why."""

    project: str
    format: ExportFormat
    guideline: dict[str, str]
    exported_at: str
    exported_by: str
    files: tuple[Written, ...]
    skipped: tuple[Skipped, ...]

    def to_json(self) -> dict[str, Any]:
        """The manifest as written to ``manifest.json``."""
        return {
            "project": self.project,
            "format": self.format.value,
            "guideline": self.guideline,
            "exported_at": self.exported_at,
            "exported_by": self.exported_by,
            "files": [{**asdict(f), "labels": list(f.labels)} for f in self.files],
            "skipped": [asdict(s) for s in self.skipped],
        }


class _SourceMissingError(Exception):
    """A slice of the task's series is no longer readable; that task gets no file."""


class ProjectExporter:
    """Writes a project's annotations in one of the :class:`ExportFormat` formats.

    Parameters
    ----------
    engine
        The node's database.
    store
        The instance store (the source series' headers).
    audit
        Where the ``exported`` entry goes; ``None`` records nothing.
    clock
        Returns the current time (timezone-aware).
    """

    def __init__(
        self,
        engine: Engine,
        store: InstanceStore,
        *,
        audit: AuditRecorder | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._engine = engine
        self._store = store
        self._audit = audit
        self._clock = clock or (lambda: datetime.now(UTC))

    def export(
        self, project: str, fmt: ExportFormat | str, out_dir: Path, *, actor: str
    ) -> ExportManifest:
        """Export ``project`` into ``out_dir`` (created; it must be new or empty).

        Raises
        ------
        NotFoundError
            When there is no such project.
        ExportError
            When ``out_dir`` exists and is not an empty folder.
        """
        fmt = ExportFormat(fmt)
        if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
            raise ExportError(
                f"{out_dir} exists and is not an empty folder; choose a new or empty folder "
                "so the export does not mix with other files"
            )
        content = load_project(self._engine, project)
        out_dir.mkdir(parents=True, exist_ok=True)
        files: list[Written] = []
        skipped: list[Skipped] = []
        cache: dict[int, list[Dataset]] = {}

        def sources(task: TaskContent) -> Sequence[Dataset]:
            if task.task_id not in cache:
                cache[task.task_id] = self._headers(task)
            return cache[task.task_id]

        for task in content.tasks:
            for contribution in task.contributions:
                try:
                    result = write_contribution(
                        fmt, task, contribution, content.labels, out_dir, sources
                    )
                except (_SourceMissingError, FormatError) as exc:
                    result = Skipped(
                        task.task_id, task.series_instance_uid, contribution.who, str(exc)
                    )
                except ValueError as exc:  # highdicom refusing an unusual source series
                    result = Skipped(
                        task.task_id,
                        task.series_instance_uid,
                        contribution.who,
                        f"cannot write this series as {fmt.value}: {exc}",
                    )
                if isinstance(result, Written):
                    files.append(result)
                else:
                    skipped.append(result)
        manifest = ExportManifest(
            project=content.name,
            format=fmt,
            guideline={"name": content.guideline_name, "version": content.guideline_version},
            exported_at=self._clock().isoformat(),
            exported_by=actor,
            files=tuple(files),
            skipped=tuple(skipped),
        )
        (out_dir / MANIFEST_NAME).write_text(
            json.dumps(manifest.to_json(), indent=2) + "\n", encoding="utf-8"
        )
        if self._audit is not None:
            self._audit.record(
                actor=actor,
                action="exported",
                target_type="project",
                target_id=content.name,
                detail={"format": fmt.value, "files": len(files), "skipped": len(skipped)},
            )
        return manifest

    def _headers(self, task: TaskContent) -> list[Dataset]:
        """One header per slice; the frames of a multi-frame instance share one dataset."""
        read: dict[str, Dataset] = {}
        headers: list[Dataset] = []
        for ref in task.slices:
            if ref.sop_instance_uid not in read:
                try:
                    record = self._store.instance(ref.sop_instance_uid, include_quarantined=False)
                except NotFoundError:
                    raise _SourceMissingError(
                        f"slice {ref.index} ({ref.sop_instance_uid}) of the series is no longer "
                        "on this node (deleted or quarantined); release or re-send it, then "
                        "export again"
                    ) from None
                data = self._store.read(record)
                read[ref.sop_instance_uid] = pydicom.dcmread(
                    io.BytesIO(data), stop_before_pixels=True
                )
            headers.append(read[ref.sop_instance_uid])
        return headers


def zip_folder(folder: Path) -> bytes:
    """Return a zip of every file under ``folder`` (paths relative to it, sorted)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()
