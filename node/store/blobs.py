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
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path

from node.errors import NotFoundError, StoreError

__all__ = ["BlobStore", "FileBlobStore", "MemoryBlobStore", "sha256_hex"]

_TMP_DIR = "tmp"


def sha256_hex(data: bytes) -> str:
    """Return the lowercase hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


class BlobStore(ABC):
    """Bytes stored and retrieved by their SHA-256."""

    @abstractmethod
    def put(self, data: bytes) -> str:
        """Store ``data`` and return its SHA-256; storing the same bytes twice is a no-op."""

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

    def _final_path(self, digest: str) -> Path:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise NotFoundError(f"{digest!r} is not a SHA-256 digest")
        return self.root / digest[:2] / digest[2:4] / digest

    def put(self, data: bytes) -> str:
        """Store ``data`` atomically and return its SHA-256."""
        digest = sha256_hex(data)
        final = self._final_path(digest)
        if final.exists():
            return digest
        tmp = self.root / _TMP_DIR / f"{digest}.{os.getpid()}.{threading.get_ident()}"
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as handle:
                handle.write(data)
                if self.fsync:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(tmp, final)
            if self.fsync:
                _fsync_directory(final.parent)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(
                f"could not write instance file under {self.root}: {exc.strerror}; "
                "check free disk space and permissions of the data directory"
            ) from exc
        return digest

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
