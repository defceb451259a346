"""``harmonia-node doctor`` against a real coordinator (serve --flower), real TLS and Orthanc.

A node is enrolled through the real CLI; the doctor then runs as a separate
process on copies of its data directory: healthy; with a foreign CA pinned;
with an expired certificate issued by the consortium's own CA; and, after the
coordinator is stopped by its PID, with the coordinator unreachable. A real
Orthanc answers the PACS checks.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from node.consortium import MembershipFiles, consortium_dir
from node.exit_codes import ExitCode
from shared.crypto import (
    CertificateAuthority,
    build_csr,
    certificate_pem,
    load_private_key,
)
from tests.support.node_process import free_port, stop
from tests.support.orthanc import orthanc_installed, running_orthanc

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_PROXY_VARIABLES = {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}


def _env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("HARMONIA_") and k.lower() not in _PROXY_VARIABLES
    }
    env.update(HARMONIA_COORDINATOR_FSYNC="false", HARMONIA_NODE_FSYNC="false")
    return env


def _cli(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=240,
        check=False,
    )


@dataclass
class Consortium:
    process: subprocess.Popen[bytes]
    coordinator_dir: Path
    node_dir: Path
    root: Path

    def node_copy(self, name: str) -> Path:
        target = self.root / name
        shutil.copytree(self.node_dir, target)
        return target


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    end = time.monotonic() + 120
    while time.monotonic() < end:
        assert process.poll() is None, log.read_text()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}:\n{log.read_text()}")


def _start_coordinator(root: Path, *, flower: bool) -> tuple[subprocess.Popen[bytes], int]:
    port, site_port, fleet_port, superlink_port = (free_port() for _ in range(4))
    log = root / "coordinator.log"
    command = [
        *(sys.executable, "-m", "coordinator.cli", "serve"),
        *("--data-dir", str(root / "coordinator"), "--port", str(port)),
        *("--site-port", str(site_port)),
    ]
    if flower:
        command += ["--flower", "--fleet-port", str(fleet_port)]
        command += ["--superlink-port", str(superlink_port)]
    with open(log, "wb") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=_env())
    _wait_listening(site_port, process, log)
    _wait_listening(port, process, log)
    if flower:
        _wait_listening(superlink_port, process, log)
        _wait_listening(fleet_port, process, log)
    return process, port


def _enroll(root: Path, port: int) -> Path:
    added = _cli(
        "coordinator.cli", "site", "add", "hospital-a", "--data-dir", str(root / "coordinator")
    )
    assert added.returncode == 0, added.stderr
    match = re.search(r"(hce\.\S+)", added.stdout)
    assert match is not None, added.stdout
    node_dir = root / "node"
    enrolled = _cli(
        "node.cli",
        *("enroll", "--data-dir", str(node_dir)),
        *("--coordinator", f"http://127.0.0.1:{port}", "--token", match.group(1)),
    )
    assert enrolled.returncode == 0, enrolled.stderr
    return node_dir


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    root = tmp_path_factory.mktemp("doctor")
    process, port = _start_coordinator(root, flower=True)
    try:
        node_dir = _enroll(root, port)
        yield Consortium(process, root / "coordinator", node_dir, root)
    finally:
        stop(process)


def _doctor(data_dir: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = _cli("node.cli", "doctor", "--data-dir", str(data_dir), "--json", *extra)
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def _checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["check"]: check for check in report["checks"]}


def test_a_healthy_node_passes_every_check(consortium: Consortium) -> None:
    code, report = _doctor(consortium.node_dir)
    checks = _checks(report)
    assert code == ExitCode.OK, report
    for name in (
        "enrollment",
        "certificate",
        "proxy",
        "dns site api",
        "tcp site api",
        "dns fleet api",
        "tcp fleet api",
        "tls site api",
        "clock",
        "fleet api",
        "database",
        "egress ledger",
        "audit log",
    ):
        assert checks[name]["status"] == "ok", checks[name]
    assert "both certificates accepted" in checks["tls site api"]["summary"]
    assert "answers over TLS" in checks["fleet api"]["summary"]


def test_a_foreign_ca_is_caught(consortium: Consortium) -> None:
    node_dir = consortium.node_copy("foreign-ca")
    files = MembershipFiles(consortium_dir(node_dir))
    files.ca_bundle.write_bytes(CertificateAuthority.create("Somebody else's CA").certificate_pem)
    code, report = _doctor(node_dir)
    checks = _checks(report)
    assert code == ExitCode.DOCTOR_TLS_UNTRUSTED, report
    assert checks["certificate"]["problem"] == "tls_untrusted"
    tls = checks["tls site api"]
    assert tls["status"] == "fail" and tls["problem"] == "tls_untrusted"
    assert "pinned consortium CA did not issue" in tls["summary"]
    assert "TLS-inspecting proxy" in tls["remedy"]
    assert checks["fleet api"]["problem"] == "tls_untrusted"


def test_an_expired_certificate_is_caught(consortium: Consortium) -> None:
    node_dir = consortium.node_copy("expired")
    files = MembershipFiles(consortium_dir(node_dir))
    secrets = consortium.coordinator_dir / "secrets"
    ca = CertificateAuthority.load(secrets / "ca.pem", secrets / "ca.key")
    key = load_private_key(files.tls_key)
    expired = ca.issue(
        build_csr(key, "hospital-a"),
        site="hospital-a",
        valid_for=timedelta(days=1),
        now=datetime.now(UTC) - timedelta(days=10),
    )
    files.certificate.write_bytes(certificate_pem(expired))
    code, report = _doctor(node_dir)
    checks = _checks(report)
    assert code == ExitCode.DOCTOR_CERTIFICATE_INVALID, report
    assert checks["certificate"]["problem"] == "certificate_invalid"
    assert "expired" in checks["certificate"]["summary"]
    assert "enroll --force" in checks["certificate"]["remedy"]
    tls = checks["tls site api"]
    assert tls["status"] == "fail" and tls["problem"] == "certificate_invalid", tls
    assert "refused the node's certificate" in tls["summary"]


@pytest.mark.skipif(not orthanc_installed(), reason="Orthanc is not installed")
def test_the_pacs_checks_against_orthanc(consortium: Consortium, tmp_path: Path) -> None:
    with running_orthanc(tmp_path) as orthanc:
        code, report = _doctor(
            consortium.node_dir,
            *("--pacs-url", orthanc.dicomweb_url),
            *("--pacs-dimse", f"{orthanc.aet}@127.0.0.1:{orthanc.dicom_port}"),
        )
    checks = _checks(report)
    assert code == ExitCode.OK, report
    assert checks["pacs dicomweb"]["status"] == "ok"
    assert checks["pacs dimse"]["status"] == "ok" and "C-ECHO" in checks["pacs dimse"]["summary"]


def test_an_unreachable_coordinator_is_caught(tmp_path: Path) -> None:
    process, port = _start_coordinator(tmp_path, flower=False)
    try:
        node_dir = _enroll(tmp_path, port)
    finally:
        stop(process)
    result = _cli("node.cli", "doctor", "--data-dir", str(node_dir), "--timeout", "5")
    assert result.returncode == ExitCode.DOCTOR_COORDINATOR_UNREACHABLE, result.stdout
    assert "[FAIL] tcp site api" in result.stdout
    assert "fix: allow outbound TCP" in result.stdout
    assert "[skip] tls site api" in result.stdout
    assert "[ ok ] database" in result.stdout
