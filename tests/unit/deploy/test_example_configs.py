"""The example env files name only real settings, and their values make valid settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from coordinator.settings import CoordinatorSettings
from node.settings import NodeSettings
from tests.unit.deploy.conftest import DEPLOY
from tests.unit.deploy.env_files import named_variables, read_env

NODE_ENV = DEPLOY / "config" / "node.env.example"
COORDINATOR_ENV = DEPLOY / "config" / "coordinator.env.example"
CASES = [
    (NODE_ENV, "HARMONIA_NODE_", NodeSettings),
    (COORDINATOR_ENV, "HARMONIA_COORDINATOR_", CoordinatorSettings),
]


@pytest.mark.parametrize(("path", "prefix", "settings"), CASES)
def test_every_variable_is_a_setting(path: Path, prefix: str, settings: type) -> None:
    names = named_variables(path, prefix)
    fields = {f"{prefix}{name.upper()}" for name in settings.model_fields}
    unknown = sorted(names - fields)
    assert not unknown, f"{path.name} names settings that do not exist: {unknown}"
    assert len(names) >= len(fields) * 0.8, "the example should document most settings"


@pytest.mark.parametrize(("path", "prefix", "settings"), CASES)
def test_the_active_values_make_valid_settings(
    path: Path, prefix: str, settings: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith(prefix):
            monkeypatch.delenv(name)
    for name, value in read_env(path).items():
        monkeypatch.setenv(name, value)
    built = settings()
    assert str(built.profile) == "production"
    assert str(built.log_format) == "json"


def test_the_coordinator_example_binds_everything_to_loopback() -> None:
    values = read_env(COORDINATOR_ENV)
    for setting in ("HOST", "SITE_HOST", "FLEET_HOST"):
        assert values[f"HARMONIA_COORDINATOR_{setting}"] == "127.0.0.1"
