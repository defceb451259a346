"""The node on a real PostgreSQL server: migrations, ingest, QIDO, and a served node.

Larger sites point ``HARMONIA_NODE_DATABASE_URL`` at PostgreSQL instead of the
embedded SQLite file. These tests start a throwaway PostgreSQL cluster on
127.0.0.1 and run the same store operations the SQLite suite runs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect

from node.dicom.ingest import IngestStatus
from node.runtime import open_node
from node.settings import NodeSettings
from node.store import Level, Match, MatchKind, SearchRequest
from shared.phantoms import SITE_STYLES, PhantomSpec, dataset_to_bytes, generate_series
from tests.dicom_samples import multipart_body
from tests.support.node_process import running_node
from tests.support.postgres import PostgresServer, postgres_bin_dir, running_postgres

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(postgres_bin_dir() is None, reason="PostgreSQL server not installed"),
]


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    with running_postgres() as server:
        yield server


def _phantom(slices: int, *, seed: int = 11, series_number: int = 1) -> list[bytes]:
    spec = PhantomSpec(
        modality="CT",
        rows=64,
        columns=64,
        slices=slices,
        seed=seed,
        style=SITE_STYLES["ge-like"],
        series_number=series_number,
    )
    return [dataset_to_bytes(ds) for ds in generate_series(spec).datasets()]


def test_migrations_create_every_table_and_rerun_cleanly(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    settings = NodeSettings(data_dir=tmp_path / "node", database_url=postgres.url)
    with open_node(settings) as runtime:
        tables = set(inspect(runtime.engine).get_table_names())
    with open_node(settings):  # a second open finds the schema at head and changes nothing
        pass
    assert {"studies", "series", "instances", "api_tokens", "alembic_version"} <= tables


def test_ingest_deduplicates_and_searches_on_postgres(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    parts = _phantom(6)
    settings = NodeSettings(data_dir=tmp_path / "node", database_url=postgres.url)
    with open_node(settings) as runtime:
        outcomes = [runtime.ingest.ingest_bytes(part, source="test") for part in parts]
        again = runtime.ingest.ingest_bytes(parts[0], source="test")
        assert all(outcome.accepted for outcome in outcomes)
        assert again.status is IngestStatus.DUPLICATE
        assert runtime.store.count_instances() == 6
        (study,) = runtime.store.search_studies(SearchRequest(Level.STUDY))
        series = runtime.store.search_series(
            SearchRequest(
                Level.SERIES,
                matches=(Match("Modality", MatchKind.SINGLE_VALUE, ("CT",)),),
            )
        )
        assert len(series) == 1 and series[0].study.study_instance_uid == study.study_instance_uid
        assert series[0].number_of_instances == 6
        wildcard = runtime.store.search_studies(
            SearchRequest(
                Level.STUDY,
                matches=(Match("PatientID", MatchKind.WILDCARD, (study.patient_id[:3] + "*",)),),
            )
        )
        assert [found.study_instance_uid for found in wildcard] == [study.study_instance_uid]


def test_concurrent_ingest_of_the_same_instances_stores_each_once(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    parts = _phantom(8, seed=12)
    settings = NodeSettings(data_dir=tmp_path / "node", database_url=postgres.url)
    with open_node(settings) as runtime:
        failures: list[BaseException] = []

        def send() -> None:
            try:
                for part in parts:
                    assert runtime.ingest.ingest_bytes(part, source="test").accepted
            except BaseException as exc:  # reported below, on the test's thread
                failures.append(exc)

        senders = [threading.Thread(target=send) for _ in range(4)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(timeout=120)
        assert not failures, failures
        assert runtime.store.count_instances() == 8
        assert len(set(runtime.store.blobs.digests())) == 8


def test_served_node_stores_stow_in_postgres(tmp_path: Path, postgres: PostgresServer) -> None:
    body, content_type = multipart_body(_phantom(3, seed=13))
    data_dir = tmp_path / "node"
    env = {"HARMONIA_NODE_DATABASE_URL": postgres.url}
    with running_node(data_dir, env=env) as node:
        headers = {"Authorization": f"Bearer {node.token}"}
        stored = httpx.post(
            f"{node.url}/dicom-web/studies",
            content=body,
            headers={**headers, "Content-Type": content_type},
            timeout=60,
        )
        assert stored.status_code == 200, stored.text
        found = httpx.get(f"{node.url}/dicom-web/instances", headers=headers, timeout=30)
        assert found.status_code == 200
        assert len(found.json()) == 3
    assert not (data_dir / "node.sqlite3").exists()
