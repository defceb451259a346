"""The dashboard's view of the sites: membership, activity and reported privacy spending.

:func:`site_overview` joins three sources per site — the registry
(:class:`~coordinator.consortium.SiteInfo`), what its calls told the coordinator
(:class:`~coordinator.consortium.activity.SiteActivityInfo`) and the charges it
reported in stored rounds (JSON of :class:`coordinator.rounds.SiteCharges`) —
and says which figures are unknown instead of filling them in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from coordinator.consortium.activity import SiteActivityInfo
from coordinator.consortium.sites import SiteInfo

__all__ = ["site_overview"]


def site_overview(
    sites: Iterable[SiteInfo],
    activity: Mapping[str, SiteActivityInfo],
    charges: Mapping[str, Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """One row per registered site, by name; ``None`` (and ``unknown`` lists) where unknown."""
    rows = []
    for site in sites:
        seen = activity.get(site.name)
        spent = charges.get(site.name)
        row: dict[str, Any] = {
            **site.to_json(),
            "last_seen_at": None,
            "software_version": None,
            "version_source": None,
            "health_reported_at": None,
            "health": None,
            "privacy": None if spent is None else dict(spent),
        }
        if seen is not None:
            row.update(seen.to_json())
        row["unknown"] = [
            name
            for name, missing in (
                ("last_seen_at", row["last_seen_at"] is None),
                ("software_version", row["software_version"] is None),
                ("privacy", spent is None),
            )
            if missing
        ]
        rows.append(row)
    return rows
