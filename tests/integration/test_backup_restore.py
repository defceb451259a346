"""The backup and restore procedure of docs/hospital-it-guide.md, run as documented.

A node receives two studies over STOW-RS and releases a message through its
egress gate; it is stopped, backed up with the guide's backup block, restored
into a new directory with the guide's restore block (which verifies the egress
ledger and the audit log and runs the doctor), and the restored node serves
the same instances, byte for byte.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from node.egress import EgressGate
from node.runtime import open_node
from node.settings import NodeSettings
from tests.dicom_samples import multipart_body, pydicom_file
from tests.support.node_process import running_node

pytestmark = pytest.mark.integration

MULTIPART = "multipart/related; type=application/dicom"
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "hospital-it-guide.md"


def _block(marker: str) -> str:
    match = re.search(rf"<!-- {marker} -->\s*```sh\n(.*?)```", GUIDE.read_text(), flags=re.S)
    assert match is not None, f"the guide has no {marker} block"
    return match.group(1)


def _run(script: str, **variables: str) -> subprocess.CompletedProcess[str]:
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARMONIA_")}
    env.update(variables, PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def _listing(url: str, token: str) -> list[str]:
    response = httpx.get(
        f"{url}/dicom-web/instances",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/dicom+json"},
        timeout=60,
    )
    response.raise_for_status()
    return sorted(item["00080018"]["Value"][0] for item in response.json())


def _instance_bytes(url: str, token: str) -> dict[str, bytes]:
    found = {}
    response = httpx.get(
        f"{url}/dicom-web/instances",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/dicom+json"},
        timeout=60,
    )
    for item in response.json():
        study = item["0020000D"]["Value"][0]
        series = item["0020000E"]["Value"][0]
        sop = item["00080018"]["Value"][0]
        path = f"/dicom-web/studies/{study}/series/{series}/instances/{sop}"
        got = httpx.get(
            f"{url}{path}",
            headers={"Authorization": f"Bearer {token}", "Accept": MULTIPART},
            timeout=60,
        )
        got.raise_for_status()
        found[sop] = got.content.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0]
    return found


def test_the_documented_backup_restores_a_serving_node(tmp_path: Path) -> None:
    original = tmp_path / "node"
    env = {"HARMONIA_NODE_FSYNC": "false", "HARMONIA_NODE_INGEST_WORKERS": "0"}
    settings = NodeSettings(data_dir=original, fsync=False, ingest_workers=0)
    with open_node(settings) as runtime:
        gate = EgressGate(runtime.engine, site="hospital-a", ledger_key=runtime.egress_key)
        gate.release("health", {"software_version": "0.1.0", "counters": {"instances": 2}}, "x")
    with running_node(original, env=env) as node:
        body, content_type = multipart_body(
            [pydicom_file(n).read_bytes() for n in ("CT_small.dcm", "MR_small.dcm")]
        )
        stored = httpx.post(
            f"{node.url}/dicom-web/studies",
            content=body,
            headers={"Authorization": f"Bearer {node.token}", "Content-Type": content_type},
            timeout=60,
        )
        assert stored.status_code == 200, stored.text
        before = _listing(node.url, node.token)
        files_before = _instance_bytes(node.url, node.token)
    assert len(before) == 2

    archive = tmp_path / "backup" / "node.tar.gz"
    archive.parent.mkdir()
    backup = _run(_block("backup-commands"), DATA_DIR=str(original), BACKUP=str(archive))
    assert backup.returncode == 0, backup.stderr
    assert archive.stat().st_size > 0

    restored_dir = tmp_path / "restored" / "node"
    restore = _run(_block("restore-commands"), DATA_DIR=str(restored_dir), BACKUP=str(archive))
    assert restore.returncode == 0, restore.stdout + restore.stderr
    assert "egress ledger intact: 1 entries" in restore.stdout
    assert "healthy: no check failed" in restore.stdout
    assert (restored_dir / "secrets" / "site.key").read_bytes() == (
        original / "secrets" / "site.key"
    ).read_bytes()

    with running_node(restored_dir, env=env, bootstrap_token=None) as restored:
        assert _listing(restored.url, node.token) == before
        assert _instance_bytes(restored.url, node.token) == files_before
