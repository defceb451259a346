"""The doctor's learning-service check: a real service answering, and one that cannot start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from node.consortium import Membership, MembershipFiles, consortium_dir
from node.doctor import Status, last_error, learning_check
from node.learn.client import service_socket
from node.learn.service import LearningServer

pytest.importorskip("torch")


def _enroll_record(data_dir: Path, *, fleet: str = "127.0.0.1:9092") -> None:
    """The enrollment record ``harmonia-node enroll`` writes (what the check reads)."""
    files = MembershipFiles(consortium_dir(data_dir))
    files.record.parent.mkdir(parents=True, exist_ok=True)
    membership = Membership(
        site="site-a",
        enrollment_url="http://127.0.0.1:9090",
        coordinator_url="https://127.0.0.1:9091",
        fleet_address=fleet,
        serial="01",
        not_after="2030-01-01T00:00:00+00:00",
        enrolled_at="2026-11-28T00:00:00+00:00",
    )
    files.record.write_text(json.dumps(membership.to_json()))


def test_the_error_after_the_last_start_is_named(tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    assert last_error(log) is None  # no log yet
    log.write_text(
        "Traceback (most recent call last):\n  File x\nValueError: an old failure\n"
        "2026-11-28 INFO learning service of /d listening on /d/learn/service.sock\n"
    )
    assert last_error(log) is None  # it failed once, then started
    with open(log, "a") as handle:
        handle.write(
            "Traceback (most recent call last):\n"
            '  File "service.py", line 1, in bind\n'
            "    listener.bind(address)\n"
            "OSError: AF_UNIX path too long\n"
        )
    assert last_error(log) == "OSError: AF_UNIX path too long"


def test_a_node_outside_a_flower_federation_is_skipped(tmp_path: Path) -> None:
    assert learning_check(tmp_path).status is Status.SKIP  # not enrolled
    _enroll_record(tmp_path, fleet="")
    result = learning_check(tmp_path)
    assert result.status is Status.SKIP and "no Flower rounds" in result.summary


def test_a_running_service_in_a_deep_data_dir_answers(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*(["a-rather-long-folder-name"] * 6))
    assert len(os.fsencode(service_socket(deep))) > 107  # beyond sun_path
    _enroll_record(deep)
    assert "not running" in learning_check(deep).summary  # before serve starts it
    server = LearningServer(deep, {})
    server.bind()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = learning_check(deep, timeout=30)
    finally:
        server.stop()
        thread.join(timeout=10)
    assert result.status is Status.OK, result
    assert f"pid {os.getpid()}" in result.summary


def test_a_service_that_cannot_start_is_named_with_its_error(tmp_path: Path) -> None:
    _enroll_record(tmp_path)
    socket_path = service_socket(tmp_path)
    socket_path.mkdir(parents=True)  # a folder where its socket goes: bind fails
    log = socket_path.parent / "service.log"
    # the service's own bind in a process logging where serve sends its output (the full
    # 'python -m node.learn.service' imports torch before it binds: a minute on a busy CI)
    bind = (
        "import sys; from pathlib import Path; from node.learn.service import LearningServer; "
        "LearningServer(Path(sys.argv[1]), {}).bind()"
    )
    with open(log, "wb") as handle:
        exited = subprocess.run(
            [sys.executable, "-c", bind, str(tmp_path)],
            stdout=handle,
            stderr=subprocess.STDOUT,
            timeout=300,
            check=False,
        )
    assert exited.returncode != 0
    result = learning_check(tmp_path, timeout=5)
    assert result.status is Status.WARN, result
    assert "does not start" in result.summary and "Error" in result.summary, result
    assert str(log) in result.summary and "training rounds fail" in result.summary
