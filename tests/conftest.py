"""Fixtures shared by every test tier: a real node in a temporary data directory."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from node.auth import Scope
from node.runtime import NodeRuntime, open_node
from node.settings import NodeSettings


def testdata(name: str) -> Path:
    """Path of one of pydicom's bundled test files."""
    path = get_testdata_file(name)
    assert path is not None, name
    return Path(str(path))


def multipart_body(parts: Sequence[bytes], *, part_type: str = "application/dicom") -> tuple[bytes, str]:
    """Encode ``parts`` as multipart/related; returns (body, content-type header)."""
    boundary = f"harmonia-{uuid.uuid4().hex}"
    chunks = []
    for part in parts:
        chunks.append(f"--{boundary}\r\nContent-Type: {part_type}\r\n\r\n".encode() + part + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f'multipart/related; type="application/dicom"; boundary={boundary}'


@pytest.fixture
def node_settings(tmp_path: Path) -> NodeSettings:
    return NodeSettings(data_dir=tmp_path / "node", fsync=False)


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
