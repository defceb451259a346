"""The coordinator's keys: the consortium CA, the guideline-signing key, the server certificate.

All live in ``DATA_DIR/secrets`` (mode 0700; private keys 0600). They are
created on first start and never overwritten: losing the CA key means
re-enrolling every site, and losing the signing key means nodes must pin a new
one. When two processes start at once, the loser of the race loads what the
winner wrote. The site API's server certificate is re-issued by the CA at each
start when it does not name the configured ``server_names`` or has less than
30 days left (its key stays).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from shared.crypto import (
    CertificateAuthority,
    CryptoError,
    KeyAlgorithm,
    KeyExistsError,
    build_csr,
    certificate_pem,
    fingerprint,
    generate_private_key,
    load_certificates,
    load_private_key,
    public_key_pem,
    save_private_key,
    verify_certificate,
)
from shared.errors import ConfigurationError

__all__ = ["SERVER_SITE_NAME", "ConsortiumKeys", "load_or_create_keys"]

SERVER_SITE_NAME = "coordinator"
"""The common name of the site API's server certificate."""

_RENEW_BEFORE = timedelta(days=30)


@dataclass(frozen=True)
class ConsortiumKeys:
    """The open key material of a coordinator data directory."""

    ca: CertificateAuthority
    signing_key: ed25519.Ed25519PrivateKey
    server_certificate_path: Path
    server_key_path: Path
    ca_certificate_path: Path

    @property
    def signing_public_key_pem(self) -> bytes:
        """The guideline-signing public key nodes pin."""
        return public_key_pem(self.signing_key)


def load_or_create_keys(secrets_dir: Path, *, server_names: list[str]) -> ConsortiumKeys:
    """Open the keys in ``secrets_dir``, creating any that do not exist yet."""
    secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(secrets_dir, 0o700)
    ca = _load_or_create_ca(secrets_dir / "ca.pem", secrets_dir / "ca.key")
    signing = _load_or_create_key(secrets_dir / "guideline-signing.key", KeyAlgorithm.ED25519)
    assert isinstance(signing, ed25519.Ed25519PrivateKey)  # checked by the algorithm
    server_key_path = secrets_dir / "site-api.key"
    server_key = _load_or_create_key(server_key_path, KeyAlgorithm.EC_P256)
    server_certificate_path = secrets_dir / "site-api.pem"
    if not _server_certificate_fits(server_certificate_path, ca, server_key, server_names):
        certificate = _server_certificate(ca, server_key, server_names)
        _write_atomic(server_certificate_path, certificate_pem(certificate) + ca.certificate_pem)
    return ConsortiumKeys(
        ca, signing, server_certificate_path, server_key_path, secrets_dir / "ca.pem"
    )


def _load_or_create_ca(certificate_path: Path, key_path: Path) -> CertificateAuthority:
    if key_path.exists() != certificate_path.exists():
        raise ConfigurationError(
            f"only one of {key_path} and {certificate_path} exists; restore the other from "
            "backup (a new CA would orphan every enrolled site)",
            setting="data_dir",
        )
    if not key_path.exists():
        try:
            created = CertificateAuthority.create()
            save_private_key(created.key, key_path)
        except KeyExistsError:
            pass  # another process created it first
        else:
            _write_atomic(certificate_path, created.certificate_pem)
    return CertificateAuthority.load(certificate_path, key_path)


def _load_or_create_key(path: Path, algorithm: KeyAlgorithm) -> ed25519.Ed25519PrivateKey | (
    ec.EllipticCurvePrivateKey
):
    if not path.exists():
        with contextlib.suppress(KeyExistsError):  # another process created it first
            save_private_key(generate_private_key(algorithm), path)
    return load_private_key(path, algorithm=algorithm)


def _split_names(server_names: list[str]) -> tuple[list[str], list[str]]:
    dns: list[str] = []
    ips: list[str] = []
    for name in server_names:
        try:
            ips.append(str(ipaddress.ip_address(name)))
        except ValueError:
            dns.append(name)
    return dns, ips


def _server_certificate_fits(
    path: Path,
    ca: CertificateAuthority,
    key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey,
    server_names: list[str],
) -> bool:
    """Whether the saved server certificate is ours, names these hosts and has 30+ days left."""
    try:
        certificate = load_certificates(path.read_bytes())[0]
        verify_certificate([certificate], ca.certificate, usage="server")
    except (OSError, CryptoError):
        return False
    if fingerprint(certificate.public_key()) != fingerprint(key):  # type: ignore[arg-type]
        return False
    if certificate.not_valid_after_utc - datetime.now(UTC) < _RENEW_BEFORE:
        return False
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns, ips = _split_names(server_names)
    present_dns = set(names.get_values_for_type(x509.DNSName)) - {SERVER_SITE_NAME}
    present_ips = {str(a) for a in names.get_values_for_type(x509.IPAddress)}
    return present_dns == set(dns) - {SERVER_SITE_NAME} and present_ips == set(ips)


def _server_certificate(
    ca: CertificateAuthority,
    key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey,
    server_names: list[str],
) -> x509.Certificate:
    dns, ips = _split_names(server_names)
    return ca.issue(
        build_csr(key, SERVER_SITE_NAME),
        site=SERVER_SITE_NAME,
        dns_names=dns,
        ip_addresses=ips,
        valid_for=timedelta(days=90),
    )


def _write_atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
