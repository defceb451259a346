"""Stored results of statistics rounds: one JSON document per round under ``DATA_DIR/rounds``.

A result holds the pooled figures per label, the pooled diversity histograms,
each site's participation (answered, refused with its message, or missing),
the bytes and SHA-256 of what each site released, the privacy charges, and the
wall time. Files are written atomically (staged, then renamed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["RoundStore"]


class RoundStore:
    """The round results of one coordinator data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "rounds"

    def path(self, round_id: str) -> Path:
        """Where round ``round_id``'s result lives."""
        return self.folder / f"{round_id}.json"

    def save(self, result: dict[str, Any]) -> Path:
        """Store ``result`` (it must carry ``round_id``)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(str(result["round_id"]))
        staging = path.with_suffix(".tmp")
        staging.write_text(json.dumps(result, indent=2, sort_keys=True), encoding="utf-8")
        staging.replace(path)
        return path

    def get(self, round_id: str) -> dict[str, Any]:
        """A stored result (``FileNotFoundError`` if there is none)."""
        data: dict[str, Any] = json.loads(self.path(round_id).read_text(encoding="utf-8"))
        return data

    def list(self) -> list[str]:
        """The stored round ids, oldest first."""
        if not self.folder.exists():
            return []
        files = sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
        return [p.stem for p in files]
