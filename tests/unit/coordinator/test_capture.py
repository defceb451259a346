"""The coordinator's capture of received bytes: a real uvicorn listener on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from uvicorn.protocols.http.auto import AutoHTTPProtocol
from uvicorn.protocols.http.h11_impl import H11Protocol

from coordinator.capture import listener_protocol
from coordinator.settings import CoordinatorSettings


async def echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"got {len(await request.body())} bytes")


@contextmanager
def serving(protocol: type) -> Iterator[str]:
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = Starlette(routes=[Route("/{path:path}", echo, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", http=protocol)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the server did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def test_without_a_capture_directory_the_protocol_is_unchanged() -> None:
    assert listener_protocol(None, "site") is AutoHTTPProtocol
    assert listener_protocol(None, "site", H11Protocol) is H11Protocol


@pytest.mark.parametrize("base", [AutoHTTPProtocol, H11Protocol])
def test_every_received_byte_is_recorded_per_connection(tmp_path: Path, base: type) -> None:
    protocol = listener_protocol(tmp_path / "capture", "site", base)
    assert issubclass(protocol, base)
    body = b"CANARY-0123456AB" * 1000
    with serving(protocol) as url:
        with httpx.Client(base_url=url) as client:  # one connection, two requests
            assert client.post("/a", content=body).text == f"got {len(body)} bytes"
            assert client.post("/b", content=b"second").status_code == 200
        with httpx.Client(base_url=url) as client:
            client.post("/c", content=b"third")
    files = sorted((tmp_path / "capture").glob("site-*.bin"))
    assert len(files) == 2
    first, second = (f.read_bytes() for f in files)
    assert first.startswith(b"POST /a HTTP/1.1\r\n") and body in first
    assert b"POST /b HTTP/1.1\r\n" in first and first.endswith(b"second")
    assert second.startswith(b"POST /c ") and second.endswith(b"third")


def test_the_development_profile_accepts_a_capture_directory(tmp_path: Path) -> None:
    settings = CoordinatorSettings(data_dir=tmp_path, capture_dir=tmp_path / "capture")
    assert settings.capture_dir == tmp_path / "capture"
