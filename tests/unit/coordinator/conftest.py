"""Fixtures of the coordinator's unit tests: a real coordinator in a temporary data directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from coordinator.api import create_app
from coordinator.auth import Role
from coordinator.runtime import CoordinatorRuntime, open_coordinator
from coordinator.settings import CoordinatorSettings
from shared.crypto import build_csr, csr_pem, generate_private_key, public_key_pem

GUIDELINE: dict[str, Any] = {
    "name": "lung",
    "version": "1",
    "title": "Lung nodules",
    "labels": [{"name": "nodule", "kind": "box", "definition": "a solid nodule"}],
}


@pytest.fixture
def coordinator_settings(tmp_path: Path) -> CoordinatorSettings:
    return CoordinatorSettings(data_dir=tmp_path / "coordinator", fsync=False)


@pytest.fixture
def coordinator(coordinator_settings: CoordinatorSettings) -> Iterator[CoordinatorRuntime]:
    with open_coordinator(coordinator_settings) as opened:
        yield opened


@pytest.fixture
def client(
    coordinator_settings: CoordinatorSettings, coordinator: CoordinatorRuntime
) -> TestClient:
    return TestClient(create_app(coordinator_settings, runtime=coordinator))


def token_for(coordinator: CoordinatorRuntime, role: Role, username: str | None = None) -> str:
    return coordinator.tokens.issue(username or role.value, role=role).token


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def enrollment_body(token: str, site: str) -> dict[str, str]:
    """What a node sends, with fresh keys."""
    key = generate_private_key("ec-p256")
    return {
        "token": token,
        "site": site,
        "csr_pem": csr_pem(build_csr(key, site)).decode(),
        "supernode_public_key_pem": public_key_pem(generate_private_key("ec-p256")).decode(),
    }
