"""Content-addressed weight files in the coordinator's data directory.

Each model version's weights (a :mod:`shared.weights` file) are stored once
under ``DATA_DIR/models/sha256/<first two hex>/<sha256>``, named by the
SHA-256 of their bytes, written atomically, and verified against that name
whenever they are read back.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from coordinator.errors import NotFoundError
from shared.errors import InvalidInputError
from shared.weights import weights_sha256

__all__ = ["WeightStore"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class WeightStore:
    """The weight files of one coordinator data directory.

    Parameters
    ----------
    root
        The folder (``DATA_DIR/models``).
    fsync
        Flush files and folders to disk before returning (off in tests).
    """

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self.fsync = fsync

    def path(self, sha256: str) -> Path:
        """Where the file named ``sha256`` lives."""
        if not _SHA256.fullmatch(sha256):
            raise InvalidInputError("a weights digest is 64 lower-case hex digits")
        return self.root / "sha256" / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` (once); its SHA-256."""
        digest = weights_sha256(data)
        path = self.path(digest)
        if path.exists() and weights_sha256(path.read_bytes()) == digest:
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{digest}.{os.getpid()}.tmp")
        with open(staging, "wb") as handle:
            handle.write(data)
            if self.fsync:
                handle.flush()
                os.fsync(handle.fileno())
        staging.replace(path)
        return digest

    def get(self, sha256: str) -> bytes:
        """The bytes named ``sha256``, verified.

        Raises
        ------
        NotFoundError
            No such file, or one whose bytes no longer match their name.
        """
        path = self.path(sha256)
        if not path.exists():
            raise NotFoundError(f"no stored weights {sha256[:12]}...; the registry is incomplete")
        data = path.read_bytes()
        if weights_sha256(data) != sha256:
            raise NotFoundError(
                f"the stored weights {sha256[:12]}... were altered on disk (their SHA-256 no "
                "longer matches); restore them from a backup"
            )
        return data
