"""One contract suite for every BlobStore implementation."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.errors import NotFoundError
from node.store import BlobStore, FileBlobStore, MemoryBlobStore, sha256_hex, stage_blob


class BlobStoreContract:
    def make(self, tmp_path: Path) -> BlobStore:
        raise NotImplementedError

    def test_adopting_a_staged_file_stores_it_and_removes_the_staged_copy(
        self, tmp_path: Path
    ) -> None:
        store = self.make(tmp_path)
        staging = tmp_path / "staging-root"
        (staging / "tmp").mkdir(parents=True)
        first = stage_blob(staging, b"worker output", fsync=False)
        assert first.digest == sha256_hex(b"worker output") and first.size == 13
        assert store.adopt(first) == first.digest
        assert store.get(first.digest) == b"worker output"
        assert not first.path.exists()
        again = stage_blob(staging, b"worker output", fsync=False)
        assert store.adopt(again) == first.digest  # a second copy is dropped, not stored
        assert not again.path.exists()
        assert list(store.digests()) == [first.digest]

    def test_put_returns_sha256_and_get_returns_bytes(self, tmp_path: Path) -> None:
        store = self.make(tmp_path)
        digest = store.put(b"hello")
        assert digest == sha256_hex(b"hello")
        assert store.get(digest) == b"hello"

    def test_put_twice_is_idempotent(self, tmp_path: Path) -> None:
        store = self.make(tmp_path)
        assert store.put(b"x") == store.put(b"x")
        assert list(store.digests()) == [sha256_hex(b"x")]

    def test_missing_blob_is_not_found(self, tmp_path: Path) -> None:
        with pytest.raises(NotFoundError):
            self.make(tmp_path).get(sha256_hex(b"absent"))

    def test_sweep_removes_only_unreferenced(self, tmp_path: Path) -> None:
        store = self.make(tmp_path)
        keep, drop = store.put(b"keep"), store.put(b"drop")
        assert store.sweep(lambda digest: digest == keep) == 1
        assert store.get(keep) == b"keep"
        with pytest.raises(NotFoundError):
            store.get(drop)


class TestFileBlobStore(BlobStoreContract):
    def make(self, tmp_path: Path) -> BlobStore:
        return FileBlobStore(tmp_path / "blobs", fsync=True)

    def test_layout_and_leftover_temp_files_are_swept(self, tmp_path: Path) -> None:
        store = FileBlobStore(tmp_path / "blobs")
        digest = store.put(b"data")
        assert store.path(digest) == tmp_path / "blobs" / digest[:2] / digest[2:4] / digest
        leftover = tmp_path / "blobs" / "tmp" / "half-written"
        leftover.write_bytes(b"partial")
        store.sweep(lambda _d: True)
        assert not leftover.exists()
        assert store.get(digest) == b"data"

    def test_a_staged_file_left_by_a_dead_worker_is_swept(self, tmp_path: Path) -> None:
        store = FileBlobStore(tmp_path / "blobs", fsync=True)
        staged = stage_blob(store.staging_root, b"never adopted", fsync=True)
        assert staged.path.exists()
        assert store.sweep(lambda _digest: True) == 1
        assert not staged.path.exists()

    def test_rejects_path_traversal_digest(self, tmp_path: Path) -> None:
        with pytest.raises(NotFoundError):
            FileBlobStore(tmp_path / "blobs").get("../../etc/passwd")


class TestMemoryBlobStore(BlobStoreContract):
    def make(self, tmp_path: Path) -> BlobStore:
        return MemoryBlobStore()


def test_staging_takes_the_digest_the_caller_computed(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    digest = sha256_hex(b"already hashed")
    staged = stage_blob(tmp_path, b"already hashed", fsync=False, digest=digest)
    assert staged.digest == digest
    assert staged.path.name.startswith(digest)
    store = FileBlobStore(tmp_path, fsync=False)
    assert store.get(store.adopt(staged)) == b"already hashed"
