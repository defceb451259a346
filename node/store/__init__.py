"""The node's store: SQL metadata (SQLAlchemy 2, Alembic) plus content-addressed files.

Everything in it is already de-identified. SQLite in WAL mode is the embedded
default; any SQLAlchemy URL (PostgreSQL for larger sites) works the same.
"""

from node.store import alert_tables as alert_tables  # registers the tables on Base
from node.store import annotation_tables as annotation_tables  # registers the tables on Base
from node.store import auth_tables as auth_tables  # registers the tables on Base
from node.store import egress_tables as egress_tables  # registers the tables on Base
from node.store.blobs import (
    BlobStore,
    FileBlobStore,
    MemoryBlobStore,
    StagedBlob,
    sha256_hex,
    stage_blob,
)
from node.store.criteria import Level, Match, MatchKind, SearchRequest
from node.store.database import create_database_engine, migrate
from node.store.instance_store import InstanceStore
from node.store.records import (
    InstanceAttributes,
    InstanceRecord,
    PutStatus,
    SeriesRecord,
    StudyRecord,
)
from node.store.search import searchable_keywords

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
