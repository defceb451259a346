"""Enrollment: a one-time token and a CSR become the site's certificate, in one transaction.

:meth:`EnrollmentService.enroll` checks the token (well-formed, known,
unused, unexpired, for this site, the site not revoked), signs the CSR with the
consortium CA, records the certificate and the SuperNode public key, and
marks the token used, all in one database transaction: the token row is
claimed with a conditional ``UPDATE ... WHERE used_at IS NULL``, so of two
concurrent requests with the same token exactly one wins; the other sees it
used. Private keys never reach the coordinator: only the CSR and public keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from coordinator.consortium.enrollment_tokens import token_digest, token_site
from coordinator.errors import (
    SiteRevokedError,
    TokenExpiredError,
    TokenSiteMismatchError,
    TokenUnknownError,
    TokenUsedError,
)
from coordinator.store.tables import CertificateRow, EnrollmentTokenRow, SiteRow
from shared.crypto import (
    CertificateAuthority,
    KeyAlgorithm,
    KeyFileError,
    algorithm_of,
    certificate_pem,
    fingerprint,
    load_csr,
    load_public_key,
)

__all__ = ["EnrollmentRequest", "EnrollmentResult", "EnrollmentService"]


@dataclass(frozen=True)
class EnrollmentRequest:
    """What a node sends to enroll."""

    token: str
    site: str
    csr_pem: str
    supernode_public_key_pem: str


@dataclass(frozen=True)
class EnrollmentResult:
    """What the node gets back."""

    site: str
    certificate_pem: str
    ca_bundle_pem: str
    guideline_signing_public_key_pem: str
    fleet_address: str
    coordinator_url: str
    serial: str
    not_after: datetime

    def to_json(self) -> dict[str, str]:
        """The enrollment response."""
        return {
            "site": self.site,
            "certificate_pem": self.certificate_pem,
            "ca_bundle_pem": self.ca_bundle_pem,
            "guideline_signing_public_key_pem": self.guideline_signing_public_key_pem,
            "fleet_address": self.fleet_address,
            "coordinator_url": self.coordinator_url,
            "serial": self.serial,
            "not_after": self.not_after.isoformat(),
        }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class EnrollmentService:
    """Turns enrollment requests into certificates."""

    def __init__(
        self,
        engine: Engine,
        ca: CertificateAuthority,
        *,
        signing_public_key_pem: str,
        fleet_address: str,
        coordinator_url: str,
        certificate_lifetime: timedelta,
    ) -> None:
        self.engine = engine
        self.ca = ca
        self.signing_public_key_pem = signing_public_key_pem
        self.fleet_address = fleet_address
        self.coordinator_url = coordinator_url
        self.certificate_lifetime = certificate_lifetime

    def enroll(self, request: EnrollmentRequest) -> EnrollmentResult:
        """Check the token, issue the certificate, consume the token: all or nothing.

        Raises
        ------
        TokenUnknownError, TokenUsedError, TokenExpiredError, TokenSiteMismatchError
            The token cannot enroll this site.
        SiteRevokedError
            The site was revoked.
        CsrError
            The CSR is malformed or names another site.
        KeyFileError
            The SuperNode public key is not an EC P-256 PEM.
        """
        named = token_site(request.token)
        if named != request.site:
            raise TokenSiteMismatchError(
                f"this token was issued for site {named!r}, not {request.site!r}; enroll with "
                "the site name the coordinator gave you (or leave --site out)"
            )
        csr = load_csr(request.csr_pem)
        supernode_key = load_public_key(request.supernode_public_key_pem)
        if algorithm_of(supernode_key) is not KeyAlgorithm.EC_P256:
            raise KeyFileError("the SuperNode public key must be EC P-256 (Flower's node key).")
        now = datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            found = session.execute(
                select(EnrollmentTokenRow, SiteRow)
                .join(SiteRow, SiteRow.id == EnrollmentTokenRow.site_id)
                .where(EnrollmentTokenRow.token_sha256 == token_digest(request.token))
            ).one_or_none()
            if found is None:
                raise TokenUnknownError(
                    "unknown enrollment token; ask the coordinator for a new one "
                    "('harmonia-coordinator site add NAME')"
                )
            token, site = found
            if site.name != request.site:
                raise TokenSiteMismatchError(
                    f"this token was issued for site {site.name!r}, not {request.site!r}"
                )
            if site.revoked_at is not None:
                raise SiteRevokedError(
                    f"site {site.name!r} was revoked; the consortium must register the "
                    "hospital under a new site name"
                )
            if token.used_at is not None:
                raise TokenUsedError(
                    "this enrollment token was already used (tokens are one-time); ask the "
                    "coordinator for a new one"
                )
            if _aware(token.expires_at) <= now:
                raise TokenExpiredError(
                    f"this enrollment token expired at {_aware(token.expires_at).isoformat()}; "
                    "ask the coordinator for a new one"
                )
            claimed = session.execute(
                update(EnrollmentTokenRow)
                .where(EnrollmentTokenRow.id == token.id, EnrollmentTokenRow.used_at.is_(None))
                .values(used_at=now)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise TokenUsedError("this enrollment token was just used by another request")
            certificate = self.ca.issue(
                csr, site=site.name, valid_for=self.certificate_lifetime, now=now
            )
            serial = f"{certificate.serial_number:x}"
            issued_pem = certificate_pem(certificate).decode("ascii")
            session.add(
                CertificateRow(
                    serial=serial,
                    site_id=site.id,
                    issued_at=now,
                    not_after=certificate.not_valid_after_utc,
                    certificate_pem=issued_pem,
                )
            )
            site.enrolled_at = now
            site_name = site.name
            site.supernode_public_key_pem = request.supernode_public_key_pem
            site.supernode_key_fingerprint = fingerprint(supernode_key)
        return EnrollmentResult(
            site=site_name,
            certificate_pem=issued_pem,
            ca_bundle_pem=self.ca.certificate_pem.decode("ascii"),
            guideline_signing_public_key_pem=self.signing_public_key_pem,
            fleet_address=self.fleet_address,
            coordinator_url=self.coordinator_url,
            serial=serial,
            not_after=certificate.not_valid_after_utc,
        )
