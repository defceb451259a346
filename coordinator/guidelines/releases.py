"""Publishing guideline versions as Ed25519-signed releases, and reading them back.

:meth:`GuidelineReleases.publish` validates a guideline (the node's schema,
:class:`shared.schemas.Guideline`), checks its version is greater than every
published version of that name, signs the guideline's JSON as a
``guideline-release`` envelope (:func:`shared.crypto.sign`), and stores the
version and its release in one transaction. Nodes verify the envelope against
the pinned signing public key before loading it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from coordinator.errors import GuidelineVersionError, InvalidGuidelineError, NotFoundError
from coordinator.guidelines.versions import parse_version
from coordinator.store.tables import GuidelineReleaseRow, GuidelineVersionRow
from shared.crypto import sign
from shared.schemas import Guideline, GuidelineError

__all__ = ["RELEASE_KIND", "GuidelineReleases", "ReleaseInfo", "parse_guideline_document"]

RELEASE_KIND = "guideline-release"
"""The ``kind`` of a signed guideline release envelope."""


def parse_guideline_document(text: str | bytes, *, yaml: bool = False) -> Guideline:
    """A guideline from JSON (or YAML) text, or :class:`InvalidGuidelineError`."""
    try:
        if yaml:
            return Guideline.from_yaml(text, source="the guideline")
        return Guideline.from_json(text, source="the guideline")
    except GuidelineError as exc:
        raise InvalidGuidelineError(str(exc)) from None


@dataclass(frozen=True)
class ReleaseInfo:
    """A published release (without its envelope)."""

    name: str
    version: str
    title: str
    sha256: str
    key_id: str
    signed_at: str
    published_by: str

    def to_json(self) -> dict[str, str]:
        """The release as JSON."""
        return {
            "name": self.name,
            "version": self.version,
            "title": self.title,
            "sha256": self.sha256,
            "key_id": self.key_id,
            "signed_at": self.signed_at,
            "published_by": self.published_by,
        }


def _info(version: GuidelineVersionRow, release: GuidelineReleaseRow) -> ReleaseInfo:
    return ReleaseInfo(
        version.name,
        version.version,
        version.title,
        version.sha256,
        release.key_id,
        release.signed_at,
        release.published_by,
    )


class GuidelineReleases:
    """The coordinator's registry of signed guideline releases."""

    def __init__(self, engine: Engine, signing_key: ed25519.Ed25519PrivateKey) -> None:
        self.engine = engine
        self._key = signing_key

    def publish(self, guideline: Guideline, *, published_by: str) -> ReleaseInfo:
        """Sign and store a new release of ``guideline``.

        Raises
        ------
        GuidelineVersionError
            If the version is not numeric, or not greater than every published
            version of the same guideline.
        """
        wanted = parse_version(guideline.version)
        payload = json.loads(guideline.canonical_json())
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            published = session.execute(
                select(GuidelineVersionRow.version).where(
                    GuidelineVersionRow.name == guideline.name
                )
            ).scalars()
            newest = max(published, key=parse_version, default=None)
            if newest is not None and parse_version(newest) >= wanted:
                raise GuidelineVersionError(
                    f"{guideline.name} version {guideline.version} is not newer than the "
                    f"published {newest}; releases are immutable: give the changed guideline a "
                    "higher version"
                )
            envelope = sign(payload, kind=RELEASE_KIND, version=guideline.version, key=self._key)
            version = GuidelineVersionRow(
                name=guideline.name,
                version=guideline.version,
                title=guideline.title[:256],
                content=guideline.canonical_json().decode(),
                sha256=guideline.sha256,
                created_at=now,
                created_by=published_by[:128],
            )
            session.add(version)
            session.flush()
            release = GuidelineReleaseRow(
                version_id=version.id,
                envelope=json.dumps(envelope, sort_keys=True),
                key_id=envelope["key_id"],
                signed_at=envelope["signed_at"],
                published_by=published_by[:128],
            )
            session.add(release)
            session.flush()
            return _info(version, release)

    def list(self) -> list[ReleaseInfo]:
        """Every release, by name then version order."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(GuidelineVersionRow, GuidelineReleaseRow).join(
                    GuidelineReleaseRow, GuidelineReleaseRow.version_id == GuidelineVersionRow.id
                )
            ).all()
        infos = [_info(version, release) for version, release in rows]
        return sorted(infos, key=lambda i: (i.name, parse_version(i.version)))

    def guideline(self, name: str, version: str) -> Guideline:
        """The published guideline ``name@version``."""
        with Session(self.engine) as session:
            content = session.execute(
                select(GuidelineVersionRow.content).where(
                    GuidelineVersionRow.name == name, GuidelineVersionRow.version == version
                )
            ).scalar_one_or_none()
        if content is None:
            raise NotFoundError(f"no release {name}@{version}; 'GET /api/v1/guidelines' lists them")
        return Guideline.from_json(content, source=f"release {name}@{version}")

    def versions(self, name: str) -> tuple[str, ...]:
        """The published versions of ``name``, oldest first."""
        with Session(self.engine) as session:
            found = session.execute(
                select(GuidelineVersionRow.version).where(GuidelineVersionRow.name == name)
            ).scalars()
            return tuple(sorted(found, key=parse_version))

    def envelope(self, name: str, version: str) -> dict[str, Any]:
        """The signed envelope of ``name@version``, exactly as stored."""
        with Session(self.engine) as session:
            stored = session.execute(
                select(GuidelineReleaseRow.envelope)
                .join(GuidelineVersionRow, GuidelineReleaseRow.version_id == GuidelineVersionRow.id)
                .where(GuidelineVersionRow.name == name, GuidelineVersionRow.version == version)
            ).scalar_one_or_none()
        if stored is None:
            raise NotFoundError(f"no release {name}@{version}; 'GET /api/v1/guidelines' lists them")
        envelope: dict[str, Any] = json.loads(stored)
        return envelope
