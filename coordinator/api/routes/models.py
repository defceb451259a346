"""Admin routes of the model registry: model versions and their cards (runs: ``training``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from coordinator.api.deps import Runtime, Viewer
from coordinator.models import ModelVersion, card_markdown, model_card
from coordinator.runtime import CoordinatorRuntime
from shared.errors import InvalidInputError

router = APIRouter(prefix="/api/v1", tags=["models"])


def _summary(version: ModelVersion) -> dict[str, Any]:
    return {
        "name": version.name,
        "version": version.version,
        "created_at": version.created_at.isoformat(timespec="seconds"),
        "guideline": {"name": version.guideline, "version": version.guideline_version},
        "sites": list(version.sites),
        "sha256": version.weights_sha256,
        "bytes": version.weights_bytes,
    }


def resolve_version(runtime: CoordinatorRuntime, name: str, version: str) -> ModelVersion:
    """``version`` is a number or ``latest``."""
    if version == "latest":
        return runtime.models.get(name)
    if not version.isdigit():
        raise InvalidInputError(f"version {version!r}: give a version number or 'latest'")
    return runtime.models.get(name, int(version))


@router.get("/models")
def list_models(runtime: Runtime, _principal: Viewer) -> dict[str, Any]:
    """Every registered version, grouped by model name."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for version in runtime.models.versions():
        grouped.setdefault(version.name, []).append(_summary(version))
    return {"models": [{"name": name, "versions": v} for name, v in grouped.items()]}


@router.get("/models/{name}")
def list_versions(name: str, runtime: Runtime, _principal: Viewer) -> dict[str, Any]:
    """The versions of one model (404 when it has none)."""
    latest = runtime.models.get(name)
    return {
        "name": name,
        "latest": latest.version,
        "versions": [_summary(v) for v in runtime.models.versions(name)],
    }


@router.get("/models/{name}/{version}")
def show_version(name: str, version: str, runtime: Runtime, _principal: Viewer) -> dict[str, Any]:
    """One version with all its recorded facts (``latest`` for the newest)."""
    return resolve_version(runtime, name, version).to_json()


@router.get("/models/{name}/{version}/card", response_model=None)
def show_card(
    name: str,
    version: str,
    runtime: Runtime,
    _principal: Viewer,
    format: Annotated[Literal["json", "markdown"], Query()] = "json",
) -> dict[str, Any] | Response:
    """The version's model card, generated from its facts (JSON or Markdown)."""
    found = resolve_version(runtime, name, version)
    if format == "markdown":
        return Response(card_markdown(found), media_type="text/markdown; charset=utf-8")
    return model_card(found)
