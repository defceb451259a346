from sqlalchemy import inspect

from coordinator.store import create_database_engine, migrate


def test_migration_creates_every_table_and_is_idempotent() -> None:
    engine = create_database_engine("sqlite://")
    migrate(engine)
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert {
        "sites",
        "enrollment_tokens",
        "certificates",
        "guideline_versions",
        "guideline_releases",
        "admin_users",
        "admin_tokens",
        "alembic_version",
    } <= tables
    engine.dispose()


def test_migration_creates_the_dashboard_tables() -> None:
    engine = create_database_engine("sqlite://")
    migrate(engine)
    inspector = inspect(engine)
    assert {"admin_sessions", "site_activity"} <= set(inspector.get_table_names())
    columns = {c["name"] for c in inspector.get_columns("site_activity")}
    assert {"site_id", "last_seen_at", "software_version", "version_source", "health"} <= columns
    engine.dispose()
