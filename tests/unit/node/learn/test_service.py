import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from node.learn.client import LearningClient, LearningServiceUnavailableError, service_socket
from node.learn.service import LearningServer
from shared.errors import InvalidInputError


def _serve(tmp_path: Path, handlers: dict) -> tuple[LearningServer, threading.Thread]:
    server = LearningServer(tmp_path, handlers)
    server.bind()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def test_requests_reach_their_handler_over_an_owner_only_socket(tmp_path: Path) -> None:
    seen = []

    def echo(header: dict, body: bytes) -> tuple[dict, bytes]:
        seen.append(header)
        return {"ok": True, "size": len(body)}, body[::-1]

    server, thread = _serve(tmp_path, {"train": echo})
    try:
        path = service_socket(tmp_path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        client = LearningClient(tmp_path, timeout_s=10)
        assert client.ping().header["ok"] is True
        reply = client.request("train", {"round_id": "r1", "plan": "{}"}, b"abc" * 1000)
        assert reply.ok and reply.header["size"] == 3000 and reply.body == b"cba" * 1000
        assert seen[0]["op"] == "train" and seen[0]["round_id"] == "r1"
        unknown = client.request("predict", {})
        assert not unknown.ok and unknown.header["error"] == "UnknownOperation"
    finally:
        server.stop()
        thread.join(timeout=5)
    assert not service_socket(tmp_path).exists()


def test_a_data_dir_deeper_than_a_unix_socket_address_still_serves(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*(["a-rather-long-folder-name"] * 6))
    assert len(str(service_socket(deep))) > 108  # beyond sun_path
    server, thread = _serve(deep, {})
    try:
        assert service_socket(deep).exists()
        assert LearningClient(deep, timeout_s=10).ping().header["ok"] is True
    finally:
        server.stop()
        thread.join(timeout=5)


def test_refusals_and_crashes_become_replies_and_the_service_survives(tmp_path: Path) -> None:
    def refuse(header: dict, body: bytes) -> tuple[dict, bytes]:
        raise InvalidInputError("the plan does not fit this project")

    def crash(header: dict, body: bytes) -> tuple[dict, bytes]:
        raise RuntimeError("boom")

    server, thread = _serve(tmp_path, {"train": refuse, "evaluate": crash})
    try:
        client = LearningClient(tmp_path, timeout_s=10)
        refused = client.request("train", {})
        assert refused.header["error"] == "InvalidInputError"
        assert "does not fit" in refused.header["message"]
        assert client.request("evaluate", {}).header["error"] == "RuntimeError"
        assert client.ping().header["served"] == 2
    finally:
        server.stop()
        thread.join(timeout=5)


def test_no_service_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LearningServiceUnavailableError, match="harmonia-node serve"):
        LearningClient(tmp_path).ping()


def test_a_socket_left_by_a_killed_service_refuses_without_a_start_wait(tmp_path: Path) -> None:
    path = service_socket(tmp_path)
    path.parent.mkdir()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(path))  # bound, never listening: what a killed service leaves
    with pytest.raises(LearningServiceUnavailableError, match="did not answer"):
        LearningClient(tmp_path).ping()


def test_a_client_waits_for_a_service_that_is_starting(tmp_path: Path) -> None:
    started: list[tuple[LearningServer, threading.Thread]] = []
    timer = threading.Timer(0.5, lambda: started.append(_serve(tmp_path, {})))
    timer.start()
    try:
        reply = LearningClient(tmp_path, timeout_s=10, start_wait_s=30).ping()
        assert reply.ok
    finally:
        timer.join()
        for server, thread in started:
            server.stop()
            thread.join(timeout=5)


def test_a_service_that_never_starts_is_a_clear_error_after_the_wait(tmp_path: Path) -> None:
    with pytest.raises(LearningServiceUnavailableError, match="harmonia-node serve"):
        LearningClient(tmp_path, start_wait_s=0.3).ping()


def test_the_clientapp_and_the_client_import_no_torch() -> None:
    code = (
        "import sys, node.clientapp.app, node.learn.client, coordinator.serverapp.training; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
