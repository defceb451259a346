"""Fixtures shared by every test tier: a real node in a temporary data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from node.auth import Scope
from node.runtime import NodeRuntime, open_node
from node.settings import NodeSettings


@pytest.fixture
def node_settings(tmp_path: Path) -> NodeSettings:
    return NodeSettings(data_dir=tmp_path / "node", fsync=False, ingest_workers=0)


@pytest.fixture
def runtime(node_settings: NodeSettings) -> Iterator[NodeRuntime]:
    with open_node(node_settings) as opened:
        yield opened


@pytest.fixture
def admin_token(runtime: NodeRuntime) -> str:
    return runtime.tokens.issue("test-admin", [Scope.ADMIN]).token


@pytest.fixture
def read_token(runtime: NodeRuntime) -> str:
    return runtime.tokens.issue("test-reader", [Scope.READ]).token


@pytest.fixture
def ingest_token(runtime: NodeRuntime) -> str:
    return runtime.tokens.issue("test-sender", [Scope.INGEST]).token


def _schedule_rank(item: pytest.Item) -> int:
    """Heavy modules first, then slow integration, integration, browser and unit tests."""
    path = item.path.as_posix()
    if item.get_closest_marker("heavy"):
        return -1
    if "/tests/integration/" in path:
        return 0 if item.get_closest_marker("slow") else 1
    return 2 if "/tests/e2e/" in path else 3


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # With `-n 2 --dist loadfile --no-loadscope-reorder` workers take modules in this order:
    # the long federated modules start first instead of being left for the end of the run.
    items.sort(key=_schedule_rank)
