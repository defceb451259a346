"""Enrollment and signed guideline sync between real processes on 127.0.0.1.

A real ``harmonia-coordinator serve`` (admin listener + mTLS site listener),
real ``harmonia-coordinator`` and ``harmonia-node`` command-line processes:
add a site, enroll the node, publish a guideline, sync it; then a reused and an
expired token, a tampered release, and revocation.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, update

from coordinator.consortium import token_digest
from coordinator.store import EnrollmentTokenRow, GuidelineReleaseRow
from node.consortium import MembershipFiles, consortium_dir
from node.exit_codes import ExitCode
from tests.support.coordinator_process import CoordinatorProcess, running_coordinator
from tests.support.node_process import free_port

pytestmark = pytest.mark.integration

GUIDELINE = Path(__file__).parents[2] / "docs" / "examples" / "guideline-lung-nodule.yaml"


def node_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARMONIA_NODE_")}
    env["HARMONIA_NODE_FSYNC"] = "false"
    env["HARMONIA_NODE_INGEST_WORKERS"] = "0"
    return subprocess.run(
        [sys.executable, "-m", "node.cli", "--log-level", "WARNING", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def add_site(coordinator: CoordinatorProcess, name: str) -> str:
    out = coordinator.cli("site", "add", name).stdout
    match = re.search(r"(hce\.\S+)", out)
    assert match is not None, out
    return match.group(1)


def enroll(
    coordinator: CoordinatorProcess, data_dir: Path, token: str
) -> subprocess.CompletedProcess[str]:
    return node_cli(
        "enroll", "--data-dir", str(data_dir), "--coordinator", coordinator.url, "--token", token
    )


def coordinator_db(coordinator: CoordinatorProcess) -> str:
    return f"sqlite:///{coordinator.data_dir / 'coordinator.sqlite3'}"


def tamper_release(coordinator: CoordinatorProcess, version: str) -> None:
    """Edit a published release's signed payload in the coordinator's database, unsigned."""
    engine = create_engine(coordinator_db(coordinator))
    with engine.begin() as connection:
        rows = connection.execute(GuidelineReleaseRow.__table__.select()).all()
        (row,) = [r for r in rows if json.loads(r.envelope)["version"] == version]
        envelope = json.loads(row.envelope)
        envelope["payload"]["title"] = envelope["payload"]["title"] + " (quietly edited)"
        connection.execute(
            update(GuidelineReleaseRow)
            .where(GuidelineReleaseRow.id == row.id)
            .values(envelope=json.dumps(envelope))
        )
    engine.dispose()


@pytest.fixture(scope="module")
def coordinator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CoordinatorProcess]:
    with running_coordinator(tmp_path_factory.mktemp("consortium") / "coordinator") as running:
        yield running


@pytest.fixture(scope="module")
def enrolled_node(
    coordinator: CoordinatorProcess, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    data_dir = tmp_path_factory.mktemp("hospital-a") / "node"
    result = enroll(coordinator, data_dir, add_site(coordinator, "hospital-a"))
    assert result.returncode == ExitCode.OK, result.stderr
    assert "Enrolled site hospital-a" in result.stdout
    return data_dir


def test_enrolled_node_syncs_a_published_guideline(
    coordinator: CoordinatorProcess, enrolled_node: Path
) -> None:
    membership = MembershipFiles(consortium_dir(enrolled_node)).membership()
    assert membership.coordinator_url == coordinator.site_url
    coordinator.cli("guideline", "publish", str(GUIDELINE))
    synced = node_cli("guideline", "sync", "--data-dir", str(enrolled_node))
    assert synced.returncode == ExitCode.OK, synced.stderr
    assert "loaded lung-nodule@1.0" in synced.stdout
    listed = node_cli("guideline", "list", "--data-dir", str(enrolled_node))
    assert listed.stdout.startswith("lung-nodule@1.0\t")


def test_the_site_listener_refuses_a_client_without_a_certificate(
    coordinator: CoordinatorProcess, enrolled_node: Path
) -> None:
    files = MembershipFiles(consortium_dir(enrolled_node))
    trusting = ssl.create_default_context(cafile=str(files.ca_bundle))
    with pytest.raises(httpx.HTTPError):  # the TLS handshake needs a certificate
        httpx.get(f"{coordinator.site_url}/api/v1/site/guidelines", verify=trusting, timeout=10)
    plain = httpx.get(f"{coordinator.url}/api/v1/site/guidelines", timeout=10)
    assert (plain.status_code, plain.json()["error"]) == (401, "CertificateRequiredError")


def test_a_reused_token_is_refused(coordinator: CoordinatorProcess, tmp_path: Path) -> None:
    token = add_site(coordinator, "hospital-r")
    assert enroll(coordinator, tmp_path / "first", token).returncode == ExitCode.OK
    second = enroll(coordinator, tmp_path / "second", token)
    assert second.returncode == ExitCode.SOURCE_UNREACHABLE
    assert "refused (409)" in second.stderr
    assert "already used" in second.stderr
    assert not MembershipFiles(consortium_dir(tmp_path / "second")).exists()


def test_an_expired_token_is_refused(coordinator: CoordinatorProcess, tmp_path: Path) -> None:
    token = add_site(coordinator, "hospital-e")
    engine = create_engine(coordinator_db(coordinator))
    with engine.begin() as connection:
        connection.execute(
            update(EnrollmentTokenRow)
            .where(EnrollmentTokenRow.token_sha256 == token_digest(token))
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    engine.dispose()
    result = enroll(coordinator, tmp_path / "node", token)
    assert result.returncode == ExitCode.SOURCE_UNREACHABLE
    assert "refused (410)" in result.stderr
    assert "expired" in result.stderr


def test_a_tampered_release_is_refused_by_the_node(
    coordinator: CoordinatorProcess, enrolled_node: Path, tmp_path: Path
) -> None:
    revised = tmp_path / "lung-2.json"
    document = yaml.safe_load(GUIDELINE.read_text())
    document["version"] = "2.0"
    revised.write_text(json.dumps(document))
    coordinator.cli("guideline", "publish", str(revised))
    tamper_release(coordinator, "2.0")
    synced = node_cli("guideline", "sync", "--data-dir", str(enrolled_node))
    assert synced.returncode == ExitCode.FAILED
    assert "refused guideline release lung-nodule@2.0" in synced.stderr
    assert "altered after signing" in synced.stderr
    listed = node_cli("guideline", "list", "--data-dir", str(enrolled_node)).stdout
    assert "lung-nodule@2.0" not in listed


def test_after_revocation_the_node_gets_403(
    coordinator: CoordinatorProcess, tmp_path: Path
) -> None:
    data_dir = tmp_path / "node"
    assert enroll(coordinator, data_dir, add_site(coordinator, "hospital-x")).returncode == 0
    assert node_cli("guideline", "sync", "--data-dir", str(data_dir)).returncode in (
        ExitCode.OK,
        ExitCode.FAILED,  # the tampered release of the test above, if it ran first
    )
    coordinator.cli("site", "revoke", "hospital-x")
    synced = node_cli("guideline", "sync", "--data-dir", str(data_dir))
    assert synced.returncode == ExitCode.SOURCE_UNREACHABLE
    assert "refused (403)" in synced.stderr
    assert "revoked" in synced.stderr


def test_a_busy_port_is_a_configuration_error(coordinator: CoordinatorProcess) -> None:
    busy = coordinator.url.rsplit(":", 1)[1]
    result = coordinator.cli("serve", "--port", busy, "--site-port", str(free_port()), check=False)
    assert result.returncode == 3
    assert "cannot listen on" in result.stderr
    assert "Traceback" not in result.stderr
