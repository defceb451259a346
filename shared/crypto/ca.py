"""The consortium certificate authority: a root, node certificates, revocation, verification.

The coordinator holds the CA. Its root and every node certificate use EC
P-256 keys with ECDSA-SHA256 signatures: what every TLS stack, gRPC's
included, accepts, and what ``cryptography``'s X.509 verifier allows (it
refuses Ed25519 in certificate paths, as the Web PKI profile does; Ed25519
stays the key type of signed documents). :meth:`CertificateAuthority.issue` signs a node's CSR (see
:mod:`shared.crypto.csr`) into a leaf certificate with ``CN`` and DNS name =
the site name, usable for TLS client and server authentication. The CA sets
the names, key usages and validity itself: nothing the CSR asks for beyond
its key and common name is copied.

:func:`verify_certificate` is what both sides run on a presented chain:
validity window, the path to the consortium root (signatures, CA constraints,
key usages, through ``cryptography``'s X.509 verifier), then revocation by
serial number, from a plain set of serials or a CRL signed by the CA.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shared.crypto.csr import check_site_name, csr_site_name
from shared.crypto.errors import CertificateError, CertificateProblem, CsrError
from shared.crypto.keys import (
    KeyAlgorithm,
    load_private_key,
    save_private_key,
)

__all__ = [
    "CertificateAuthority",
    "certificate_pem",
    "certificate_site_name",
    "load_certificates",
    "verify_certificate",
]

Usage = Literal["client", "server"]

_CLOCK_SKEW = timedelta(minutes=5)


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA certificate with its private key.

    Use :meth:`create` for a new root and :meth:`load` to open a saved one.
    """

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(
        cls,
        name: str = "Harmonia consortium CA",
        *,
        valid_for: timedelta = timedelta(days=3650),
        now: datetime | None = None,
    ) -> CertificateAuthority:
        """Make a new self-signed root with a fresh EC P-256 key."""
        key = ec.generate_private_key(ec.SECP256R1())
        start = _now(now)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start - _CLOCK_SKEW)
            .not_valid_after(start + valid_for)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(certificate, key)

    @classmethod
    def load(cls, certificate_path: str | Path, key_path: str | Path) -> CertificateAuthority:
        """Open a CA saved by :meth:`save`."""
        certificate = load_certificates(Path(certificate_path).read_bytes())[0]
        key = load_private_key(key_path, algorithm=KeyAlgorithm.EC_P256)
        assert isinstance(key, ec.EllipticCurvePrivateKey)  # checked by the algorithm
        return cls(certificate, key)

    def save(
        self, certificate_path: str | Path, key_path: str | Path, *, overwrite: bool = False
    ) -> None:
        """Write the certificate (PEM) and the key (0600, never over an existing one)."""
        save_private_key(self.key, key_path, overwrite=overwrite)
        Path(certificate_path).write_bytes(certificate_pem(self.certificate))

    @property
    def certificate_pem(self) -> bytes:
        """The root certificate as PEM: the CA bundle nodes pin."""
        return certificate_pem(self.certificate)

    def issue(
        self,
        csr: x509.CertificateSigningRequest,
        *,
        site: str,
        dns_names: Sequence[str] = (),
        ip_addresses: Sequence[str] = (),
        valid_for: timedelta = timedelta(days=365),
        now: datetime | None = None,
    ) -> x509.Certificate:
        """Sign a node's CSR.

        Parameters
        ----------
        csr
            The request, as parsed by :func:`shared.crypto.csr.load_csr`.
        site
            The site the enrollment token was issued for; the CSR must name it.
        dns_names, ip_addresses
            Extra subject alternative names (the site name is always one).
        valid_for
            Lifetime of the certificate.
        now
            Issue time; now by default.

        Raises
        ------
        CsrError
            If the CSR's signature is bad, or its subject is not ``CN=site``.
        """
        check_site_name(site)
        if not csr.is_signature_valid:
            raise CsrError("the CSR's signature does not match its key; build it again.")
        requested = csr_site_name(csr)
        if requested != site:
            raise CsrError(
                f"the CSR asks for site {requested!r} but the enrollment is for {site!r}; "
                "build the CSR with the enrolled site name."
            )
        names: list[x509.GeneralName] = [x509.DNSName(site)]
        names += [x509.DNSName(n) for n in dns_names if n != site]
        names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
        start = _now(now)
        not_after = min(start + valid_for, self.certificate.not_valid_after_utc)
        ca_ski = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, site)]))
            .issuer_name(self.certificate.subject)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start - _CLOCK_SKEW)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]
                ),
                critical=False,
            )
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(csr.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski.value),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )

    def revocation_list(
        self,
        revoked: Collection[int],
        *,
        now: datetime | None = None,
        valid_for: timedelta = timedelta(days=7),
    ) -> x509.CertificateRevocationList:
        """A CRL, signed by this CA, listing the serial numbers in ``revoked``."""
        start = _now(now)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(start)
            .next_update(start + valid_for)
        )
        for serial in sorted(revoked):
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(serial)
                .revocation_date(start)
                .build()
            )
        return builder.sign(self.key, hashes.SHA256())


def certificate_pem(certificate: x509.Certificate) -> bytes:
    """A certificate as PEM."""
    return certificate.public_bytes(serialization.Encoding.PEM)


def load_certificates(data: bytes | str) -> list[x509.Certificate]:
    """Parse one or more PEM certificates (a chain or a bundle), in order.

    Raises
    ------
    CertificateError
        If there is no certificate or one cannot be parsed.
    """
    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    try:
        certificates = x509.load_pem_x509_certificates(raw)
    except ValueError as exc:
        raise CertificateError(
            "not a PEM certificate ('-----BEGIN CERTIFICATE-----').",
            problem=CertificateProblem.MALFORMED,
        ) from exc
    return certificates


def certificate_site_name(certificate: x509.Certificate) -> str:
    """The site name a node certificate was issued to (its common name)."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1 or not isinstance(names[0].value, str):
        raise CertificateError(
            "the certificate has no single common name; it is not a Harmonia node certificate.",
            problem=CertificateProblem.MALFORMED,
            serial=certificate.serial_number,
        )
    return names[0].value


def verify_certificate(
    chain: Sequence[x509.Certificate],
    ca_certificate: x509.Certificate,
    *,
    revoked: Collection[int] | x509.CertificateRevocationList = (),
    usage: Usage = "client",
    now: datetime | None = None,
) -> x509.Certificate:
    """Check a presented chain (leaf first) against the consortium root.

    Parameters
    ----------
    chain
        The leaf, then any intermediates.
    ca_certificate
        The pinned consortium root.
    revoked
        Revoked serial numbers, or a CRL that the root must have signed.
    usage
        ``"client"`` (a node calling the coordinator) or ``"server"`` (the
        certificate must also name its own site as a DNS name).
    now
        The verification time; now by default.

    Returns
    -------
    x509.Certificate
        The verified leaf.

    Raises
    ------
    CertificateError
        With ``problem`` expired, not_yet_valid, untrusted (another CA, a bad
        signature, unfit key usage), revoked or malformed.
    """
    if not chain:
        raise CertificateError(
            "no certificate was presented.", problem=CertificateProblem.MALFORMED
        )
    at = _now(now)
    leaf = chain[0]
    for certificate in [*chain, ca_certificate]:
        _check_window(certificate, at)
    site = certificate_site_name(leaf)
    store = verification.Store([ca_certificate])
    builder = verification.PolicyBuilder().store(store).time(at)
    try:
        if usage == "client":
            builder.build_client_verifier().verify(leaf, list(chain[1:]))
        else:
            builder.build_server_verifier(x509.DNSName(site)).verify(leaf, list(chain[1:]))
    except verification.VerificationError as exc:
        raise CertificateError(
            f"the certificate of {site!r} (serial {leaf.serial_number:x}) does not chain to the "
            f"consortium CA '{ca_certificate.subject.rfc4514_string()}': {exc}. Enroll the node "
            "with this consortium, or pin the right CA bundle.",
            problem=CertificateProblem.UNTRUSTED,
            serial=leaf.serial_number,
        ) from exc
    for certificate in chain:
        if _is_revoked(certificate.serial_number, revoked, ca_certificate):
            raise CertificateError(
                f"the certificate of {certificate_site_name(certificate)!r} (serial "
                f"{certificate.serial_number:x}) was revoked by the consortium; the site must "
                "be enrolled again by the coordinator.",
                problem=CertificateProblem.REVOKED,
                serial=certificate.serial_number,
            )
    return leaf


def _check_window(certificate: x509.Certificate, at: datetime) -> None:
    name = certificate.subject.rfc4514_string()
    if at < certificate.not_valid_before_utc:
        raise CertificateError(
            f"the certificate '{name}' is not valid before "
            f"{certificate.not_valid_before_utc.isoformat()}; check this machine's clock.",
            problem=CertificateProblem.NOT_YET_VALID,
            serial=certificate.serial_number,
        )
    if at > certificate.not_valid_after_utc:
        raise CertificateError(
            f"the certificate '{name}' expired on {certificate.not_valid_after_utc.isoformat()}; "
            "renew it (enroll the node again).",
            problem=CertificateProblem.EXPIRED,
            serial=certificate.serial_number,
        )


def _is_revoked(
    serial: int,
    revoked: Collection[int] | x509.CertificateRevocationList,
    ca_certificate: x509.Certificate,
) -> bool:
    if isinstance(revoked, x509.CertificateRevocationList):
        if revoked.issuer != ca_certificate.subject or not revoked.is_signature_valid(
            ca_certificate.public_key()  # type: ignore[arg-type]
        ):
            raise CertificateError(
                "the revocation list was not signed by the consortium CA; fetch it again.",
                problem=CertificateProblem.UNTRUSTED,
            )
        return revoked.get_revoked_certificate_by_serial_number(serial) is not None
    return serial in revoked
