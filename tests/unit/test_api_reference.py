"""docs/api is what ``scripts/api_reference.py`` generates from both apps' OpenAPI documents.

A route added, removed or changed without regenerating the reference fails
here, with the command that brings it up to date.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "api_reference", REPO / "scripts/api_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    files: dict[str, str] = _script().generate()
    return files


def test_the_committed_reference_is_current(generated: dict[str, str]) -> None:
    assert set(generated) == {
        "node.md",
        "node.openapi.json",
        "coordinator.md",
        "coordinator.openapi.json",
    }
    stale = [
        name
        for name, text in generated.items()
        if (REPO / "docs/api" / name).read_text(encoding="utf-8") != text
    ]
    assert not stale, f"docs/api/{stale} out of date: run python scripts/api_reference.py"


def test_every_operation_is_in_the_markdown(generated: dict[str, str]) -> None:
    for service in ("node", "coordinator"):
        spec = json.loads(generated[f"{service}.openapi.json"])
        markdown = generated[f"{service}.md"]
        for path, item in spec["paths"].items():
            for method in item:
                assert f"### `{method.upper()} {path}`" in markdown


def test_the_credentials_come_from_the_routes_dependencies(generated: dict[str, str]) -> None:
    coordinator = generated["coordinator.md"]
    health = coordinator.split("### `POST /api/v1/site/health`", 1)[1].split("###", 1)[0]
    assert "client certificate (mutual TLS" in health
    sites = coordinator.split("### `POST /api/v1/sites`", 1)[1].split("###", 1)[0]
    assert "`manage_sites` permission (roles coordinator-admin)" in sites
    node = generated["node.md"]
    egress = node.split("### `GET /api/egress`", 1)[1].split("###", 1)[0]
    assert "`administer` permission (roles admin; token scopes admin)" in egress
