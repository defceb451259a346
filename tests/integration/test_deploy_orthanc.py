"""deploy/compose/orthanc's configuration on a real Orthanc forwards to a real node.

The Orthanc configuration and the Lua script of the deployment kit are used as
shipped, with only what a test must change (storage under tmp, free loopback
ports, the node's address, no remote access, authentication off for the
upload): an instance stored in Orthanc reaches the node by DICOMweb STOW-RS
with the node's token (substituted by Orthanc from its environment), and with
``HARMONIA_FORWARD=cstore`` by C-STORE to the node's SCP.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.dicom_samples import pydicom_file
from tests.support.node_process import NodeProcess, free_port, running_node
from tests.support.orthanc import (
    ORTHANC_BINARY,
    ORTHANC_DICOMWEB_PLUGIN,
    _stop,
    _wait_until_up,
    orthanc_installed,
)
from tests.unit.deploy.conftest import DEPLOY

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not orthanc_installed(), reason="Orthanc is not installed"),
]
KIT = DEPLOY / "compose" / "orthanc"


@contextmanager
def deployed_orthanc(root: Path, node: NodeProcess, dicom_port: int, route: str) -> Iterator[str]:
    config = json.loads((KIT / "orthanc.json").read_text())
    http_port = free_port()
    config.update(
        StorageDirectory=str(root / "storage"),
        IndexDirectory=str(root / "storage"),
        HttpPort=http_port,
        DicomPort=free_port(),
        RemoteAccessAllowed=False,
        AuthenticationEnabled=False,
        Plugins=[ORTHANC_DICOMWEB_PLUGIN],
        LuaScripts=[str(KIT / "forward.lua")],
    )
    ae, _host, _port = config["DicomModalities"]["harmonia"]
    config["DicomModalities"]["harmonia"] = [ae, "127.0.0.1", dicom_port]
    config["DicomWeb"]["Servers"]["harmonia"]["Url"] = f"{node.url}/dicom-web/"
    root.mkdir(parents=True)
    (root / "orthanc.json").write_text(json.dumps(config))
    env = {
        **os.environ,
        "HARMONIA_INGEST_TOKEN": node.token,
        "ORTHANC_ADMIN_PASSWORD": "unused",
        "HARMONIA_FORWARD": route,
    }
    log = root / "orthanc.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [ORTHANC_BINARY, str(root / "orthanc.json")],
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=root,
            env=env,
        )
    url = f"http://127.0.0.1:{http_port}"
    try:
        _wait_until_up(process, url, log)
        yield url
    finally:
        _stop(process)


def _instances(node: NodeProcess) -> int:
    response = httpx.get(
        f"{node.url}/dicom-web/instances",
        headers={"Authorization": f"Bearer {node.token}", "Accept": "application/dicom+json"},
        timeout=30,
    )
    return len(response.json()) if response.status_code == 200 else 0


def _wait_for(node: NodeProcess, count: int, log: Path) -> None:
    deadline = time.monotonic() + 120
    while _instances(node) < count:
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
        time.sleep(0.5)


def test_orthanc_forwards_by_stow_and_by_cstore(tmp_path: Path) -> None:
    dicom_port = free_port()
    env = {"HARMONIA_NODE_FSYNC": "false", "HARMONIA_NODE_INGEST_WORKERS": "0"}
    extra = ["--dicom-port", str(dicom_port), "--allow-ae", "ORTHANC"]
    with running_node(tmp_path / "node", extra_args=extra, env=env) as node:
        for route, sample, expected in (
            ("stow", "CT_small.dcm", 1),
            ("cstore", "MR_small.dcm", 2),
        ):
            with deployed_orthanc(tmp_path / route, node, dicom_port, route) as orthanc:
                uploaded = httpx.post(
                    f"{orthanc}/instances", content=pydicom_file(sample).read_bytes(), timeout=60
                )
                assert uploaded.status_code == 200, uploaded.text
                _wait_for(node, expected, tmp_path / route / "orthanc.log")
        metrics = httpx.get(f"{node.url}/metrics", timeout=30).text
    assert 'harmonia_node_ingest_instances_total{outcome="stored",path="stow"} 1.0' in metrics
    assert 'harmonia_node_ingest_instances_total{outcome="stored",path="cstore"} 1.0' in metrics
