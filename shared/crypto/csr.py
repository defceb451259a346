"""A node's certificate signing request, built from the key it made itself.

The node generates its TLS key locally (:func:`shared.crypto.keys.generate_private_key`)
and sends only this CSR: the private key never leaves the node. The subject is
``CN=<site name>``; the CA decides the certificate's names and uses itself and
ignores anything else the request asks for. The key must be EC P-256, the
key type TLS certificates use here (see :mod:`shared.crypto.ca`).
"""

from __future__ import annotations

import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shared.crypto.errors import CsrError
from shared.crypto.keys import PrivateKey

__all__ = [
    "SITE_NAME_PATTERN",
    "build_csr",
    "check_site_name",
    "csr_pem",
    "csr_site_name",
    "load_csr",
]

SITE_NAME_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
"""A site name: one lower-case DNS label, so it can be a certificate's DNS name too."""

_SITE = re.compile(SITE_NAME_PATTERN)


def check_site_name(site: str) -> str:
    """Return ``site`` if it is a valid site name, else raise :class:`CsrError`."""
    if not isinstance(site, str) or not _SITE.fullmatch(site):
        raise CsrError(
            f"{site!r} is not a valid site name: use 1-63 lower-case letters, digits and "
            "hyphens, not starting or ending with a hyphen (e.g. 'hospital-a')."
        )
    return site


def build_csr(key: PrivateKey, site: str) -> x509.CertificateSigningRequest:
    """Build and sign a CSR with subject ``CN=site`` and a DNS name ``site``.

    Raises
    ------
    CsrError
        If ``site`` is not a valid site name or the key is not EC P-256.
    """
    check_site_name(site)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CsrError(
            "a node's TLS key must be EC P-256; make it with generate_private_key('ec-p256')."
        )
    builder = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, site)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(site)]), critical=False)
    )
    return builder.sign(key, hashes.SHA256())


def csr_pem(csr: x509.CertificateSigningRequest) -> bytes:
    """The CSR as PEM."""
    return csr.public_bytes(serialization.Encoding.PEM)


def load_csr(data: bytes | str) -> x509.CertificateSigningRequest:
    """Parse a PEM CSR and check its self-signature.

    Raises
    ------
    CsrError
        If it is not a PEM CSR, its signature does not verify, or its key is
        not EC P-256.
    """
    raw = data.encode("ascii", "replace") if isinstance(data, str) else data
    try:
        csr = x509.load_pem_x509_csr(raw)
        valid = csr.is_signature_valid
        key = csr.public_key()
    except ValueError as exc:
        raise CsrError(
            "not a PEM certificate signing request ('-----BEGIN CERTIFICATE REQUEST-----')."
        ) from exc
    if not valid:
        raise CsrError("the CSR's signature does not match its key; build it again.")
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CsrError(f"the CSR's key is a {type(key).__name__}; use EC P-256.")
    return csr


def csr_site_name(csr: x509.CertificateSigningRequest) -> str:
    """The site name in the CSR's subject (its only common name).

    Raises
    ------
    CsrError
        If the subject has no, or several, common names, or other attributes.
    """
    attributes = list(csr.subject)
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1 or len(attributes) != 1:
        raise CsrError(
            "the CSR's subject must be exactly 'CN=<site name>'; build it with build_csr()."
        )
    value = names[0].value
    return check_site_name(value if isinstance(value, str) else value.decode("utf-8", "replace"))
