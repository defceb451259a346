"""Content-addressed storage of instance files.

A file is named by the SHA-256 of its bytes, so two writers of the same bytes
converge on one file and a file's name proves its integrity. Writes go to a
temporary file in the same file system, are flushed (and fsync'ed when asked),
then renamed into place, so a reader never sees half a file and a crash leaves
at worst an orphan that :meth:`FileBlobStore.sweep` removes.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from node.errors import NotFoundError, StoreError

__all__ = [
    "BlobStore",
    "FileBlobStore",
    "MemoryBlobStore",
    "StagedBlob",
    "sha256_hex",
    "stage_blob",
]

_TMP_DIR = "tmp"
_SHA256_HEX = re.compile("[0-9a-f]{64}")


def sha256_hex(data: bytes) -> str:
    """Return the lowercase hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class StagedBlob:
    """Bytes already written (and fsync'ed when asked) to a temporary file, not yet stored.

    Ingest workers stage the files they produce, so the serving process only
    renames them into place (:meth:`BlobStore.adopt`) instead of receiving and
    writing their bytes itself.
    """

    digest: str
    path: Path
    size: int

    def discard(self) -> None:
        """Remove the temporary file (the instance was a duplicate, or its rows failed)."""
        self.path.unlink(missing_ok=True)


def stage_blob(root: Path, data: bytes, *, fsync: bool, digest: str | None = None) -> StagedBlob:
    """Write ``data`` to a temporary file under ``root``'s staging directory.

    ``root`` is a :class:`FileBlobStore`'s root; the file lands on the same
    file system, so adopting it is a rename. ``digest``, when the caller has
    it already, is ``data``'s SHA-256 (hashing half a megabyte costs 0.35 ms).

    Raises
    ------
    StoreError
        When the file cannot be written (disk full, permissions).
    """
    if digest is None:
        digest = sha256_hex(data)
    tmp = root / _TMP_DIR / f"{digest}.{os.getpid()}.{threading.get_ident()}"
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StoreError(
            f"could not write instance file under {root}: {exc.strerror}; "
            "check free disk space and permissions of the data directory"
        ) from exc
    return StagedBlob(digest, tmp, len(data))


class BlobStore(ABC):
    """Bytes stored and retrieved by their SHA-256."""

    @abstractmethod
    def put(self, data: bytes) -> str:
        """Store ``data`` and return its SHA-256; storing the same bytes twice is a no-op."""

    def adopt(self, staged: StagedBlob) -> str:
        """Store a staged file's bytes and remove the staged file; return its SHA-256."""
        try:
            data = staged.path.read_bytes()
        except OSError as exc:
            raise StoreError(f"staged instance file {staged.path} is unreadable: {exc}") from exc
        digest = self.put(data)
        staged.discard()
        return digest

    @abstractmethod
    def get(self, digest: str) -> bytes:
        """Return the bytes stored under ``digest``; :class:`NotFoundError` if absent."""

    @abstractmethod
    def path(self, digest: str) -> Path | None:
        """Return a file system path for ``digest`` when the store has one."""

    @abstractmethod
    def delete(self, digest: str) -> None:
        """Remove ``digest`` if present."""

    @abstractmethod
    def digests(self) -> Iterator[str]:
        """Yield every stored digest."""

    def sweep(self, is_referenced: Callable[[str], bool]) -> int:
        """Delete every blob that ``is_referenced`` says no record points to.

        Returns the number of blobs removed.
        """
        removed = 0
        for digest in list(self.digests()):
            if not is_referenced(digest):
                self.delete(digest)
                removed += 1
        return removed


class FileBlobStore(BlobStore):
    """Blobs as files under ``root/ab/cd/<sha256>``.

    Parameters
    ----------
    root
        Directory that holds the blobs; created if absent.
    fsync
        Flush file and directory to stable storage before :meth:`put` returns,
        so a stored instance survives a power cut, not only a process crash.
    """

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self.fsync = fsync
        (root / _TMP_DIR).mkdir(parents=True, exist_ok=True)
        self._directories: set[Path] = set()

    def _final_path(self, digest: str) -> Path:
        if not _SHA256_HEX.fullmatch(digest):
            raise NotFoundError(f"{digest!r} is not a SHA-256 digest")
        return self.root / digest[:2] / digest[2:4] / digest

    @property
    def staging_root(self) -> Path:
        """The root to pass to :func:`stage_blob` for files this store will adopt."""
        return self.root

    def put(self, data: bytes) -> str:
        """Store ``data`` atomically and return its SHA-256."""
        digest = sha256_hex(data)
        if self._final_path(digest).exists():
            return digest
        return self.adopt(stage_blob(self.root, data, fsync=self.fsync, digest=digest))

    def adopt(self, staged: StagedBlob) -> str:
        """Rename a staged file into place (fsync'ing its directory when asked)."""
        final = self._final_path(staged.digest)
        if final.exists():
            staged.discard()
            return staged.digest
        try:
            if final.parent not in self._directories:
                final.parent.mkdir(parents=True, exist_ok=True)
                self._directories.add(final.parent)
            try:
                os.replace(staged.path, final)
            except FileNotFoundError:  # its directory was removed since we made it
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged.path, final)
            if self.fsync:
                _fsync_directory(final.parent)
        except OSError as exc:
            staged.discard()
            raise StoreError(
                f"could not write instance file under {self.root}: {exc.strerror}; "
                "check free disk space and permissions of the data directory"
            ) from exc
        return staged.digest

    def get(self, digest: str) -> bytes:
        """Return the stored bytes."""
        try:
            return self._final_path(digest).read_bytes()
        except FileNotFoundError as exc:
            raise NotFoundError(f"instance file {digest} is missing from {self.root}") from exc

    def path(self, digest: str) -> Path:
        """Return the path of the stored file (it may not exist)."""
        return self._final_path(digest)

    def delete(self, digest: str) -> None:
        """Remove the file if present."""
        self._final_path(digest).unlink(missing_ok=True)

    def digests(self) -> Iterator[str]:
        """Yield the digest of every complete file."""
        for first in sorted(self.root.iterdir()):
            if first.name == _TMP_DIR or not first.is_dir():
                continue
            for second in sorted(first.iterdir()):
                for item in second.iterdir():
                    yield item.name

    def sweep(self, is_referenced: Callable[[str], bool]) -> int:
        """Remove unfinished temporary files, then unreferenced blobs."""
        removed = 0
        for leftover in (self.root / _TMP_DIR).iterdir():
            leftover.unlink(missing_ok=True)
            removed += 1
        return removed + super().sweep(is_referenced)


class MemoryBlobStore(BlobStore):
    """Blobs in a dict: for unit tests and throw-away nodes."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its SHA-256."""
        digest = sha256_hex(data)
        with self._lock:
            self._blobs.setdefault(digest, bytes(data))
        return digest

    def get(self, digest: str) -> bytes:
        """Return the stored bytes."""
        try:
            return self._blobs[digest]
        except KeyError as exc:
            raise NotFoundError(f"no blob {digest}") from exc

    def path(self, digest: str) -> None:
        """Memory blobs have no path."""
        return None

    def delete(self, digest: str) -> None:
        """Remove the blob if present."""
        with self._lock:
            self._blobs.pop(digest, None)

    def digests(self) -> Iterator[str]:
        """Yield every digest."""
        with self._lock:
            yield from list(self._blobs)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
