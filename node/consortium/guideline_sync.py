"""Fetching signed guideline releases from the coordinator and loading the verified ones.

:func:`sync_guidelines` lists the releases (``GET /api/v1/site/guidelines``),
fetches each envelope, verifies it against the guideline-signing key pinned at
enrollment (:func:`shared.crypto.verify`, kind ``guideline-release``), checks
the signed payload is the guideline the listing names, and only then loads it
into the node's :class:`~node.annotate.GuidelineRegistry`. A release that fails
any check is refused: nothing of it is loaded, and the report says why. The
node can call this periodically; ``harmonia-node guideline sync`` calls it once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from node.consortium.enrollment import coordinator_json
from node.consortium.errors import CoordinatorRefusedError, GuidelineReleaseRefusedError
from node.consortium.membership import MembershipFiles
from node.consortium.site_client import site_client
from node.errors import AnnotationError
from shared.crypto import PublicKey, SignatureError, verify
from shared.schemas import Guideline, GuidelineError

__all__ = [
    "GUIDELINES_PATH",
    "RELEASE_KIND",
    "GuidelineLoader",
    "SyncReport",
    "sync_guidelines",
    "verify_release",
]

GUIDELINES_PATH = "/api/v1/site/guidelines"
RELEASE_KIND = "guideline-release"
"""The signed-document kind of a guideline release (the coordinator signs with it)."""

LOADED_BY = "coordinator"


class GuidelineLoader(Protocol):
    """What sync needs of the node's guideline registry."""

    def load(self, guideline: Guideline, *, loaded_by: str) -> tuple[Any, bool]:
        """Store a guideline version; return it and whether it was new."""
        ...


@dataclass
class SyncReport:
    """What one sync did."""

    loaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[GuidelineReleaseRefusedError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No release was refused."""
        return not self.refused


def verify_release(envelope: object, trusted: PublicKey, *, name: str, version: str) -> Guideline:
    """The guideline a signed release carries, once its signature and identity hold.

    Raises
    ------
    GuidelineReleaseRefusedError
        A bad or foreign signature, or a payload that is not ``name@version``.
    """
    where = f"{name}@{version}"
    try:
        payload = verify(envelope, [trusted], kind=RELEASE_KIND)
    except SignatureError as exc:
        raise GuidelineReleaseRefusedError(
            f"refused guideline release {where}: {exc}", name=name, version=version
        ) from exc
    try:
        guideline = Guideline.from_mapping(payload, source=f"release {where}")
    except GuidelineError as exc:
        raise GuidelineReleaseRefusedError(
            f"refused guideline release {where}: its signed content is not a guideline ({exc})",
            name=name,
            version=version,
        ) from exc
    signed_version = envelope.get("version") if isinstance(envelope, dict) else None
    if (guideline.name, guideline.version) != (name, version) or signed_version != version:
        raise GuidelineReleaseRefusedError(
            f"refused guideline release {where}: it is signed as {guideline.key}; the "
            "coordinator served another release under this name",
            name=name,
            version=version,
        )
    return guideline


def sync_guidelines(
    files: MembershipFiles,
    registry: GuidelineLoader,
    *,
    client: httpx.Client | None = None,
) -> SyncReport:
    """Fetch, verify and load every release the coordinator publishes.

    Raises
    ------
    NotEnrolledError
        The node holds no enrollment.
    CoordinatorRefusedError
        The coordinator is unreachable or refused (a revoked site gets 403).
    """
    files.membership()  # NotEnrolledError, saying how to enroll, before anything else
    trusted = files.pinned_signing_key()
    report = SyncReport()
    with _client(files, client) as http:
        listing = _get(http, GUIDELINES_PATH)
        releases = listing.get("releases")
        if not isinstance(releases, list):
            raise CoordinatorRefusedError(
                "the coordinator's release list is malformed", source=str(http.base_url)
            )
        for entry in releases:
            name, version = str(entry.get("name", "")), str(entry.get("version", ""))
            path = f"{GUIDELINES_PATH}/{quote(name, safe='')}/{quote(version, safe='')}"
            try:
                guideline = verify_release(_get(http, path), trusted, name=name, version=version)
                _, created = registry.load(guideline, loaded_by=LOADED_BY)
            except GuidelineReleaseRefusedError as refusal:
                report.refused.append(refusal)
                continue
            except AnnotationError as exc:  # same name@version already here with other content
                report.refused.append(
                    GuidelineReleaseRefusedError(
                        f"refused guideline release {name}@{version}: {exc}",
                        name=name,
                        version=version,
                    )
                )
                continue
            (report.loaded if created else report.unchanged).append(guideline.key)
    return report


@contextlib.contextmanager
def _client(files: MembershipFiles, client: httpx.Client | None) -> Iterator[httpx.Client]:
    if client is not None:
        yield client
        return
    with site_client(files) as fresh:
        yield fresh


def _get(http: httpx.Client, path: str) -> dict[str, Any]:
    url = f"{http.base_url}{path}" if str(http.base_url) else path
    try:
        response = http.get(path)
    except httpx.HTTPError as exc:
        raise CoordinatorRefusedError(
            f"cannot reach the coordinator's site API at {url}: {exc}. If the TLS handshake "
            "failed, the site's certificate may have been revoked or expired",
            source=url,
        ) from exc
    return coordinator_json(response, url)
