"""The history of statistics rounds, and the privacy charges each site reported in them.

:class:`RoundHistory` reads the results :class:`~coordinator.rounds.RoundStore`
keeps (one JSON document per round) and gives a summary per round, newest
first, and a round's whole document by id.

:func:`site_charges` adds up, per site, the ``(epsilon, delta)`` charges the
site reported with its answers. The sum is *basic composition*: an upper bound
of what the site spent. The node's own accountant composes Gaussian releases
with RDP, which is tighter, and only the node knows its budget's limit and
period: its egress ledger is the authoritative figure.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from coordinator.errors import NotFoundError
from coordinator.rounds.store import RoundStore

__all__ = ["RoundHistory", "SiteCharges", "round_summary", "site_charges"]

_ROUND_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def round_summary(result: Mapping[str, Any]) -> dict[str, Any]:
    """One line of the round history: who answered, what was pooled, how long it took."""
    sites = result.get("sites") or {}
    statuses = {name: str(entry.get("status", "")) for name, entry in sites.items()}
    return {
        "round_id": str(result.get("round_id", "")),
        "started_at": result.get("started_at"),
        "project": result.get("project"),
        "guideline": result.get("guideline") or None,
        "version": result.get("version") or None,
        "noise": bool(result.get("noise", True)),
        "noise_multiplier": _number(result.get("noise_multiplier")),
        "answered": sorted(n for n, s in statuses.items() if s == "answered"),
        "refused": sorted(n for n, s in statuses.items() if s == "refused"),
        "missing": sorted(n for n, s in statuses.items() if s == "missing"),
        "labels": sorted((result.get("figures") or {}).keys()),
        "bytes_total": sum(int(entry.get("bytes_total", 0)) for entry in sites.values()),
        "wall_time_s": _number(result.get("wall_time_s")),
        "total_wall_time_s": _number(result.get("total_wall_time_s")),
    }


@dataclass(frozen=True)
class SiteCharges:
    """What one site reported spending over the stored rounds (basic composition)."""

    site: str
    rounds_answered: int = 0
    rounds_refused: int = 0
    rounds_missing: int = 0
    releases: int = 0
    epsilon: float = 0.0
    delta: float = 0.0
    last_round_id: str | None = None
    last_round_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "rounds_answered": self.rounds_answered,
            "rounds_refused": self.rounds_refused,
            "rounds_missing": self.rounds_missing,
            "releases": self.releases,
            "epsilon_sum": round(self.epsilon, 6),
            "delta_sum": self.delta,
            "last_round_id": self.last_round_id,
            "last_round_at": self.last_round_at,
        }


def site_charges(results: Iterable[Mapping[str, Any]]) -> dict[str, SiteCharges]:
    """Site → its charges over ``results`` (oldest first), from what each site reported."""
    out: dict[str, SiteCharges] = {}
    for result in results:
        for site, entry in (result.get("sites") or {}).items():
            before = out.get(site, SiteCharges(site))
            status = str(entry.get("status", ""))
            epsilons = [e for e in map(_number, entry.get("epsilon") or []) if e is not None]
            deltas = [d for d in map(_number, entry.get("delta") or []) if d is not None]
            out[site] = SiteCharges(
                site,
                before.rounds_answered + (status == "answered"),
                before.rounds_refused + (status == "refused"),
                before.rounds_missing + (status == "missing"),
                before.releases + len(epsilons),
                before.epsilon + math.fsum(epsilons),
                before.delta + math.fsum(deltas),
                str(result.get("round_id", "")) or before.last_round_id,
                result.get("started_at") or before.last_round_at,
            )
    return out


class RoundHistory:
    """Stored statistics rounds, read back for the dashboard."""

    def __init__(self, store: RoundStore) -> None:
        self.store = store

    def results(self) -> list[dict[str, Any]]:
        """Every stored result, oldest first (unreadable files are left out)."""
        out = []
        for round_id in self.store.list():
            try:
                out.append(self.store.get(round_id))
            except (OSError, json.JSONDecodeError):
                continue
        return out

    def summaries(self) -> list[dict[str, Any]]:
        """One summary per stored round, newest first."""
        return [round_summary(result) for result in reversed(self.results())]

    def get(self, round_id: str) -> dict[str, Any]:
        """The stored result of ``round_id``.

        Raises
        ------
        NotFoundError
            No round by that id (or an id that cannot name a stored round).
        """
        if not _ROUND_ID.match(round_id) or round_id not in self.store.list():
            raise NotFoundError(
                f"no stored round {round_id!r}; 'GET /api/v1/rounds' lists the stored rounds"
            )
        try:
            return self.store.get(round_id)
        except (OSError, json.JSONDecodeError):
            raise NotFoundError(f"round {round_id!r} could not be read back") from None

    def charges(self) -> dict[str, SiteCharges]:
        """Site → its reported charges over every stored round."""
        return site_charges(self.results())
