"""Importing DICOM from a folder tree or a ZIP archive.

Hospital IT often has studies on disk already: exported CDs, research
folders, archives from a colleague. :func:`import_path` walks a directory
recursively, or streams the members of a ``.zip`` (nothing is extracted to
disk), and hands each instance to :meth:`IngestService.ingest_bytes
<node.dicom.ingest.IngestService.ingest_bytes>` or ``ingest_file``.

Items that are plainly not DICOM instances (a DICOMDIR, a README, a JPEG,
macOS ``._`` files, archive members whose names try to climb out of the
archive) are *skipped* with a reason; DICOM the node refuses is *rejected*
with the ingest's reason. Archive members are size-checked against
``max_instance_bytes`` both by their declared size and while reading, so a
ZIP bomb costs at most that many bytes per member.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path, PurePosixPath

from node.dicom.import_summary import ImportProgress, ImportSummary, NullProgress
from node.dicom.ingest import IngestOutcome, IngestService
from shared.errors import InvalidInputError

__all__ = ["import_path", "sniff_not_dicom"]

_HEAD_BYTES = 132
_DICM_OFFSET = 128
# A data set without a preamble opens with a File Meta (0002) or Identifying (0008) group
# element, little or big endian.
_PLAUSIBLE_STARTS = (b"\x02\x00", b"\x08\x00", b"\x00\x02", b"\x00\x08")

_Task = Callable[[], IngestOutcome]


def sniff_not_dicom(name: str, head: bytes) -> str | None:
    """Why an item is plainly not a DICOM instance, or ``None`` if it may be one.

    Parameters
    ----------
    name
        The file or member name (only its last part is looked at).
    head
        The first 132 bytes (fewer for a shorter file).
    """
    base = PurePosixPath(name.replace("\\", "/")).name
    if base.upper() == "DICOMDIR":
        return "DICOMDIR is a media directory index, not an instance (its instances are imported)"
    if len(head) >= _HEAD_BYTES and head[_DICM_OFFSET:_HEAD_BYTES] == b"DICM":
        return None
    if len(head) >= 8 and head[:2] in _PLAUSIBLE_STARTS:
        return None  # maybe a data set without Part 10 header; the ingest decides
    return "not DICOM: no 'DICM' marker at byte 128 and no DICOM element at the start"


def import_path(
    ingest: IngestService,
    path: Path,
    *,
    max_instance_bytes: int,
    workers: int = 2,
    progress: ImportProgress | None = None,
) -> ImportSummary:
    """Ingest every DICOM instance under a directory, in a ZIP archive, or one file.

    Parameters
    ----------
    ingest
        Where instances go; its provenance for each is ``import:<path>``
        (``import:<archive>/<member>`` for archive members).
    path
        A directory (walked recursively, symbolic links to directories not
        followed), a ``.zip`` archive, or a single file.
    max_instance_bytes
        Archive members larger than this are rejected without being read.
    workers
        Instances ingested in parallel (parsing and de-identifying are CPU
        bound; more than the number of cores does not help).
    progress
        Told the number of items, then each one handled.

    Raises
    ------
    InvalidInputError
        ``path`` does not exist, or is a damaged ZIP archive.
    """
    progress = progress or NullProgress()
    summary = ImportSummary()
    if path.is_dir():
        files = sorted(_walk(path))
        progress.begin(len(files))
        _run(_directory_tasks(ingest, files, summary, progress), summary, progress, workers)
    elif path.is_file() and zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                members = [info for info in archive.infolist() if not info.is_dir()]
                progress.begin(len(members))
                tasks = _archive_tasks(
                    ingest, path, archive, members, max_instance_bytes, summary, progress
                )
                _run(tasks, summary, progress, workers)
        except zipfile.BadZipFile as exc:
            raise InvalidInputError(
                f"{path} is not a readable ZIP archive ({exc}); re-create or re-download it"
            ) from exc
    elif path.is_file():
        progress.begin(1)
        _run(_directory_tasks(ingest, [path], summary, progress), summary, progress, workers)
    else:
        raise InvalidInputError(
            f"{path} does not exist or is neither a directory, a ZIP archive nor a file"
        )
    return summary


def _source(label: str) -> str:
    """Provenance kept with the instance: a digest of the path, never the path.

    Hospital folder and file names often carry patient names or IDs, and the
    store holds only de-identified data. The import summary, printed on the
    hospital's own terminal, still names the paths.
    """
    return "import:" + hashlib.sha256(label.encode("utf-8", "surrogateescape")).hexdigest()[:24]


def _walk(root: Path) -> Iterator[Path]:
    for directory, subdirs, names in os.walk(root, followlinks=False):
        subdirs.sort()
        for name in names:
            candidate = Path(directory, name)
            if candidate.is_file():
                yield candidate


def _directory_tasks(
    ingest: IngestService, files: list[Path], summary: ImportSummary, progress: ImportProgress
) -> Iterator[tuple[str, _Task]]:
    for file in files:
        label = str(file)
        try:
            with file.open("rb") as handle:
                head = handle.read(_HEAD_BYTES)
        except OSError as exc:
            summary.reject(label, f"cannot read: {exc.strerror}")
            progress.advance()
            continue
        reason = sniff_not_dicom(file.name, head)
        if reason is not None:
            summary.skip(label, reason)
            progress.advance()
            continue
        yield label, partial(ingest.ingest_file, file, source=_source(label))


def _archive_tasks(
    ingest: IngestService,
    archive_path: Path,
    archive: zipfile.ZipFile,
    members: list[zipfile.ZipInfo],
    max_instance_bytes: int,
    summary: ImportSummary,
    progress: ImportProgress,
) -> Iterator[tuple[str, _Task]]:
    for info in members:
        label = f"{archive_path}/{info.filename}"
        data, reason, refused = _read_member(archive, info, max_instance_bytes)
        if data is None:
            (summary.reject if refused else summary.skip)(label, reason)
            progress.advance()
            continue
        yield label, partial(ingest.ingest_bytes, data, source=_source(label))


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int
) -> tuple[bytes | None, str, bool]:
    """Return ``(data, "", False)``, or ``(None, reason, refused)`` (refused: reject, else skip)."""
    name = info.filename
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        return None, "unsafe member name (absolute or climbing out of the archive): ignored", False
    if info.flag_bits & 0x1:
        return None, "encrypted archive member: decrypt the archive first", True
    if info.file_size > limit:
        return (
            None,
            f"member is {info.file_size} bytes uncompressed, over the node's limit of "
            f"{limit} bytes (max_instance_bytes)",
            True,
        )
    try:
        with archive.open(info) as handle:
            head = handle.read(_HEAD_BYTES)
            reason = sniff_not_dicom(name, head)
            if reason is not None:
                return None, reason, False
            # Read one byte past the limit: a member whose header lies about its size
            # is caught here, having cost at most ``limit`` bytes of memory.
            data = head + handle.read(limit + 1 - len(head))
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        return None, f"damaged or unsupported archive member: {exc}", True
    if len(data) > limit:
        return None, f"member expands past the node's limit of {limit} bytes: refused", True
    return data, "", False


def _run(
    tasks: Iterator[tuple[str, _Task]],
    summary: ImportSummary,
    progress: ImportProgress,
    workers: int,
) -> None:
    """Run ingest tasks on a small pool, at most ``2 * workers`` in flight.

    The bound keeps memory at a few instances however large the archive;
    outcomes are counted on this thread, so the summary needs no lock.
    """
    in_flight: deque[tuple[str, Future[IngestOutcome]]] = deque()
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="import") as pool:
        for label, task in tasks:
            in_flight.append((label, pool.submit(task)))
            while len(in_flight) >= 2 * max(1, workers):
                _collect(in_flight.popleft(), summary, progress)
        while in_flight:
            _collect(in_flight.popleft(), summary, progress)


def _collect(
    entry: tuple[str, Future[IngestOutcome]], summary: ImportSummary, progress: ImportProgress
) -> None:
    label, future = entry
    summary.record(label, future.result())
    progress.advance()
