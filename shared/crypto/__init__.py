"""Keys, canonical JSON, signed documents and the consortium's certificates.

* :mod:`~shared.crypto.keys` — Ed25519 and EC P-256 keys made locally, saved
  0600 and atomically, never over an existing key; SPKI fingerprints.
* :mod:`~shared.crypto.canonical` — canonical JSON, the bytes of everything
  signed or hashed.
* :mod:`~shared.crypto.signing` — Ed25519-signed envelopes (guideline releases).
* :mod:`~shared.crypto.csr` — a node's certificate signing request.
* :mod:`~shared.crypto.ca` — the consortium CA: root, node certificates,
  revocation, chain verification.
* :mod:`~shared.crypto.hash_chain` — keyed hash chains (HMAC-sealed heads) and
  their walk: the node's audit log and egress ledger.

Errors are rooted at :class:`CryptoError` (see :mod:`shared.crypto.errors`).

Example
-------
>>> from shared.crypto import CertificateAuthority, build_csr, generate_private_key
>>> ca = CertificateAuthority.create()
>>> node_key = generate_private_key("ec-p256")
>>> certificate = ca.issue(build_csr(node_key, "hospital-a"), site="hospital-a")
>>> verify_certificate([certificate], ca.certificate).serial_number == certificate.serial_number
True
"""

from shared.crypto.ca import (
    CertificateAuthority,
    certificate_pem,
    certificate_site_name,
    load_certificates,
    verify_certificate,
)
from shared.crypto.canonical import canonical_json, canonical_sha256
from shared.crypto.csr import (
    SITE_NAME_PATTERN,
    build_csr,
    check_site_name,
    csr_pem,
    csr_site_name,
    load_csr,
)
from shared.crypto.errors import (
    CanonicalJsonError,
    CertificateError,
    CertificateProblem,
    CryptoError,
    CsrError,
    KeyExistsError,
    KeyFileError,
    SignatureError,
)
from shared.crypto.hash_chain import (
    GENESIS_HASH,
    ChainBreak,
    ChainHead,
    ChainLink,
    ChainVerification,
    chain_key,
    entry_mac,
    head_mac,
    walk_chain,
)
from shared.crypto.keys import (
    KeyAlgorithm,
    PrivateKey,
    PublicKey,
    algorithm_of,
    fingerprint,
    generate_private_key,
    load_private_key,
    load_public_key,
    public_key_pem,
    save_private_key,
)
from shared.crypto.signing import ENVELOPE_FIELDS, SignedDocument, sign, verify

__all__ = [
    "ENVELOPE_FIELDS",
    "GENESIS_HASH",
    "SITE_NAME_PATTERN",
    "CanonicalJsonError",
    "CertificateAuthority",
    "CertificateError",
    "CertificateProblem",
    "ChainBreak",
    "ChainHead",
    "ChainLink",
    "ChainVerification",
    "CryptoError",
    "CsrError",
    "KeyAlgorithm",
    "KeyExistsError",
    "KeyFileError",
    "PrivateKey",
    "PublicKey",
    "SignatureError",
    "SignedDocument",
    "algorithm_of",
    "build_csr",
    "canonical_json",
    "canonical_sha256",
    "certificate_pem",
    "certificate_site_name",
    "chain_key",
    "check_site_name",
    "csr_pem",
    "csr_site_name",
    "entry_mac",
    "fingerprint",
    "generate_private_key",
    "head_mac",
    "load_certificates",
    "load_csr",
    "load_private_key",
    "load_public_key",
    "public_key_pem",
    "save_private_key",
    "sign",
    "verify",
    "verify_certificate",
    "walk_chain",
]
