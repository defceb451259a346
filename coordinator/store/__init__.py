"""The coordinator's store: SQL tables (SQLAlchemy 2) and their Alembic migrations.

SQLite in WAL mode is the embedded default; any SQLAlchemy URL (PostgreSQL)
works the same. The coordinator's migrations are its own, under
``coordinator/store/migrations``, independent of the node's.
"""

from coordinator.store.database import create_database_engine, migrate
from coordinator.store.tables import (
    AdminTokenRow,
    AdminUserRow,
    Base,
    CertificateRow,
    EnrollmentTokenRow,
    GuidelineReleaseRow,
    GuidelineVersionRow,
    SiteRow,
)

__all__ = [
    "AdminTokenRow",
    "AdminUserRow",
    "Base",
    "CertificateRow",
    "EnrollmentTokenRow",
    "GuidelineReleaseRow",
    "GuidelineVersionRow",
    "SiteRow",
    "create_database_engine",
    "migrate",
]
