"""The coordinator's guideline registry: versions and their Ed25519-signed releases.

:func:`check_draft` checks a draft (schema, version, diff against the newest
release) without publishing it.
"""

from coordinator.guidelines.authoring import DraftCheck, check_draft
from coordinator.guidelines.releases import (
    RELEASE_KIND,
    GuidelineReleases,
    ReleaseInfo,
    parse_guideline_document,
)
from coordinator.guidelines.versions import parse_version

__all__ = [
    "RELEASE_KIND",
    "DraftCheck",
    "GuidelineReleases",
    "ReleaseInfo",
    "check_draft",
    "parse_guideline_document",
    "parse_version",
]
