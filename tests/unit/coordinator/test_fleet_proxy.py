"""The Fleet proxy forwards the Fleet API byte for byte, headers included, and nothing else.

The SuperLink behind it is replaced by an ``httpx.MockTransport`` that records
what reached it; ``tests/integration/test_superlink.py`` runs the proxy in
front of a real SuperLink.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from coordinator.consortium.pki import load_or_create_keys
from coordinator.fleet_proxy import create_fleet_proxy

PROTOBUF = "application/protobuf"
BODY = bytes(range(256)) * 3  # binary, as a serialized protobuf message is


@pytest.fixture
def ca_certificate(tmp_path: Path) -> Path:
    return load_or_create_keys(tmp_path / "secrets", server_names=["127.0.0.1"]).ca_certificate_path


class Upstream:
    """The SuperLink's stand-in: records each request, answers like Flower 1.41's Fleet API."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("content-type", "").partition(";")[0] != PROTOBUF:
            content_type = request.headers.get("content-type", "")
            return httpx.Response(
                415, json={"detail": f"Unsupported Content-Type: {content_type!r}"}
            )
        return httpx.Response(
            200, content=request.content[::-1], headers={"content-type": PROTOBUF}
        )


def _proxy(ca_certificate: Path, upstream: Upstream) -> TestClient:
    app = create_fleet_proxy(
        "https://127.0.0.1:9",
        ca_certificate=ca_certificate,
        transport=httpx.MockTransport(upstream),
    )
    return TestClient(app, base_url="https://fleet.example")


def test_a_supernode_request_reaches_the_superlink_with_its_content_type_and_body(
    ca_certificate: Path,
) -> None:
    upstream = Upstream()
    headers = {
        "content-type": PROTOBUF,
        "accept": PROTOBUF,
        "flwr-public-key": "cHVibGlj",
        "flwr-signature": "c2lnbmVk",
        "flwr-timestamp": "2026-11-28T15:20:40.791Z",
    }
    with _proxy(ca_certificate, upstream) as client:
        answer = client.post("/v1/fleet/push-messages", content=BODY, headers=headers)
    assert answer.status_code == 200
    assert answer.content == BODY[::-1]
    assert answer.headers["content-type"] == PROTOBUF
    (forwarded,) = upstream.requests
    assert forwarded.url == "https://127.0.0.1:9/v1/fleet/push-messages"
    assert forwarded.content == BODY
    assert forwarded.headers["content-length"] == str(len(BODY))
    for name, value in headers.items():
        assert forwarded.headers.get_list(name) == [value], name
    assert forwarded.headers["host"] == "127.0.0.1:9"  # the upstream's, not the caller's


def test_a_content_type_with_parameters_is_passed_unchanged(ca_certificate: Path) -> None:
    upstream = Upstream()
    with _proxy(ca_certificate, upstream) as client:
        answer = client.post(
            "/v1/fleet/pull-messages",
            content=BODY,
            headers={"Content-Type": f"{PROTOBUF}; charset=binary"},
        )
    assert answer.status_code == 200
    assert upstream.requests[0].headers.get_list("content-type") == [f"{PROTOBUF}; charset=binary"]


def test_a_request_without_content_type_gets_the_superlinks_415_and_no_header_is_invented(
    ca_certificate: Path,
) -> None:
    upstream = Upstream()
    with _proxy(ca_certificate, upstream) as client:
        answer = client.post("/v1/fleet/push-messages", content=b"not protobuf")
    assert answer.status_code == 415
    assert answer.json() == {"detail": "Unsupported Content-Type: ''"}
    (forwarded,) = upstream.requests
    assert "content-type" not in forwarded.headers
    assert forwarded.content == b"not protobuf"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/control/start-run"),
        ("POST", "/v1/runtime/pull-task-input"),
        ("GET", "/v1/fleet/pull-messages"),
        ("POST", "/v1/fleet/../control/start-run"),
        ("PUT", "/v1/fleet/push-messages"),
    ],
)
def test_anything_but_a_fleet_post_is_404_and_never_forwarded(
    ca_certificate: Path, method: str, path: str
) -> None:
    upstream = Upstream()
    with _proxy(ca_certificate, upstream) as client:
        answer = client.request(method, path, content=BODY, headers={"content-type": PROTOBUF})
    assert answer.status_code == 404
    assert "only the Fleet API" in answer.text
    assert upstream.requests == []


def test_an_unreachable_superlink_is_503_with_a_retry_hint(ca_certificate: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    app = create_fleet_proxy(
        "https://127.0.0.1:9", ca_certificate=ca_certificate, transport=httpx.MockTransport(refuse)
    )
    with TestClient(app) as client:
        answer = client.post(
            "/v1/fleet/push-messages", content=BODY, headers={"content-type": PROTOBUF}
        )
    assert answer.status_code == 503
    assert "not reachable; try again" in answer.text
