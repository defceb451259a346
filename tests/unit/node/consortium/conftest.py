"""A real coordinator (in-process, through TestClient) for the node's consortium tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from coordinator.api import create_app
from coordinator.runtime import CoordinatorRuntime, open_coordinator
from coordinator.settings import CoordinatorSettings

COORDINATOR_URL = "http://127.0.0.1:8200"


class RecordingClient(TestClient):
    """TestClient that keeps the bodies it sent (to prove what left the node)."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.sent: list[bytes] = []

    def post(self, url: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        content = kwargs.get("content")
        if isinstance(content, bytes):
            self.sent.append(content)
        return super().post(url, **kwargs)


class WithClientCertificate:
    """What the site listener does after the TLS handshake (see coordinator.api.tls)."""

    def __init__(self, app: Any, chain: list[str]) -> None:
        self.app = app
        self.chain = chain

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope = {**scope, "extensions": {"tls": {"client_cert_chain": self.chain}}}
        await self.app(scope, receive, send)


@pytest.fixture
def coordinator(tmp_path: Path) -> Iterator[CoordinatorRuntime]:
    settings = CoordinatorSettings(
        data_dir=tmp_path / "coordinator", fsync=False, fleet_address="127.0.0.1:9092"
    )
    with open_coordinator(settings) as opened:
        yield opened


@pytest.fixture
def enroll_client(coordinator: CoordinatorRuntime) -> RecordingClient:
    return RecordingClient(create_app(coordinator.settings, runtime=coordinator))


def site_api(coordinator: CoordinatorRuntime, certificate_pem: str) -> TestClient:
    app = create_app(coordinator.settings, runtime=coordinator)
    return TestClient(
        WithClientCertificate(app, [certificate_pem]), base_url="https://127.0.0.1:8443"
    )
