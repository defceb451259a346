"""Pulling global model versions from the coordinator over mutual TLS, verified by SHA-256.

:func:`pull_model` asks the site API for the registered versions
(``GET /api/v1/site/models``), downloads the chosen one's weights file
(``GET /api/v1/site/models/{name}/{version}``), checks that its SHA-256 equals
both the listed digest and the response's ``X-Harmonia-Weights-SHA256``, that
it is a valid :mod:`shared.weights` file, and stores it atomically as
``DATA_DIR/models/<name>/<version>.weights`` with a ``.json`` record beside it
(name, version, guideline, the training plan it was trained with, SHA-256, size,
when pulled): ``assist run`` and the node's background drafts read the plan from
it. A version already stored with the same digest is not downloaded again (its
record is brought up to date when it lacks the plan, e.g. pulled by an older node).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from node.consortium.enrollment import coordinator_json
from node.consortium.errors import CoordinatorRefusedError
from node.consortium.membership import MembershipFiles
from node.consortium.site_client import site_client
from shared.weights import WeightsFormatError, decode_weights, weights_sha256

__all__ = ["PulledModel", "models_dir", "pull_model"]

SHA256_HEADER = "X-Harmonia-Weights-SHA256"


def models_dir(data_dir: Path) -> Path:
    """Where pulled model versions are kept."""
    return data_dir / "models"


@dataclass(frozen=True)
class PulledModel:
    """A model version stored on the node."""

    name: str
    version: int
    sha256: str
    path: Path
    downloaded: bool
    guideline: dict[str, str]
    plan: dict[str, Any] | None = None
    """The training plan the coordinator registered it with (None: an older coordinator)."""

    def to_json(self) -> dict[str, Any]:
        """As JSON (``model pull``'s output)."""
        return {
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "path": str(self.path),
            "downloaded": self.downloaded,
            "guideline": self.guideline,
            "plan": self.plan,
        }


@contextlib.contextmanager
def _client(files: MembershipFiles, client: httpx.Client | None) -> Iterator[httpx.Client]:
    if client is not None:
        yield client
        return
    with site_client(files, timeout=120) as fresh:
        yield fresh


def _choose(listing: list[dict[str, Any]], name: str | None, version: int | None) -> dict[str, Any]:
    names = sorted({str(m["name"]) for m in listing})
    if name is None:
        if len(names) != 1:
            raise CoordinatorRefusedError(
                f"the coordinator has {len(names)} models ({', '.join(names) or 'none'}): name one "
                "with --name",
                source="site/models",
            )
        name = names[0]
    candidates = [m for m in listing if m["name"] == name]
    if version is not None:
        candidates = [m for m in candidates if int(m["version"]) == version]
    if not candidates:
        which = f"version {version} of {name!r}" if version else f"model {name!r}"
        raise CoordinatorRefusedError(
            f"the coordinator has no {which}; it has {', '.join(names) or 'no model'}",
            source="site/models",
        )
    return max(candidates, key=lambda m: int(m["version"]))


def pull_model(
    data_dir: Path,
    files: MembershipFiles,
    *,
    name: str | None = None,
    version: int | None = None,
    client: httpx.Client | None = None,
) -> PulledModel:
    """Pull a model version (the newest of ``name`` unless ``version``) and store it verified.

    Raises
    ------
    CoordinatorRefusedError
        The coordinator is unreachable, has no such model, or sent bytes whose
        SHA-256 or format does not match what it listed (nothing is stored).
    """
    with _client(files, client) as http:
        base = str(http.base_url)
        try:
            listing = coordinator_json(
                http.get("/api/v1/site/models"), f"{base}/api/v1/site/models"
            )
            chosen = _choose(list(listing.get("models", [])), name, version)
            target = models_dir(data_dir) / chosen["name"] / f"{int(chosen['version'])}.weights"
            expected = str(chosen["sha256"])
            if target.exists() and weights_sha256(target.read_bytes()) == expected:
                _complete_record(target, chosen)
                return _pulled(chosen, target, downloaded=False)
            path = f"/api/v1/site/models/{chosen['name']}/{int(chosen['version'])}"
            response = http.get(path)
        except httpx.HTTPError as exc:
            raise CoordinatorRefusedError(
                f"cannot reach the coordinator's site API at {base}: {exc}", source=base
            ) from exc
    if response.status_code != 200:
        coordinator_json(response, f"{base}{path}")
    data = response.content
    digest = weights_sha256(data)
    if digest != expected or response.headers.get(SHA256_HEADER) != expected:
        raise CoordinatorRefusedError(
            f"the weights of {chosen['name']} v{chosen['version']} do not match their SHA-256 "
            f"(listed {expected[:12]}..., received {digest[:12]}...); nothing was stored. "
            "Pull again; if it persists, tell the consortium's coordinator.",
            source=f"{base}{path}",
        )
    try:
        decode_weights(data)
    except WeightsFormatError as exc:
        raise CoordinatorRefusedError(
            f"the coordinator sent a damaged weights file: {exc}", source=f"{base}{path}"
        ) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_suffix(".tmp")
    staging.write_bytes(data)
    os.replace(staging, target)
    meta = {**chosen, "pulled_at": datetime.now(UTC).isoformat(timespec="seconds")}
    _write_record(target, meta)
    return _pulled(chosen, target, downloaded=True)


def _write_record(target: Path, record: dict[str, Any]) -> None:
    path = target.with_suffix(".json")
    staging = path.with_suffix(".json.tmp")
    staging.write_text(json.dumps(record, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(staging, path)


def _complete_record(target: Path, chosen: dict[str, Any]) -> None:
    """Add the listed plan to a stored version's record that lacks it."""
    if not isinstance(chosen.get("plan"), dict):
        return
    try:
        record = dict(json.loads(target.with_suffix(".json").read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        record = {}
    if isinstance(record.get("plan"), dict):
        return
    _write_record(
        target,
        {
            "pulled_at": datetime.now(UTC).isoformat(timespec="seconds"),
            **record,
            **chosen,
        },
    )


def _pulled(chosen: dict[str, Any], target: Path, *, downloaded: bool) -> PulledModel:
    return PulledModel(
        name=str(chosen["name"]),
        version=int(chosen["version"]),
        sha256=str(chosen["sha256"]),
        path=target,
        downloaded=downloaded,
        guideline=dict(chosen.get("guideline", {})),
        plan=dict(chosen["plan"]) if isinstance(chosen.get("plan"), dict) else None,
    )
