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

from shared.schemas.guideline import LabelKind
from shared.schemas.harmonization import (
    DiversityHistograms,
    LabelStatistics,
    RoundResult,
    SiteStatistics,
)

__all__ = ["RoundStore", "harmonization_result"]


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


_KIND_OF = {
    "confusion": LabelKind.CLASSIFICATION,
    "coincidence": LabelKind.CLASSIFICATION,
    "overlap": LabelKind.MASK,
    "detection": LabelKind.BOX,
}


def _bins(histogram: dict[str, list[Any]]) -> dict[str, float]:
    counts = histogram["counts"]
    if "categories" in histogram:
        names = [str(c) for c in histogram["categories"]]
    else:
        edges = histogram["edges"]
        names = [f"{edges[i]:g}-{edges[i + 1]:g}" for i in range(len(counts))]
    return {name: float(count) for name, count in zip(names, counts, strict=True)}


def _labels(pooled: dict[str, Any]) -> dict[str, LabelStatistics]:
    out: dict[str, LabelStatistics] = {}
    for label, statistics in pooled.items():
        kind = next((_KIND_OF[name] for name in statistics if name in _KIND_OF), None)
        if kind is not None:
            out[label] = LabelStatistics.from_json(
                {"label": label, "kind": kind.value, "tasks": 0, **statistics}
            )
    return out


def harmonization_result(result: dict[str, Any]) -> RoundResult | None:
    """A stats round's result as the harmonization report's :class:`RoundResult`.

    None when no site answered with agreement statistics. Label kinds are read
    from the statistics released (classification, mask; detection counts as box).
    Per-site statistics come only from the sites whose policy released them
    (``per_site_pooled``); the others have none.
    """
    if not result.get("guideline") or not result.get("pooled"):
        return None
    pooled = _labels(result["pooled"])
    sites = {
        site: SiteStatistics(site, _labels(statistics))
        for site, statistics in result.get("per_site_pooled", {}).items()
    }
    epsilons = [e for site in result["sites"].values() for e in site.get("epsilon", [])]
    return RoundResult(
        guideline=str(result["guideline"]),
        version=str(result["version"]),
        round_id=str(result["round_id"]),
        completed_at=str(result["started_at"]),
        pooled=pooled,
        sites=sites,
        participants=tuple(result["answered"]),
        failed=tuple(result["missing"]),
        noised=bool(result["noise"]),
        epsilon=max(epsilons) if epsilons else None,
        diversity=DiversityHistograms(
            {name: _bins(h) for name, h in result.get("histograms", {}).items()}
        ),
    )
