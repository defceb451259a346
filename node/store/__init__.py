"""The node's store: SQL metadata (SQLAlchemy 2, Alembic) plus content-addressed files.

Everything in it is already de-identified. SQLite in WAL mode is the embedded
default; any SQLAlchemy URL (PostgreSQL for larger sites) works the same.
"""

import importlib
from typing import TYPE_CHECKING, Any

from node.store import alert_tables as alert_tables  # registers the tables on Base
from node.store import annotation_tables as annotation_tables  # registers the tables on Base
from node.store import auth_tables as auth_tables  # registers the tables on Base
from node.store import egress_tables as egress_tables  # registers the tables on Base
from node.store.database import create_database_engine, migrate

if TYPE_CHECKING:
    from node.store.blobs import (
        BlobStore,
        FileBlobStore,
        MemoryBlobStore,
        StagedBlob,
        sha256_hex,
        stage_blob,
    )
    from node.store.criteria import Level, Match, MatchKind, SearchRequest
    from node.store.instance_store import InstanceStore
    from node.store.records import (
        InstanceAttributes,
        InstanceRecord,
        PutStatus,
        SeriesRecord,
        StudyRecord,
    )
    from node.store.search import searchable_keywords

_LAZY = {
    "BlobStore": "node.store.blobs",
    "FileBlobStore": "node.store.blobs",
    "MemoryBlobStore": "node.store.blobs",
    "StagedBlob": "node.store.blobs",
    "sha256_hex": "node.store.blobs",
    "stage_blob": "node.store.blobs",
    "Level": "node.store.criteria",
    "Match": "node.store.criteria",
    "MatchKind": "node.store.criteria",
    "SearchRequest": "node.store.criteria",
    "InstanceStore": "node.store.instance_store",
    "InstanceAttributes": "node.store.records",
    "InstanceRecord": "node.store.records",
    "PutStatus": "node.store.records",
    "SeriesRecord": "node.store.records",
    "StudyRecord": "node.store.records",
    "searchable_keywords": "node.store.search",
}
"""Exports loaded on first use: the instance store pulls in pydicom, which a process that
only reads and writes the ledger (every ``flwr-clientapp`` process, per message) does not need."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'node.store' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "BlobStore",
    "FileBlobStore",
    "InstanceAttributes",
    "InstanceRecord",
    "InstanceStore",
    "Level",
    "Match",
    "MatchKind",
    "MemoryBlobStore",
    "PutStatus",
    "SearchRequest",
    "SeriesRecord",
    "StagedBlob",
    "StudyRecord",
    "create_database_engine",
    "migrate",
    "searchable_keywords",
    "sha256_hex",
    "stage_blob",
]
