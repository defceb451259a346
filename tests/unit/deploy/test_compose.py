"""The compose files validate with docker-compose and wire what they claim to wire."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from coordinator.settings import CoordinatorSettings
from node.settings import NodeSettings
from tests.unit.deploy.env_files import read_env

pytestmark = pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose is not installed"
)
ENV = {"HARMONIA_INGEST_TOKEN": "hn_example", "ORTHANC_ADMIN_PASSWORD": "example"}


def _config(deploy: Path, name: str) -> dict[str, Any]:
    env = {**ENV, "PATH": os.environ["PATH"]}
    result = subprocess.run(
        ["docker-compose", "-f", name, "config"],
        cwd=deploy / "compose",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = yaml.safe_load(result.stdout)
    return data


def _published(service: dict[str, Any]) -> set[str]:
    ports = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            host = port.get("host_ip", "0.0.0.0")
            ports.add(f"{host}:{port['published']}")
        else:
            parts = str(port).split("/")[0].split(":")
            host_ip = parts[0] if len(parts) == 3 else "0.0.0.0"
            ports.add(f"{host_ip}:{parts[-2]}")
    return ports


def test_node_with_orthanc(deploy_copy: Path) -> None:
    config = _config(deploy_copy, "node-with-orthanc.yml")
    node, orthanc = config["services"]["node"], config["services"]["orthanc"]
    assert _published(node) == {"127.0.0.1:8104"}
    env = node["environment"]
    prefix = "HARMONIA_NODE_"
    fields = {f"{prefix}{n.upper()}" for n in NodeSettings.model_fields}
    assert {k for k in env if k.startswith(prefix)} <= fields
    orthanc_config = json.loads((deploy_copy / "compose" / "orthanc" / "orthanc.json").read_text())
    called_ae, host, port = orthanc_config["DicomModalities"]["harmonia"]
    assert (called_ae, host, str(port)) == (
        env.get("HARMONIA_NODE_AE_TITLE", "HARMONIA"),
        "node",
        env["HARMONIA_NODE_DICOM_PORT"],
    )
    assert orthanc_config["DicomAet"] in json.loads(env["HARMONIA_NODE_ALLOW_AE"])
    stow = orthanc_config["DicomWeb"]["Servers"]["harmonia"]
    assert stow["Url"] == "http://node:8104/dicom-web/"
    assert stow["HttpHeaders"]["Authorization"] == "Bearer ${HARMONIA_INGEST_TOKEN}"
    assert orthanc["environment"]["HARMONIA_INGEST_TOKEN"] == "hn_example"
    lua = (deploy_copy / "compose" / "orthanc" / "forward.lua").read_text()
    assert "/dicom-web/servers/harmonia/stow" in lua and "/modalities/harmonia/store" in lua
    assert orthanc_config["LuaScripts"] == ["/etc/orthanc/forward.lua"]


def test_coordinator_with_proxy(deploy_copy: Path) -> None:
    config = _config(deploy_copy, "coordinator-with-proxy.yml")
    coordinator, proxy = config["services"]["coordinator"], config["services"]["proxy"]
    published = {p.rpartition(":")[2] for p in _published(coordinator)}
    assert published == {"443", "8443", "9092"}
    assert proxy["network_mode"] == "service:coordinator"
    assert not proxy.get("ports")
    env = read_env(deploy_copy / "compose" / "coordinator.env")
    prefix = "HARMONIA_COORDINATOR_"
    fields = {f"{prefix}{n.upper()}" for n in CoordinatorSettings.model_fields}
    assert {k for k in env if k.startswith(prefix)} <= fields
    assert env["HARMONIA_COORDINATOR_SUPERLINK_PORT"] not in published


def test_a_missing_ingest_token_is_refused(deploy_copy: Path) -> None:
    result = subprocess.run(
        ["docker-compose", "-f", "node-with-orthanc.yml", "config"],
        cwd=deploy_copy / "compose",
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"]},
        timeout=120,
    )
    assert result.returncode != 0
    assert "HARMONIA_INGEST_TOKEN" in result.stderr
