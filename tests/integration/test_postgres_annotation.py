"""The annotation domain on a real PostgreSQL server: the flow, and append-only revisions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from node.annotate import ProjectSpec, SeriesQuery, TaskStatus
from node.auth import Role
from node.runtime import open_node
from node.settings import NodeSettings
from shared.schemas import load_guideline
from tests.support.postgres import PostgresServer, postgres_bin_dir, running_postgres
from tests.unit.node.annotate.conftest import EXAMPLE, box, ingest_phantom, rads

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(postgres_bin_dir() is None, reason="PostgreSQL server not installed"),
]


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


def test_annotation_flow_and_triggers_on_postgres(tmp_path: Path, postgres: PostgresServer) -> None:
    settings = NodeSettings(data_dir=tmp_path / "node", database_url=postgres.url)
    with open_node(settings) as runtime:
        ingest_phantom(runtime)
        for name in ("alice", "bob"):
            runtime.users.create(name, None, Role.ANNOTATOR)
        service = runtime.annotation
        guideline = load_guideline(EXAMPLE)
        service.guidelines.load(guideline, loaded_by="admin")
        service.projects.create(
            ProjectSpec(
                name="lung",
                guideline_name=guideline.name,
                guideline_version=guideline.version,
                query=SeriesQuery(modality="ct", series_description="*"),
                readers=("alice", "bob"),
                readers_per_task=2,
            ),
            created_by="admin",
        )
        task_id = service.tasks.worklist("alice").items[0].task.id
        for reader, x0 in (("alice", 10), ("bob", 11)):
            aid = service.revisions.create(task_id, reader, box(x0=x0)).annotation_id
            service.revisions.revise(aid, reader, 1, box(x0=x0 + 1))
            service.revisions.create(task_id, reader, rads("2"))
            service.tasks.complete(task_id, reader)
        assert service.tasks.record(task_id).status is TaskStatus.CONSENSUS
        with pytest.raises(DatabaseError, match="append-only"), runtime.engine.begin() as c:
            c.execute(text("UPDATE annotation_revisions SET payload = '{}'"))
        with pytest.raises(DatabaseError, match="append-only"), runtime.engine.begin() as c:
            c.execute(text("DELETE FROM annotation_revisions"))
        with runtime.engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM annotation_revisions")).scalar() == 6
