"""The coordinator's guideline registry: versions and their Ed25519-signed releases."""

from coordinator.guidelines.releases import (
    RELEASE_KIND,
    GuidelineReleases,
    ReleaseInfo,
    parse_guideline_document,
)
from coordinator.guidelines.versions import parse_version

__all__ = [
    "RELEASE_KIND",
    "GuidelineReleases",
    "ReleaseInfo",
    "parse_guideline_document",
    "parse_version",
]
