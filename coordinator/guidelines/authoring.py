"""Checking a guideline draft before it is published: schema, version, what it changes.

:func:`check_draft` parses a draft (JSON or YAML) with the same schema
:meth:`~coordinator.guidelines.GuidelineReleases.publish` applies, compares its
version with the newest published version of the same name, and returns the
structured diff against that version, so the author sees what a release would
change (and which labels will need re-review) before signing anything.
Nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coordinator.errors import GuidelineVersionError
from coordinator.guidelines.releases import GuidelineReleases, parse_guideline_document
from coordinator.guidelines.versions import parse_version
from shared.schemas import Guideline
from shared.schemas.guideline_diff import GuidelineDiff, diff_guidelines

__all__ = ["DraftCheck", "check_draft"]


@dataclass(frozen=True)
class DraftCheck:
    """A draft that passed the schema, and whether it can be published as it is."""

    guideline: Guideline
    newest_published: str | None
    problems: tuple[str, ...]
    diff: GuidelineDiff | None

    @property
    def publishable(self) -> bool:
        """Whether publishing it now would succeed."""
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        """JSON form (the API's answer)."""
        g = self.guideline
        return {
            "name": g.name,
            "version": g.version,
            "title": g.title,
            "sha256": g.sha256,
            "labels": [{"name": label.name, "kind": label.kind.value} for label in g.labels],
            "newest_published": self.newest_published,
            "publishable": self.publishable,
            "problems": list(self.problems),
            "diff": None if self.diff is None else self.diff.to_json(),
        }


def check_draft(releases: GuidelineReleases, text: str | bytes, *, yaml: bool) -> DraftCheck:
    """Check a guideline draft against the schema and the published versions.

    Raises
    ------
    InvalidGuidelineError
        Not JSON/YAML, or not a valid guideline (the message lists each field).
    """
    guideline = parse_guideline_document(text, yaml=yaml)
    problems = []
    published = releases.versions(guideline.name)
    newest = published[-1] if published else None
    try:
        wanted = parse_version(guideline.version)
    except GuidelineVersionError as exc:
        problems.append(str(exc))
    else:
        if newest is not None and parse_version(newest) >= wanted:
            problems.append(
                f"version {guideline.version} is not newer than the published {newest}: "
                "releases are immutable, give the draft a higher version"
            )
    diff = None
    if newest is not None:
        diff = diff_guidelines(releases.guideline(guideline.name, newest), guideline)
    return DraftCheck(guideline, newest, tuple(problems), diff)
