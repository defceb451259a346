"""Consortium sites: registration with a one-time enrollment token, listing, revocation."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from coordinator.consortium.enrollment_tokens import new_token, token_digest
from coordinator.errors import NotFoundError, SiteExistsError
from coordinator.store.tables import CertificateRow, EnrollmentTokenRow, SiteRow
from shared.crypto import CsrError, check_site_name
from shared.errors import InvalidInputError

__all__ = ["IssuedEnrollmentToken", "SiteInfo", "SiteService", "SiteStatus"]


class SiteStatus(enum.StrEnum):
    """A site's state: ``pending`` (token issued), ``enrolled`` or ``revoked``."""

    PENDING = "pending"
    ENROLLED = "enrolled"
    REVOKED = "revoked"


@dataclass(frozen=True)
class SiteInfo:
    """What the coordinator knows about a site."""

    name: str
    status: SiteStatus
    created_at: datetime
    enrolled_at: datetime | None
    revoked_at: datetime | None
    certificate_serials: tuple[str, ...]
    supernode_key_fingerprint: str | None

    def to_json(self) -> dict[str, object]:
        """The site as JSON."""
        return {
            "name": self.name,
            "status": self.status.value,
            "created_at": self.created_at.isoformat(),
            "enrolled_at": self.enrolled_at.isoformat() if self.enrolled_at else None,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "certificate_serials": list(self.certificate_serials),
            "supernode_key_fingerprint": self.supernode_key_fingerprint,
        }


@dataclass(frozen=True)
class IssuedEnrollmentToken:
    """A new enrollment token: the only moment it is visible."""

    site: str
    token: str
    expires_at: datetime


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _info(session: Session, row: SiteRow) -> SiteInfo:
    serials = session.execute(
        select(CertificateRow.serial)
        .where(CertificateRow.site_id == row.id)
        .order_by(CertificateRow.issued_at)
    ).scalars()
    if row.revoked_at is not None:
        status = SiteStatus.REVOKED
    elif row.enrolled_at is not None:
        status = SiteStatus.ENROLLED
    else:
        status = SiteStatus.PENDING
    created = _aware(row.created_at)
    assert created is not None
    return SiteInfo(
        row.name,
        status,
        created,
        _aware(row.enrolled_at),
        _aware(row.revoked_at),
        tuple(serials),
        row.supernode_key_fingerprint,
    )


class SiteService:
    """Adds, lists and revokes sites."""

    def __init__(self, engine: Engine, *, default_token_ttl: timedelta) -> None:
        self.engine = engine
        self.default_token_ttl = default_token_ttl

    def add(
        self, name: str, *, created_by: str, expires_in: timedelta | None = None
    ) -> IssuedEnrollmentToken:
        """Register ``name`` (or re-invite a known, unrevoked one) with a fresh one-time token.

        A revoked site cannot be re-invited under the same name: its old
        certificates stay revoked; choose a new name.
        """
        try:
            check_site_name(name)
        except CsrError as exc:
            raise InvalidInputError(str(exc)) from None
        ttl = expires_in if expires_in is not None else self.default_token_ttl
        if ttl <= timedelta(0):
            raise InvalidInputError("the token's lifetime must be positive (e.g. --expires-in 24h)")
        now = datetime.now(UTC)
        token = new_token(name)
        with Session(self.engine) as session, session.begin():
            site = session.execute(select(SiteRow).where(SiteRow.name == name)).scalar_one_or_none()
            if site is None:
                site = SiteRow(name=name, created_at=now, created_by=created_by[:128])
                session.add(site)
                session.flush()
            elif site.revoked_at is not None:
                raise SiteExistsError(
                    f"site {name!r} was revoked; enroll the hospital under a new site name"
                )
            session.add(
                EnrollmentTokenRow(
                    site_id=site.id,
                    token_sha256=token_digest(token),
                    created_at=now,
                    created_by=created_by[:128],
                    expires_at=now + ttl,
                )
            )
        return IssuedEnrollmentToken(name, token, now + ttl)

    def get(self, name: str) -> SiteInfo:
        """One site, or :class:`NotFoundError`."""
        with Session(self.engine) as session:
            row = session.execute(select(SiteRow).where(SiteRow.name == name)).scalar_one_or_none()
            if row is None:
                raise NotFoundError(f"no site {name!r}; 'site list' shows the registered sites")
            return _info(session, row)

    def list(self) -> list[SiteInfo]:
        """Every site, by name."""
        with Session(self.engine) as session:
            rows = session.execute(select(SiteRow).order_by(SiteRow.name)).scalars().all()
            return [_info(session, row) for row in rows]

    def revoke(self, name: str) -> SiteInfo:
        """Revoke a site and every certificate it holds, and void its unused tokens."""
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            row = session.execute(select(SiteRow).where(SiteRow.name == name)).scalar_one_or_none()
            if row is None:
                raise NotFoundError(f"no site {name!r}; 'site list' shows the registered sites")
            if row.revoked_at is None:
                row.revoked_at = now
            for certificate in session.execute(
                select(CertificateRow).where(
                    CertificateRow.site_id == row.id, CertificateRow.revoked_at.is_(None)
                )
            ).scalars():
                certificate.revoked_at = now
            for token in session.execute(
                select(EnrollmentTokenRow).where(
                    EnrollmentTokenRow.site_id == row.id, EnrollmentTokenRow.used_at.is_(None)
                )
            ).scalars():
                token.expires_at = now
            session.flush()
            return _info(session, row)

    def revoked_serials(self) -> frozenset[int]:
        """Serial numbers of every revoked certificate."""
        with Session(self.engine) as session:
            serials = session.execute(
                select(CertificateRow.serial).where(CertificateRow.revoked_at.is_not(None))
            ).scalars()
            return frozenset(int(s, 16) for s in serials)

    def certificate_site(self, serial: int) -> tuple[str, bool] | None:
        """``(site name, revoked)`` of an issued certificate, or None if unknown."""
        with Session(self.engine) as session:
            row = session.execute(
                select(CertificateRow, SiteRow)
                .join(SiteRow, SiteRow.id == CertificateRow.site_id)
                .where(CertificateRow.serial == f"{serial:x}")
            ).one_or_none()
        if row is None:
            return None
        certificate, site = row
        return site.name, certificate.revoked_at is not None or site.revoked_at is not None

    def count(self) -> int:
        """Number of registered sites."""
        with Session(self.engine) as session:
            return int(session.execute(select(func.count()).select_from(SiteRow)).scalar_one())
