"""Paths of the deployment kit and a copy of it in a temporary directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DEPLOY = REPO / "deploy"


@pytest.fixture
def deploy_copy(tmp_path: Path) -> Path:
    """``deploy/`` copied to ``tmp/deploy`` with the env files the compose files read."""
    target = tmp_path / "deploy"
    shutil.copytree(DEPLOY, target)
    config = target / "config"
    shutil.copy(config / "node.env.example", target / "compose" / "node.env")
    shutil.copy(config / "coordinator.env.example", target / "compose" / "coordinator.env")
    return target
