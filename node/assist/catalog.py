"""The model versions pulled onto this node, and which one serves a project (torch-free).

``harmonia-node model pull`` stores each version as
``DATA_DIR/models/<name>/<version>.weights`` with a ``.json`` record (name,
version, guideline, the coordinator's project, the training plan, SHA-256,
when it was registered and pulled). :func:`pulled_versions` reads the records;
:func:`model_for_project` picks the version the node's background drafts run
on a project: the newest one trained for it — registered for a project of the
same name, else trained under the project's guideline — newest by the
coordinator's registration time, then version number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PulledVersion", "model_for_project", "pulled_versions"]


@dataclass(frozen=True)
class PulledVersion:
    """One pulled model version, as its record describes it."""

    name: str
    version: str
    sha256: str
    guideline: str
    project: str
    created_at: str
    has_plan: bool

    @property
    def key(self) -> str:
        """``NAME@VERSION`` (what ``assist run --model`` takes)."""
        return f"{self.name}@{self.version}"

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> PulledVersion:
        """From a pulled version's ``.json`` record (``ValueError`` when it is not one)."""
        name, version, sha256 = record.get("name"), record.get("version"), record.get("sha256")
        if not (isinstance(name, str) and name and isinstance(sha256, str) and sha256):
            raise ValueError("not a pulled model record: it needs a name and a sha256")
        if not isinstance(version, int | str) or isinstance(version, bool):
            raise ValueError("not a pulled model record: it needs a version")
        guideline = record.get("guideline")
        return cls(
            name=name,
            version=str(version),
            sha256=sha256,
            guideline=str(guideline.get("name") or "") if isinstance(guideline, dict) else "",
            project=str(record.get("project") or ""),
            created_at=str(record.get("created_at") or ""),
            has_plan=isinstance(record.get("plan"), dict),
        )


def _version_order(version: str) -> tuple[int, int | str]:
    return (1, int(version)) if version.isdigit() else (0, version)


def pulled_versions(data_dir: Path) -> list[PulledVersion]:
    """Every pulled version whose weights and record are both present (unreadable ones skipped)."""
    found = []
    for record_path in sorted((data_dir / "models").glob("*/*.json")):
        if not record_path.with_suffix(".weights").is_file():
            continue
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
            found.append(PulledVersion.from_record(dict(record)))
        except (OSError, ValueError, TypeError):
            continue
    return found


def model_for_project(
    versions: list[PulledVersion], project: str, guideline: str
) -> PulledVersion | None:
    """The version that serves ``project`` (whose guideline is named ``guideline``), if any."""
    for matches in (
        [v for v in versions if v.project == project],
        [v for v in versions if v.guideline == guideline],
    ):
        if matches:
            return max(matches, key=lambda v: (v.created_at, _version_order(v.version), v.name))
    return None
