"""The coordinator's SuperLink on real processes: loopback only, Fleet proxy, node auth."""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from shared.flower_process import FLOWER_HARDENING, flower_environment, flower_executable
from tests.support.node_process import free_port, stop

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARMONIA_")}
    env.update(HARMONIA_COORDINATOR_FSYNC="false", HARMONIA_NODE_FSYNC="false")
    return env


@dataclass
class Coordinator:
    process: subprocess.Popen[bytes]
    data_dir: Path
    url: str
    fleet_port: int
    superlink_port: int

    def cli(self, module: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", module, *args],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=120,
            check=True,
        )

    def registered(self) -> dict[str, dict[str, str]]:
        path = self.data_dir / "flower" / "supernodes.json"
        return json.loads(path.read_text()) if path.exists() else {}


@pytest.fixture(scope="module")
def coordinator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coordinator]:
    root = tmp_path_factory.mktemp("superlink")
    port, site_port, fleet_port, superlink_port = (free_port() for _ in range(4))
    data_dir = root / "coordinator"
    with open(root / "coordinator.log", "wb") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "coordinator.cli", "serve", "--data-dir", str(data_dir)),
                *("--port", str(port), "--site-port", str(site_port), "--flower"),
                *("--fleet-port", str(fleet_port), "--superlink-port", str(superlink_port)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_env(),
        )
    try:
        end = time.monotonic() + 90
        while True:
            assert process.poll() is None, (root / "coordinator.log").read_text()
            try:
                with socket.create_connection(("127.0.0.1", superlink_port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < end, "the SuperLink did not start"
                time.sleep(0.2)
        yield Coordinator(process, data_dir, f"http://127.0.0.1:{port}", fleet_port, superlink_port)
    finally:
        stop(process)


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def _ca(coordinator: Coordinator) -> str:
    return str(coordinator.data_dir / "secrets" / "ca.pem")


def test_control_api_is_bound_to_loopback_only(coordinator: Coordinator) -> None:
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this host has no non-loopback IPv4 address to try")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((address, coordinator.superlink_port), timeout=5).close()


def test_the_fleet_proxy_serves_only_the_fleet_api(coordinator: Coordinator) -> None:
    context = ssl.create_default_context(cafile=_ca(coordinator))
    fleet = f"https://127.0.0.1:{coordinator.fleet_port}"
    for path in ("/v1/control/list-nodes", "/v1/control/start-run", "/v1/runtime/pull-task-input"):
        response = httpx.post(f"{fleet}{path}", content=b"", verify=context, timeout=10)
        assert response.status_code == 404, path
    # the SuperLink itself (loopback) does serve those paths: the proxy is what blocks them
    direct = httpx.post(
        f"https://127.0.0.1:{coordinator.superlink_port}/v1/control/list-nodes",
        content=b"",
        verify=context,
        timeout=10,
    )
    assert direct.status_code != 404
    # and the Fleet paths pass through to it
    passed = httpx.post(f"{fleet}/v1/fleet/get-run", content=b"", verify=context, timeout=10)
    assert passed.status_code != 404


def test_an_unregistered_supernode_key_is_refused(coordinator: Coordinator, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    key_file = tmp_path / "stranger.key"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    # output to a file, not a pipe: the SuperNode's own helper (flower-superexec) inherits the
    # descriptors and lives until it sees its parent gone, i.e. until we reap the SuperNode
    log = tmp_path / "supernode.log"
    with open(log, "wb") as handle:
        supernode = subprocess.Popen(
            [
                flower_executable("flower-supernode"),
                *("--superlink", f"127.0.0.1:{coordinator.fleet_port}"),
                *("--root-certificates", _ca(coordinator)),
                *("--auth-supernode-private-key", str(key_file)),
                *("--port", str(free_port()), "--max-retries", "1", "--max-wait-time", "30"),
            ],
            env=flower_environment(tmp_path / "flwr-home"),
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        returncode = supernode.wait(timeout=120)
    finally:
        stop(supernode)
    assert returncode != 0
    assert "Failed to activate SuperNode" in log.read_text(errors="replace")


def test_enrolled_keys_are_registered_and_revoked_ones_removed(
    coordinator: Coordinator, tmp_path: Path
) -> None:
    added = coordinator.cli(
        "coordinator.cli", "site", "add", "hosp-x", "--data-dir", str(coordinator.data_dir)
    )
    match = re.search(r"(hce\.\S+)", added.stdout)
    assert match is not None
    node_dir = tmp_path / "node"
    coordinator.cli(
        "node.cli",
        *("enroll", "--data-dir", str(node_dir), "--coordinator", coordinator.url),
        *("--token", match.group(1)),
    )
    end = time.monotonic() + 60
    while "hosp-x" not in coordinator.registered():
        assert time.monotonic() < end, "the enrolled site's key was not registered"
        time.sleep(0.2)
    coordinator.cli(
        "coordinator.cli", "site", "revoke", "hosp-x", "--data-dir", str(coordinator.data_dir)
    )
    end = time.monotonic() + 60
    while "hosp-x" in coordinator.registered():
        assert time.monotonic() < end, "the revoked site's key was not unregistered"
        time.sleep(0.2)


def test_flower_processes_get_the_hardened_environment(coordinator: Coordinator) -> None:
    pid = None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(part.endswith(b"flower-superlink") for part in cmdline) and str(
            coordinator.data_dir
        ).encode() in b" ".join(cmdline):
            pid = entry.name
            break
    assert pid is not None
    environ = dict(
        item.split("=", 1)
        for item in Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
        if "=" in item
    )
    for name, value in FLOWER_HARDENING.items():
        assert environ[name] == value
    assert environ["FLWR_HOME"] == str(coordinator.data_dir / "flower" / "home")


def _flower_runs(coordinator: Coordinator) -> list[dict[str, object]]:
    """The SuperLink's runs, as ``flwr ls`` lists them."""
    listed = subprocess.run(
        [flower_executable("flwr"), "ls", "harmonia", "--format", "json"],
        capture_output=True,
        text=True,
        env=flower_environment(coordinator.data_dir / "flower" / "home"),
        timeout=120,
        check=False,
    )
    try:
        runs: list[dict[str, object]] = json.loads(listed.stdout)["runs"]
    except (ValueError, KeyError):
        return []
    return runs


def test_a_run_in_progress_ends_interrupted_when_the_coordinator_stops(
    coordinator: Coordinator,
) -> None:
    """Last in the module: it stops the coordinator (SIGTERM, as an operator's restart does)."""
    from coordinator.models import RunStatus
    from coordinator.runtime import open_coordinator
    from coordinator.settings import CoordinatorSettings

    created = coordinator.cli(
        "coordinator.cli",
        *("token", "create", "--user", "trainer", "--role", "coordinator-admin"),
        *("--data-dir", str(coordinator.data_dir)),
    )
    token = re.search(r"hca_\S+", created.stdout)
    assert token is not None, created.stdout
    plan = {
        "name": "seg",
        "task": "segmentation",
        "labels": ["lesion"],
        "model": {"features": [4, 8], "groups": 4},
        "input": {"size": 32},
    }
    with httpx.Client(
        base_url=coordinator.url,
        headers={"Authorization": f"Bearer {token.group(0)}"},
        timeout=120,
    ) as api:
        # no node will come: the ServerApp waits for one, the service follows the run
        body = {"plan": plan, "project": "p", "rounds": 2, "expected_nodes": 1}
        started = api.post("/api/v1/training/runs", json={**body, "wait_nodes_s": 900})
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
    end = time.monotonic() + 300
    while not any("running" in str(r.get("status", "")).lower() for r in _flower_runs(coordinator)):
        assert time.monotonic() < end, (coordinator.data_dir.parent / "coordinator.log").read_text()
        time.sleep(1)

    coordinator.process.terminate()  # SIGTERM: the service shuts down
    coordinator.process.wait(timeout=120)
    settings = CoordinatorSettings(data_dir=coordinator.data_dir, fsync=False)
    with open_coordinator(settings) as runtime:
        run = runtime.models.run(run_id)
    assert run.status is RunStatus.INTERRUPTED, run
    assert "the coordinator stopped after 0 round(s)" in run.message
    assert run.ended_at is not None and run.model_version is None
