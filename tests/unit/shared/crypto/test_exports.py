from __future__ import annotations

import shared.crypto as crypto
from shared.errors import HarmoniaError, InvalidInputError

EXPECTED = [
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


def test_export_list_is_exact_and_sorted() -> None:
    assert crypto.__all__ == EXPECTED

    def group(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert sorted(crypto.__all__, key=group) == crypto.__all__
    for name in crypto.__all__:
        assert getattr(crypto, name) is not None


def test_error_tree() -> None:
    assert issubclass(crypto.CryptoError, HarmoniaError)
    for error in (
        crypto.KeyFileError,
        crypto.KeyExistsError,
        crypto.CanonicalJsonError,
        crypto.SignatureError,
        crypto.CsrError,
        crypto.CertificateError,
    ):
        assert issubclass(error, crypto.CryptoError)
        assert not issubclass(error, KeyError)  # no builtin shadowed or subclassed
    assert issubclass(crypto.KeyExistsError, crypto.KeyFileError)
    assert issubclass(crypto.CanonicalJsonError, InvalidInputError)
    assert issubclass(crypto.CsrError, InvalidInputError)
